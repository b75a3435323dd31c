"""GetFederationToken, the console sign-in federation stub, and AssumeRoleWithWebIdentity."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from double_fixtures import (
    admin,
    advance_clock,
    client,
    create_mfa_user,
    create_role,
    double_now,
    next_unused_code,
    set_auth,
    web_identity_token,
)
from double_portals import signin_url

EC2_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}


def error_of(call: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def user_sts(endpoint: str, user: dict[str, str]) -> Any:
    return client(endpoint, "sts", user["access_key_id"], user["secret_access_key"])


def temp_client(endpoint: str, service: str, credentials: dict[str, Any]) -> Any:
    return client(
        endpoint, service, credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )


def get(url: str) -> tuple[int, str, dict[str, str]]:
    """A GET that does not follow redirects: status, body, headers."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def session_json(credentials: dict[str, Any]) -> dict[str, str]:
    return {
        "sessionId": credentials["AccessKeyId"],
        "sessionKey": credentials["SecretAccessKey"],
        "sessionToken": credentials["SessionToken"],
    }


# --- GetFederationToken ------------------------------------------------------------------------


def test_federation_token_is_the_users_rights_cut_by_the_session_policy(double: str) -> None:
    user = create_mfa_user(double, "doug")
    response = user_sts(double, user).get_federation_token(Name="doug-console", Policy=json.dumps(EC2_ONLY))
    federated_arn = "arn:aws:sts::123456789012:federated-user/doug-console"
    assert response["FederatedUser"] == {"FederatedUserId": "123456789012:doug-console", "Arn": federated_arn}
    credentials = response["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    identity = temp_client(double, "sts", credentials).get_caller_identity()
    assert (identity["Arn"], identity["UserId"]) == (federated_arn, "123456789012:doug-console")
    assert temp_client(double, "ec2", credentials).describe_regions()["Regions"]
    code, message, _ = error_of(lambda: temp_client(double, "s3", credentials).list_buckets())
    assert code == "AccessDenied"
    code, message, _ = error_of(lambda: temp_client(double, "sts", credentials).get_session_token())
    assert code == "AccessDenied"


def test_federation_token_without_policy_has_no_permissions(double: str) -> None:
    user = create_mfa_user(double, "doug")
    credentials = user_sts(double, user).get_federation_token(Name="nopolicy")["Credentials"]
    code, message, _ = error_of(temp_client(double, "ec2", credentials).describe_regions)
    assert code == "UnauthorizedOperation" and "no session policy allows" in message


def test_federation_token_with_policy_arns_is_cut_by_them(double: str) -> None:
    user = create_mfa_user(double, "doug")
    read_only = [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]
    credentials = user_sts(double, user).get_federation_token(Name="reader", PolicyArns=read_only)["Credentials"]
    assert temp_client(double, "ec2", credentials).describe_regions()["Regions"]
    assert temp_client(double, "s3", credentials).list_buckets()["Buckets"] is not None
    assert error_of(lambda: temp_client(double, "s3", credentials).create_bucket(Bucket="nope-fed"))[0] == (
        "AccessDenied"
    )
    # Policy and PolicyArns together: the session may do what either allows (and the user may).
    both = user_sts(double, user).get_federation_token(
        Name="both", Policy=json.dumps(EC2_ONLY), PolicyArns=[{"arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}]
    )["Credentials"]
    assert temp_client(double, "s3", both).list_buckets()["Buckets"] is not None
    assert temp_client(double, "ec2", both).describe_regions()["Regions"]
    assert error_of(lambda: temp_client(double, "s3", both).create_bucket(Bucket="nope-both"))[0] == "AccessDenied"
    [session] = [s for s in admin(double, "GET", "sessions") if s["access_key_id"] == credentials["AccessKeyId"]]
    assert session["session_policy_arns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert session["session_policy"] is None


def test_federation_token_refused_with_session_credentials(double: str) -> None:
    user = create_mfa_user(double, "doug")
    code = next_unused_code(double, user["mfa_serial"])
    session = user_sts(double, user).get_session_token(SerialNumber=user["mfa_serial"], TokenCode=code)["Credentials"]
    error = error_of(lambda: temp_client(double, "sts", session).get_federation_token(Name="again"))
    assert error[0] == "AccessDenied" and error[2] == 403


def test_federation_token_needs_the_permission(double: str) -> None:
    user = create_mfa_user(double, "doug", enable_auth=False)
    iam = client(double, "iam")
    [attached] = iam.list_attached_user_policies(UserName="doug")["AttachedPolicies"]
    iam.detach_user_policy(UserName="doug", PolicyArn=attached["PolicyArn"])
    set_auth(double, True)
    code, message, _ = error_of(lambda: user_sts(double, user).get_federation_token(Name="fed"))
    assert code == "AccessDenied" and "sts:GetFederationToken" in message


# --- console sign-in federation ----------------------------------------------------------------


def role_credentials(endpoint: str, user: dict[str, str]) -> dict[str, Any]:
    set_auth(endpoint, False)
    role_arn = create_role(endpoint, "admin", user["arn"])
    set_auth(endpoint, True)
    return user_sts(endpoint, user).assume_role(RoleArn=role_arn, RoleSessionName="console")["Credentials"]


def test_signin_with_role_credentials(double: str) -> None:
    user = create_mfa_user(double, "doug")
    credentials = role_credentials(double, user)
    status, body, _ = get(signin_url(double, session_json(credentials), duration=3600))
    assert status == 200, body
    token = json.loads(body)["SigninToken"]
    destination = "https://console.aws.amazon.com/"
    login = f"{double}/federation?" + urllib.parse.urlencode(
        {"Action": "login", "Issuer": "latchkey", "Destination": destination, "SigninToken": token}
    )
    status, _, headers = get(login)
    assert status == 302 and headers["Location"] == destination
    assert get(login)[0] == 400  # a sign-in token is used once


def test_signin_with_federation_token_refuses_session_duration(double: str) -> None:
    user = create_mfa_user(double, "doug")
    response = user_sts(double, user).get_federation_token(Name="console", Policy=json.dumps(EC2_ONLY))
    credentials = response["Credentials"]
    status, body, _ = get(signin_url(double, session_json(credentials), duration=3600))
    assert status == 400 and "SessionDuration" in body
    status, body, _ = get(signin_url(double, session_json(credentials)))
    assert status == 200 and json.loads(body)["SigninToken"]


@pytest.mark.parametrize("duration", [899, 43201])
def test_signin_session_duration_bounds(double: str, duration: int) -> None:
    credentials = role_credentials(double, create_mfa_user(double, "doug"))
    status, body, _ = get(signin_url(double, session_json(credentials), duration=duration))
    assert status == 400 and "between 900 and 43200" in body
    assert get(signin_url(double, session_json(credentials), duration=43200))[0] == 200


def test_signin_refuses_get_session_token_credentials(double: str) -> None:
    user = create_mfa_user(double, "doug")
    code = next_unused_code(double, user["mfa_serial"])
    session = user_sts(double, user).get_session_token(SerialNumber=user["mfa_serial"], TokenCode=code)["Credentials"]
    status, body, _ = get(signin_url(double, session_json(session)))
    assert status == 400 and "GetSessionToken" in body


def test_signin_refuses_wrong_expired_or_malformed_sessions(double: str) -> None:
    credentials = role_credentials(double, create_mfa_user(double, "doug"))
    forged = dict(session_json(credentials), sessionKey="x" * 40)
    assert get(signin_url(double, forged))[0] == 400
    assert get(f"{double}/federation?Action=getSigninToken&Session=notjson")[0] == 400
    advance_clock(double, 3601)
    status, body, _ = get(signin_url(double, session_json(credentials)))
    assert status == 400 and "expired" in body


# --- AssumeRoleWithWebIdentity -----------------------------------------------------------------

ISSUER = "https://token.actions.example.com"


def web_role(endpoint: str, subject: str = "repo:latchkey:ref:main") -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.example.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringLike": {"token.actions.example.com:sub": subject}},
            }
        ],
    }
    iam = client(endpoint, "iam")
    arn = iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName="ci", PolicyName="all", PolicyDocument=json.dumps(allow))
    return str(arn)


def test_web_identity_credentials_work_with_signature_checking(double: str, tmp_path: Any) -> None:
    role_arn = web_role(double)
    set_auth(double, True)
    token = web_identity_token(ISSUER, "repo:latchkey:ref:main", "sts.amazonaws.com", double_now(double) + 600)
    token_file = tmp_path / "token"
    token_file.write_text(token)
    sts = client(double, "sts")  # the call is unsigned; any configured keys are ignored
    response = sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="ci-run", WebIdentityToken=token_file.read_text()
    )
    assert response["SubjectFromWebIdentityToken"] == "repo:latchkey:ref:main"
    identity = temp_client(double, "sts", response["Credentials"]).get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/ci/ci-run"
    assert temp_client(double, "ec2", response["Credentials"]).describe_regions()["Regions"]


def test_web_identity_refusals(double: str) -> None:
    role_arn = web_role(double)
    set_auth(double, True)
    sts = client(double, "sts")
    now = double_now(double)

    def assume(token: str) -> Any:
        return sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="ci-run", WebIdentityToken=token)

    expired = web_identity_token(ISSUER, "repo:latchkey:ref:main", "sts.amazonaws.com", now - 1)
    assert error_of(lambda: assume(expired))[0] == "ExpiredTokenException"
    assert error_of(lambda: assume("not-a-jwt"))[0] == "InvalidIdentityToken"
    other_repo = web_identity_token(ISSUER, "repo:other:ref:main", "sts.amazonaws.com", now + 600)
    assert error_of(lambda: assume(other_repo))[:3:2] == ("AccessDenied", 403)
    other_issuer = web_identity_token("https://evil.example.com", "repo:latchkey:ref:main", "x", now + 600)
    assert error_of(lambda: assume(other_issuer))[0] == "AccessDenied"
