"""Scoped sessions against the strict double, which intersects session policies (inline `Policy`
and managed `PolicyArns`, AWS's ReadOnlyAccess included) with the role's own permissions."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
from conftest import World, aws_cli, calls, code
from double_fixtures import client, create_role, double_now, reset_calls, set_auth, web_identity_token

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


@pytest.fixture
def agent(world: World, doug: dict[str, str]) -> str:
    """Role `agent` (allow-all) trusting doug; profile `agent` assumes it from doug's MFA session."""
    set_auth(world.endpoint, False)
    role = create_role(world.endpoint, "agent", doug["arn"])
    set_auth(world.endpoint, True)
    reset_calls(world.endpoint)
    with world.config.open("a") as config:
        config.write(f"\n[profile agent]\nrole_arn = {role}\nsource_profile = doug\n")
    return role


def aws(
    world: World, *args: str, flags: tuple[str, ...] = (), profile: str = "agent"
) -> subprocess.CompletedProcess[str]:
    return world.run("exec", *flags, profile, "--", aws_cli(), *args, "--output", "json")


def new_user_name() -> str:
    return f"made-{uuid.uuid4().hex[:8]}"


def test_read_only_session_can_read_but_not_write(world: World, doug, agent) -> None:
    flags = ("--read-only", "--mfa-token", code(world, doug))
    listed = aws(world, "iam", "list-users", flags=flags)
    assert listed.returncode == 0, listed.stderr
    assert doug["user_name"] in listed.stdout

    # The same scoped session (cached: no MFA code now) may not write.
    denied = aws(world, "iam", "create-user", "--user-name", new_user_name(), flags=("--read-only",))
    assert denied.returncode != 0
    assert "AccessDenied" in denied.stderr and "no session policy allows" in denied.stderr
    bucket = aws(world, "s3api", "create-bucket", "--bucket", f"b-{uuid.uuid4().hex[:8]}", flags=("--read-only",))
    assert bucket.returncode != 0 and "AccessDenied" in bucket.stderr

    # The child knows it is scoped; AWS_VAULT stays the profile name.
    env = world.ok("exec", "--read-only", "agent", "--", "env").stdout.splitlines()
    assert "LATCHKEY_SESSION_SCOPE=read-only" in env and "AWS_VAULT=agent" in env

    # The role's unscoped session is a different session (its own cache entry, one more AssumeRole),
    # and it may write: the denial came from the scope, not from the role.
    reset_calls(world.endpoint)
    made = aws(world, "iam", "create-user", "--user-name", new_user_name())
    assert made.returncode == 0, made.stderr
    assert calls(world.endpoint).get("sts:AssumeRole") == 1
    bucket = aws(world, "s3api", "create-bucket", "--bucket", f"b-{uuid.uuid4().hex[:8]}")
    assert bucket.returncode == 0, bucket.stderr
    env = world.ok("exec", "agent", "--", "env").stdout.splitlines()
    assert not any(line.startswith("LATCHKEY_SESSION_SCOPE=") for line in env)

    # Scoped again: the scoped session is still cached, no STS call.
    reset_calls(world.endpoint)
    world.ok("exec", "--read-only", "agent", "--", "true")
    assert calls(world.endpoint) == {}


def test_export_hands_out_the_scoped_session(world: World, doug, agent) -> None:
    exported = world.ok("export", "--format", "json", "--read-only", "--mfa-token", code(world, doug), "agent")
    credentials = json.loads(exported.stdout)
    env = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_ENDPOINT_URL": world.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "PATH": world.env["PATH"],
        "HOME": str(world.home),
    }
    ok = subprocess.run([aws_cli(), "iam", "list-users"], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    denied = subprocess.run(
        [aws_cli(), "iam", "create-user", "--user-name", new_user_name()], env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr


def test_policy_file_narrows_the_session(world: World, doug, agent) -> None:
    policy = world.home / "list-users-only.json"
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}
    policy.write_text(json.dumps(document, indent=4))
    flags = ("--policy", str(policy), "--mfa-token", code(world, doug))
    assert aws(world, "iam", "list-users", flags=flags).returncode == 0
    # ListRoles is allowed by the role, and would be by ReadOnlyAccess, but not by this policy.
    denied = aws(world, "iam", "list-roles", flags=("--policy", str(policy)))
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    env = world.ok("exec", "--policy", str(policy), "agent", "--", "env").stdout.splitlines()
    assert "LATCHKEY_SESSION_SCOPE=policy" in env


def test_profile_keys_scope_by_default_and_explain_shows_it(world: World, doug, agent) -> None:
    with world.config.open("a") as config:
        config.write("latchkey_read_only = true\n")
    text = world.ok("explain", "agent").stdout
    assert f"scope: read-only (from profile 'agent'), policy ARNs {READ_ONLY}" in text
    explained = json.loads(world.ok("explain", "--json", "agent").stdout)
    assert explained["scope"] == {
        "label": "read-only",
        "origin": "profile 'agent'",
        "read_only": True,
        "policy_arns": [READ_ONLY],
    }
    assert calls(world.endpoint) == {}

    listed = aws(world, "iam", "list-users", flags=("--mfa-token", code(world, doug)))
    assert listed.returncode == 0, listed.stderr
    denied = aws(world, "iam", "create-user", "--user-name", new_user_name())
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr

    # A flag replaces the profile's scope as a whole.
    policy = world.home / "p.json"
    policy.write_text(json.dumps({"Statement": [{"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*"}]}))
    replaced = json.loads(world.ok("explain", "--json", "--policy", str(policy), "agent").stdout)["scope"]
    assert replaced["label"] == "policy" and replaced["read_only"] is False and replaced["policy_file"] == str(policy)
    made = aws(world, "iam", "create-user", "--user-name", new_user_name(), flags=("--policy", str(policy)))
    assert made.returncode == 0, made.stderr

    # An unscoped profile's explain says nothing of a scope.
    assert "scope" not in json.loads(world.ok("explain", "--json", "doug").stdout)


def test_a_get_session_token_profile_is_refused_not_handed_out_unscoped(world: World, doug) -> None:
    for command in (["exec", "--read-only", "doug", "--", "true"], ["export", "--read-only", "doug"],
                    ["explain", "--read-only", "doug"], ["login", "--stdout", "--read-only", "doug"]):
        refused = world.run(*command)
        assert refused.returncode == 1, command
        assert "profile 'doug' is to be scoped (read-only)" in refused.stderr
        assert "GetSessionToken takes no session policy" in refused.stderr
        assert "will not hand out an unscoped session" in refused.stderr
        assert "role_arn and source_profile = doug" in refused.stderr
        assert refused.stdout == ""
    assert calls(world.endpoint) == {}


def test_bad_scope_input_is_refused_before_any_call(world: World, doug, agent) -> None:
    bad = world.home / "bad.json"
    bad.write_text('{"Statement": [')
    result = world.run("exec", "--policy", str(bad), "agent", "--", "true")
    assert result.returncode == 1
    assert f"the session policy file {bad} cannot be used: it is not valid JSON" in result.stderr
    big = world.home / "big.json"
    big.write_text(json.dumps({"Statement": [{"Effect": "Allow", "Action": [f"s3:Get{i:04}" for i in range(300)],
                                              "Resource": "*"}]}))
    result = world.run("export", "--policy", str(big), "agent")
    assert result.returncode == 1 and f"{big} is" in result.stderr and "AWS takes at most 2048" in result.stderr
    result = world.run("exec", "--policy-arn", "arn:aws:iam::123456789012:role/nope", "agent", "--", "true")
    assert result.returncode == 1 and "is not an IAM managed policy ARN" in result.stderr
    missing = world.run("exec", "--policy", str(world.home / "nowhere.json"), "agent", "--", "true")
    assert missing.returncode == 1 and "nowhere.json cannot be read" in missing.stderr
    assert calls(world.endpoint) == {}


def test_web_identity_session_is_scoped(world: World) -> None:
    set_auth(world.endpoint, False)
    issuer = "token.actions.example.com"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
             "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"}}]}
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam = client(world.endpoint, "iam")
    role = iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="ci", PolicyName="all", PolicyDocument=json.dumps(allow))
    set_auth(world.endpoint, True)
    token = world.home / "token.jwt"
    token.write_text(web_identity_token(f"https://{issuer}", "repo:x", "sts.amazonaws.com",
                                        double_now(world.endpoint) + 900))
    world.write_config(f"[profile ci]\nrole_arn = {role}\nweb_identity_token_file = {token}\n"
                       "latchkey_session_policy_arns = arn:aws:iam::aws:policy/ReadOnlyAccess\n")
    listed = aws(world, "iam", "list-roles", profile="ci")
    assert listed.returncode == 0, listed.stderr
    denied = aws(world, "iam", "create-user", "--user-name", new_user_name(), profile="ci")
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    env = world.ok("exec", "ci", "--", "env").stdout.splitlines()
    assert "LATCHKEY_SESSION_SCOPE=policy-arns:1" in env


def test_servers_hand_out_the_scoped_session(world: World, doug, agent) -> None:
    import test_servers as servers  # the module, so its tests are not collected twice

    # exec under a server: the command reads the scoped session from it, and is told it is scoped.
    flags = ("--ecs-server", "--read-only", "--mfa-token", code(world, doug))
    denied = aws(world, "iam", "create-user", "--user-name", new_user_name(), flags=flags)
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    env = world.ok("exec", "--ecs-server", "--read-only", "agent", "--", "env").stdout.splitlines()
    assert "LATCHKEY_SESSION_SCOPE=read-only" in env and "AWS_VAULT=agent" in env

    # serve: clients of the server get the scoped session.
    with servers.serving(world, "--read-only", "agent") as server:
        env = servers.client_env(world, server.variables)
        listed = servers.run_client([aws_cli(), "iam", "list-users"], env)
        assert listed.returncode == 0, listed.stderr
        made = servers.run_client([aws_cli(), "iam", "create-user", "--user-name", new_user_name()], env)
        assert made.returncode != 0 and "AccessDenied" in made.stderr
