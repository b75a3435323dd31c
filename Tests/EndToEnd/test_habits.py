"""aws-vault habits, end to end against the strict double: `[default]` after an include chain,
options after the profile, aws-vault's environment overrides, `mfa_process` through the shell,
and which session lengths apply where."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from conftest import World, aws_cli, calls, code
from double_fixtures import admin, create_role, double_now, reset_calls, sessions, set_auth


def child_env(world: World, *args: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """Runs `latchkey exec ARGS -- env` and returns the child's environment."""
    result = world.run("exec", *args, "--", "env", env=env)
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def issued(world: World, access_key_id: str) -> dict:
    found = [s for s in sessions(world.endpoint) if s["access_key_id"] == access_key_id]
    assert found, f"the double issued no session {access_key_id}"
    return found[0]


def seconds_left(world: World, expiration: str) -> float:
    """Seconds from the double's clock (which tests move on) to `expiration`."""
    return datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp() - double_now(world.endpoint)


@pytest.fixture
def keys_of(doug: dict[str, str]) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": doug["access_key_id"], "AWS_SECRET_ACCESS_KEY": doug["secret_access_key"]}


def test_default_mfa_and_region_reach_a_profile_through_include(world: World, doug, keys_of) -> None:
    """The issue's case: [default] holds mfa_serial and region, `inc` includes an empty `base`."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        world.env.pop(name)
    world.write_config(
        f"[default]\nmfa_serial = {doug['mfa_serial']}\nregion = eu-west-2\n"
        "\n[profile base]\n\n[profile inc]\ninclude_profile = base\n"
    )
    world.ok("add", "inc", "--env", env=keys_of)
    explained = json.loads(world.ok("explain", "--json", "inc").stdout)
    assert explained["region"] == "eu-west-2"
    assert [step.get("mfa_serial") for step in explained["steps"][1:]] == [doug["mfa_serial"]]

    # No terminal and no code: latchkey must ask for one rather than make a session without MFA.
    refused = world.run("exec", "inc", "--", "true")
    assert refused.returncode == 1 and doug["mfa_serial"] in refused.stderr
    assert calls(world.endpoint) == {}

    env = child_env(world, "--mfa-token", code(world, doug), "inc")
    assert env["AWS_REGION"] == "eu-west-2"
    session = issued(world, env["AWS_ACCESS_KEY_ID"])
    assert session["mfa_authenticated"] and session["mfa_serial"] == doug["mfa_serial"]


def test_options_after_the_profile(world: World, doug) -> None:
    env = child_env(world, "doug", "--duration", "2h", "--mfa-token", code(world, doug))
    assert 7000 < seconds_left(world, env["AWS_CREDENTIAL_EXPIRATION"]) <= 7200
    assert calls(world.endpoint) == {"sts:GetSessionToken": 1}
    assert issued(world, env["AWS_ACCESS_KEY_ID"])["mfa_authenticated"]

    # aws-vault's short forms, after the profile too; -n hands out the stored key.
    assert child_env(world, "doug", "-n")["AWS_ACCESS_KEY_ID"] == doug["access_key_id"]
    exported = json.loads(world.ok("export", "doug", "-n", "--format", "json").stdout)
    assert exported["AccessKeyId"] == doug["access_key_id"]
    assert calls(world.endpoint) == {"sts:GetSessionToken": 1}

    # After `--` (or from the command on) everything is the command's.
    echoed = world.ok("exec", "doug", "--", "sh", "-c", 'echo "$1"', "x", "--duration")
    assert echoed.stdout == "--duration\n"
    echoed = world.ok("exec", "doug", "sh", "-c", "printf '%s\\n' \"$1\"", "x", "-n")
    assert echoed.stdout == "-n\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["doug", "--duration", "99h"], "GetSessionToken"),
        (["doug", "--duration", "soon"], "soon"),
        (["doug", "--no-such-flag"], "--no-such-flag"),
        (["doug", "-d"], "-d"),
        (["doug", "--", "no-such-command-here"], "no-such-command-here"),
    ],
)
def test_a_bad_option_or_command_spends_no_code(world: World, doug, args: list[str], message: str) -> None:
    token = code(world, doug)
    failed = world.run("exec", "--mfa-token", token, *args, *([] if "--" in args else ["--", "true"]))
    assert failed.returncode != 0 and message in failed.stderr, failed.stderr
    assert calls(world.endpoint) == {}
    # The code was not spent: it still makes a session.
    env = child_env(world, "doug", "-t", token, "-d", "15m")
    assert issued(world, env["AWS_ACCESS_KEY_ID"])["mfa_authenticated"]


def test_aws_mfa_serial_makes_a_session_use_mfa(world: World, doug, keys_of) -> None:
    world.write_config("[profile plain]\nregion = us-east-1\n")
    world.ok("add", "plain", "--env", env=keys_of)
    override = {"AWS_MFA_SERIAL": doug["mfa_serial"]}
    refused = world.run("exec", "plain", "--", "true", env=override)
    assert refused.returncode == 1 and doug["mfa_serial"] in refused.stderr
    explained = json.loads(world.ok("explain", "--json", "plain", env=override).stdout)
    assert any(step.get("mfa_serial") == doug["mfa_serial"] for step in explained["steps"])
    env = child_env(world, "plain", "-t", code(world, doug), env=override)
    assert issued(world, env["AWS_ACCESS_KEY_ID"])["mfa_authenticated"]


def test_aws_role_arn_and_session_name_from_the_environment(world: World, doug) -> None:
    set_auth(world.endpoint, False)
    role = create_role(world.endpoint, "deployer", doug["arn"])
    set_auth(world.endpoint, True)
    reset_calls(world.endpoint)
    override = {"AWS_ROLE_ARN": role, "AWS_ROLE_SESSION_NAME": "from-env"}
    result = world.run(
        "exec", "-t", code(world, doug), "doug", "--", aws_cli(), "sts", "get-caller-identity", "--output", "json",
        env=override,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"].endswith(":assumed-role/deployer/from-env")
    assert calls(world.endpoint)["sts:GetSessionToken"] == 1  # the MFA session of doug, then the role


def test_mfa_process_runs_through_the_shell(world: World, doug) -> None:
    (world.home / "code").write_text(code(world, doug) + "\n")
    world.write_config(
        f"[profile doug]\nmfa_serial = {doug['mfa_serial']}\nmfa_process = cat ~/code | tr -d ' ' | head -n 1\n"
    )
    env = child_env(world, "doug")
    assert issued(world, env["AWS_ACCESS_KEY_ID"])["mfa_authenticated"]


def test_mfa_process_with_oathtool_as_aws_vault_users_write_it(world: World, doug) -> None:
    """The issue's line, with the double's clock (which tests move) handed to oathtool."""
    (world.home / "seed").write_text(doug["mfa_seed"] + "\n")
    world.write_config(
        f"[profile doug]\nmfa_serial = {doug['mfa_serial']}\n"
        "mfa_process = cat ~/seed | xargs oathtool --totp -b -N \"@$(cat ~/clock)\"\n"
    )
    code(world, doug)  # moves the double's clock past the codes its set-up used, if it must
    # The time step of a code the double accepts and has not seen, for oathtool's --now.
    step = admin(world.endpoint, "POST", "mfa/code", {"serial": doug["mfa_serial"]})["step"]
    (world.home / "clock").write_text(str(step * 30 + 1))
    env = child_env(world, "doug")
    assert issued(world, env["AWS_ACCESS_KEY_ID"])["mfa_authenticated"]


def test_duration_seconds_is_for_roles_not_the_mfa_session(world: World, doug) -> None:
    world.write_config(
        f"[default]\nduration_seconds = 7200\n\n[profile doug]\nmfa_serial = {doug['mfa_serial']}\n"
        "duration_seconds = 10800\n"
    )
    env = child_env(world, "doug", "-t", code(world, doug))
    assert 3000 < seconds_left(world, env["AWS_CREDENTIAL_EXPIRATION"]) <= 3600
    world.ok("clear")
    env = child_env(world, "doug", "-t", code(world, doug), env={"AWS_SESSION_TOKEN_TTL": "2h"})
    assert 7000 < seconds_left(world, env["AWS_CREDENTIAL_EXPIRATION"]) <= 7200
