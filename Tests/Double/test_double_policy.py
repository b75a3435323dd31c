"""Policy evaluation in the double: the evaluator alone, then boundaries and MFA through boto3."""

from __future__ import annotations

import json
from typing import Any

import double_policy
import pytest
from botocore.exceptions import ClientError
from double_fixtures import (
    MFA_BOUNDARY_POLICY,
    client,
    create_mfa_user,
    next_unused_code,
    put_boundary,
    set_auth,
)

MFA = "aws:MultiFactorAuthPresent"
LONG_TERM: dict[str, str] = {}  # the MFA key is absent for long-term access keys
NO_MFA = {MFA.lower(): "false"}
WITH_MFA = {MFA.lower(): "true"}


@pytest.mark.parametrize(
    ("operator", "value", "context", "holds"),
    [
        ("Bool", "true", WITH_MFA, True),
        ("Bool", "true", NO_MFA, False),
        ("Bool", "true", LONG_TERM, False),
        ("Bool", "false", NO_MFA, True),
        ("Bool", "false", LONG_TERM, False),  # absent key: a Deny on "false" misses long-term keys
        ("BoolIfExists", "false", LONG_TERM, True),  # ... which is why AWS's examples use IfExists
        ("BoolIfExists", "false", WITH_MFA, False),
        ("BoolIfExists", "true", LONG_TERM, True),
        ("Null", "true", LONG_TERM, True),
        ("Null", "true", NO_MFA, False),
        ("Null", "false", NO_MFA, True),
        ("Null", "false", LONG_TERM, False),
        ("StringNotEquals", "true", LONG_TERM, True),  # negated operators pass on absent keys
        ("StringEquals", ["x", "true"], WITH_MFA, True),  # any value of a list matches
    ],
)
def test_condition_operators(operator: str, value: Any, context: dict[str, str], holds: bool) -> None:
    assert double_policy.condition_holds(operator, MFA, value, context) is holds


def test_policy_variables_and_wildcards() -> None:
    statement = {"Effect": "Allow", "Action": "iam:Get*", "Resource": "arn:aws:iam::*:user/${aws:username}"}
    doug = {"aws:username": "doug"}

    def allowed(action: str, resource: str, context: dict[str, str]) -> bool:
        return double_policy.evaluate(action, resource, context, [{"Statement": [statement]}]).allowed

    assert allowed("iam:GetUser", "arn:aws:iam::123456789012:user/doug", doug)
    assert allowed("IAM:getuser", "arn:aws:iam::123456789012:user/doug", doug)  # actions ignore case
    assert not allowed("iam:GetUser", "arn:aws:iam::123456789012:user/eve", doug)
    assert not allowed("iam:ListUsers", "arn:aws:iam::123456789012:user/doug", doug)
    assert not allowed("iam:GetUser", "arn:aws:iam::123456789012:user/doug", {})  # variable absent: no match


def test_explicit_deny_wins_and_not_action() -> None:
    allow_all = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    deny_without_mfa = {
        "Statement": {
            "Effect": "Deny",
            "NotAction": ["iam:ListMFADevices", "sts:GetSessionToken"],
            "Resource": "*",
            "Condition": {"BoolIfExists": {MFA: "false"}},
        }
    }
    policies = [allow_all, deny_without_mfa]
    denied = double_policy.evaluate("ec2:DescribeRegions", "*", LONG_TERM, policies)
    assert not denied.allowed and denied.reason == "with an explicit deny in an identity-based policy"
    assert double_policy.evaluate("iam:ListMFADevices", "*", LONG_TERM, policies).allowed
    assert double_policy.evaluate("ec2:DescribeRegions", "*", WITH_MFA, policies).allowed


def test_boundary_and_session_policies_intersect() -> None:
    allow_all = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ec2_only = {"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    assert double_policy.evaluate("ec2:DescribeRegions", "*", {}, [allow_all], ec2_only).allowed
    refused = double_policy.evaluate("s3:ListBuckets", "*", {}, [allow_all], ec2_only)
    assert refused.reason == "because no permissions boundary allows the s3:ListBuckets action"
    assert not double_policy.evaluate("ec2:DescribeRegions", "*", {}, [ec2_only], None, []).allowed
    no_identity = double_policy.evaluate("ec2:DescribeRegions", "*", {}, [], allow_all)
    assert no_identity.reason == "because no identity-based policy allows the ec2:DescribeRegions action"


def test_unsupported_operator_is_reported_not_guessed() -> None:
    with pytest.raises(double_policy.UnsupportedPolicy):
        double_policy.condition_holds("DateLessThan", "aws:CurrentTime", "2030-01-01", {"aws:currenttime": ""})


# --- through the double ------------------------------------------------------------------------


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def user_client(endpoint: str, service: str, user: dict[str, str]) -> Any:
    return client(endpoint, service, user["access_key_id"], user["secret_access_key"])


def session_clients(endpoint: str, user: dict[str, str], mfa: bool) -> tuple[Any, Any]:
    sts = user_client(endpoint, "sts", user)
    if mfa:
        code = next_unused_code(endpoint, user["mfa_serial"])
        credentials = sts.get_session_token(SerialNumber=user["mfa_serial"], TokenCode=code)["Credentials"]
    else:
        credentials = sts.get_session_token()["Credentials"]
    keys = (credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    return client(endpoint, "ec2", *keys), client(endpoint, "iam", *keys)


@pytest.fixture
def bounded_user(double: str) -> dict[str, str]:
    """doug: allow-all identity policy, MFA_BOUNDARY_POLICY as boundary, auth on."""
    user = create_mfa_user(double, "doug", enable_auth=False)
    client(double, "iam").create_user(UserName="eve")
    put_boundary(double, "doug", MFA_BOUNDARY_POLICY)
    set_auth(double, True)
    return user


def test_get_user_shows_the_boundary_and_delete_removes_it(double: str) -> None:
    create_mfa_user(double, "doug", enable_auth=False)
    arn = put_boundary(double, "doug", MFA_BOUNDARY_POLICY)
    iam = client(double, "iam")
    assert iam.get_user(UserName="doug")["User"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": arn,
    }
    assert "PermissionsBoundary" not in iam.list_users()["Users"][0]  # AWS lists users without it
    iam.delete_user_permissions_boundary(UserName="doug")
    assert "PermissionsBoundary" not in iam.get_user(UserName="doug")["User"]


def test_boundary_needs_an_existing_policy(double: str) -> None:
    client(double, "iam").create_user(UserName="doug")
    missing = "arn:aws:iam::123456789012:policy/nope"
    code, message = error_of(
        lambda: client(double, "iam").put_user_permissions_boundary(UserName="doug", PermissionsBoundary=missing)
    )
    assert code == "NoSuchEntity" and missing in message


def test_long_term_key_without_mfa_is_denied_by_the_boundary(double: str, bounded_user: dict[str, str]) -> None:
    ec2 = user_client(double, "ec2", bounded_user)
    code, message = error_of(ec2.describe_regions)
    assert code == "UnauthorizedOperation"
    assert "no permissions boundary allows the ec2:DescribeRegions action" in message
    assert bounded_user["arn"] in message
    code, message = error_of(user_client(double, "iam", bounded_user).list_users)
    assert code == "AccessDenied" and "iam:ListUsers" in message


def test_get_caller_identity_and_get_session_token_are_never_denied(double: str, bounded_user: dict[str, str]) -> None:
    sts = user_client(double, "sts", bounded_user)
    assert sts.get_caller_identity()["Arn"] == bounded_user["arn"]
    assert sts.get_session_token()["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_session_without_mfa_is_denied_and_with_mfa_allowed(double: str, bounded_user: dict[str, str]) -> None:
    ec2, _ = session_clients(double, bounded_user, mfa=False)
    assert error_of(ec2.describe_regions)[0] == "UnauthorizedOperation"
    ec2, iam = session_clients(double, bounded_user, mfa=True)
    assert ec2.describe_regions()["Regions"]
    assert {u["UserName"] for u in iam.list_users()["Users"]} == {"doug", "eve"}
    assert iam.get_user()["User"]["UserName"] == "doug"  # a session's GetUser is its own user


def test_self_service_mfa_works_without_mfa_on_own_resources_only(double: str, bounded_user: dict[str, str]) -> None:
    iam = user_client(double, "iam", bounded_user)
    assert iam.get_user()["User"]["UserName"] == "doug"
    assert iam.list_mfa_devices()["MFADevices"][0]["SerialNumber"] == bounded_user["mfa_serial"]
    code, message = error_of(lambda: iam.get_user(UserName="eve"))
    assert code == "AccessDenied" and "on resource: arn:aws:iam::123456789012:user/eve" in message
    assert error_of(lambda: iam.create_virtual_mfa_device(VirtualMFADeviceName="eve"))[0] == "AccessDenied"
    assert error_of(lambda: iam.list_mfa_devices(UserName="eve"))[0] == "AccessDenied"
    # Its own device name is allowed (here it exists already: the refusal is IAM's, not the policy's).
    assert error_of(lambda: iam.create_virtual_mfa_device(VirtualMFADeviceName="doug"))[0] == "EntityAlreadyExists"
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"]


def test_deny_unless_mfa_identity_policy(double: str) -> None:
    """AWS's documented 'BlockMostAccessUnlessSignedInWithMFA' statement, as an identity policy."""
    user = create_mfa_user(double, "doug", enable_auth=False)
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "NotAction": ["iam:ListMFADevices", "sts:GetSessionToken"],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            }
        ],
    }
    client(double, "iam").put_user_policy(UserName="doug", PolicyName="deny", PolicyDocument=json.dumps(deny))
    set_auth(double, True)
    code, message = error_of(user_client(double, "ec2", user).describe_regions)
    assert code == "UnauthorizedOperation" and "with an explicit deny in an identity-based policy" in message
    assert user_client(double, "iam", user).list_mfa_devices()["MFADevices"]
    ec2, _ = session_clients(double, user, mfa=True)
    assert ec2.describe_regions()["Regions"]


def test_null_condition_tells_long_term_keys_from_sessions(double: str) -> None:
    user = create_mfa_user(double, "doug", enable_auth=False)
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Action": "ec2:*", "Resource": "*", "Condition": {"Null": {MFA: "true"}}}
        ],
    }
    client(double, "iam").put_user_policy(UserName="doug", PolicyName="deny", PolicyDocument=json.dumps(deny))
    set_auth(double, True)
    assert error_of(user_client(double, "ec2", user).describe_regions)[0] == "UnauthorizedOperation"
    ec2, _ = session_clients(double, user, mfa=False)
    assert ec2.describe_regions()["Regions"]  # the key is present ("false") for session credentials


def test_role_trust_policy_requiring_mfa(double: str) -> None:
    user = create_mfa_user(double, "doug", enable_auth=False)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": user["arn"]},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {MFA: "true"}},
            }
        ],
    }
    iam = client(double, "iam")
    role_arn = iam.create_role(RoleName="admin", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    set_auth(double, True)
    sts = user_client(double, "sts", user)
    code, message = error_of(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="sess"))
    assert code == "AccessDenied" and "trust policy" in message
    code_ = next_unused_code(double, user["mfa_serial"])
    role = sts.assume_role(RoleArn=role_arn, RoleSessionName="sess", SerialNumber=user["mfa_serial"], TokenCode=code_)
    assert role["AssumedRoleUser"]["Arn"].endswith(":assumed-role/admin/sess")


def test_assume_role_session_policies_inline_and_managed_narrow_the_role(double: str) -> None:
    """AssumeRole's Policy and PolicyArns (AWS's ReadOnlyAccess too): the session may do what the role
    allows AND any of its session policies allows."""
    from double_fixtures import create_role, create_user

    user = create_user(double, "scoper", enable_auth=False)
    role_arn = create_role(double, "scoped", user["arn"])
    iam = client(double, "iam")
    own = iam.create_policy(
        PolicyName="list-roles",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    set_auth(double, True)
    sts = client(double, "sts", user["access_key_id"], user["secret_access_key"])

    def session(**scope: Any) -> Any:
        role = sts.assume_role(RoleArn=role_arn, RoleSessionName="scoped", **scope)["Credentials"]
        return client(double, "iam", role["AccessKeyId"], role["SecretAccessKey"], role["SessionToken"])

    def denied(call: Any) -> bool:
        try:
            call()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "AccessDenied"
            return True
        return False

    read_only = session(PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}])
    assert not denied(read_only.list_users)
    assert denied(lambda: read_only.create_user(UserName="nope"))

    mixed = session(
        PolicyArns=[{"arn": own}],
        Policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*"}]}),
    )
    assert not denied(mixed.list_roles) and not denied(lambda: mixed.create_user(UserName="made"))
    assert denied(mixed.list_users)

    missing = session(PolicyArns=[{"arn": "arn:aws:iam::123456789012:policy/gone"}])
    assert denied(missing.list_roles)
    plain = session()
    assert not denied(lambda: plain.create_user(UserName="plain"))
