"""latchkey policy show/apply: the MFA-required boundary, applied idempotently, enforced by the double."""

from __future__ import annotations

import json
import uuid

from conftest import World, aws_cli
from double_fixtures import client, create_mfa_user, next_unused_code, set_auth
from test_mfa_enroll import bare_user, list_users, ykman  # noqa: F401


def test_show_prints_the_boundary_document(world: World) -> None:
    document = json.loads(world.ok("policy", "show").stdout)
    allow, deny_all, deny_devices, deny_users = document["Statement"]
    assert allow == {"Sid": "AllowEverythingTheIdentityPolicyAllows", "Effect": "Allow", "Action": "*",
                     "Resource": "*"}
    assert deny_all["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert {"iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "sts:GetSessionToken"} <= set(deny_all["NotAction"])
    assert deny_devices["NotResource"] == "arn:aws:iam::*:mfa/${aws:username}"
    assert deny_users["NotResource"] == "arn:aws:iam::*:user/${aws:username}"


def test_apply_refuses_a_user_without_mfa_then_forces_and_is_idempotent(world: World, ykman) -> None:  # noqa: F811
    admin = create_mfa_user(world.endpoint, f"admin-{uuid.uuid4().hex[:6]}")
    user = bare_user(world, boundary=False)
    world.write_config(world.config.read_text() + f"[profile admin]\nmfa_serial = {admin['mfa_serial']}\n")
    world.ok("add", "admin", "--env", "--no-config",
             env={"AWS_ACCESS_KEY_ID": admin["access_key_id"], "AWS_SECRET_ACCESS_KEY": admin["secret_access_key"]})
    assert list_users(world, "--no-session").returncode == 0  # no boundary yet

    refused = world.run("policy", "apply", user["user_name"], "--profile", "admin",
                        "--mfa-token", next_unused_code(world.endpoint, admin["mfa_serial"]))
    assert refused.returncode == 1 and "has no MFA device" in refused.stderr and "--force" in refused.stderr

    applied = world.ok("policy", "apply", user["user_name"], "--profile", "admin", "--force")
    arn = f"arn:aws:iam::{user['account_id']}:policy/LatchkeyMFARequired"
    assert f"Created policy {arn}" in applied.stdout and "Set it as the permissions boundary" in applied.stdout
    again = world.ok("policy", "apply", user["user_name"], "--profile", "admin", "--force")
    assert "is up to date" in again.stdout and "already has it" in again.stdout

    # Without MFA the user is denied; enrolment still works under the boundary; with MFA allowed.
    denied = list_users(world, "--no-session")
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    world.ok("mfa", "enroll", "doug", "--yubikey")
    serial = f"arn:aws:iam::{user['account_id']}:mfa/{user['user_name']}"
    allowed = list_users(world, "--mfa-token", next_unused_code(world.endpoint, serial))
    assert allowed.returncode == 0, allowed.stderr
    assert world.run("exec", "doug", "--", aws_cli(), "ec2", "describe-regions").returncode == 0

    # A changed document becomes a new default version; old versions are pruned to stay within five.
    set_auth(world.endpoint, False)
    iam = client(world.endpoint, "iam")
    for index in range(4):
        other = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": f"s3:Get{index}", "Resource": "*"}]}
        if len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 5:
            break
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(other), SetAsDefault=True)
    set_auth(world.endpoint, True)
    updated = world.ok("policy", "apply", user["user_name"], "--profile", "admin")
    assert "Updated policy" in updated.stdout and "deleted old versions v1" in updated.stdout
    set_auth(world.endpoint, False)
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert len(versions) == 5
    boundary = iam.get_user(UserName=user["user_name"])["User"]["PermissionsBoundary"]
    assert boundary["PermissionsBoundaryArn"] == arn


def test_apply_without_admin_rights_names_the_permission(world: World) -> None:
    user = bare_user(world, boundary=True)
    result = world.run("policy", "apply", user["user_name"], "--profile", "doug", "--force")
    assert result.returncode == 1 and "not allowed to call iam:" in result.stderr
