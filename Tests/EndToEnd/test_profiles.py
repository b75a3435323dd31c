"""Roles, chains and `explain` against the strict double: one MFA code per chain, shared sessions."""

from __future__ import annotations

import json

import pytest
from conftest import World, aws_cli, calls, code
from double_fixtures import create_role, reset_calls, set_auth


@pytest.fixture
def roles(world: World, doug: dict[str, str]) -> dict[str, str]:
    """admin and ops trust doug; deep trusts admin. Profiles for each, sourced from doug."""
    set_auth(world.endpoint, False)
    admin = create_role(world.endpoint, "admin", doug["arn"])
    ops = create_role(world.endpoint, "ops", doug["arn"])
    deep = create_role(world.endpoint, "deep", admin)
    set_auth(world.endpoint, True)
    reset_calls(world.endpoint)
    with world.config.open("a") as config:
        config.write(
            f"\n[profile admin]\nrole_arn = {admin}\nsource_profile = doug\n"
            f"\n[profile ops]\nrole_arn = {ops}\nsource_profile = doug\n"
            f"\n[profile deep]\nrole_arn = {deep}\nsource_profile = admin\n"
        )
    return {"admin": admin, "ops": ops, "deep": deep}


def identity(world: World, profile: str, *flags: str) -> dict[str, str]:
    result = world.run("exec", *flags, profile, "--", aws_cli(), "sts", "get-caller-identity", "--output", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_one_code_serves_every_role_of_the_user_and_the_user_itself(world: World, doug, roles) -> None:
    first = identity(world, "admin", "--mfa-token", code(world, doug))
    assert ":assumed-role/admin/latchkey-tester" in first["Arn"]
    assert calls(world.endpoint) == {"sts:GetSessionToken": 1, "sts:AssumeRole": 1, "sts:GetCallerIdentity": 1}

    # Another role of the same user: no code, no new MFA session, one AssumeRole.
    assert ":assumed-role/ops/" in identity(world, "ops")["Arn"]
    # The user itself: the MFA session made for the roles is reused.
    assert identity(world, "doug")["Arn"] == doug["arn"]
    counted = calls(world.endpoint)
    assert counted["sts:GetSessionToken"] == 1 and counted["sts:AssumeRole"] == 2

    # And the role again: its own cached session, no STS call at all.
    reset_calls(world.endpoint)
    world.ok("exec", "admin", "--", "true")
    assert calls(world.endpoint) == {}


def test_a_chain_of_roles_asks_once(world: World, doug, roles) -> None:
    result = identity(world, "deep", "--mfa-token", code(world, doug))
    assert ":assumed-role/deep/" in result["Arn"]
    counted = calls(world.endpoint)
    assert counted["sts:GetSessionToken"] == 1 and counted["sts:AssumeRole"] == 2
    # The intermediate role's session was cached on the way.
    reset_calls(world.endpoint)
    world.ok("exec", "admin", "--", "true")
    assert calls(world.endpoint) == {}


def test_chained_role_longer_than_an_hour_is_refused_with_the_reason(world: World, doug, roles) -> None:
    result = world.run("exec", "--duration", "2h", "deep", "--", "true")
    assert result.returncode == 1
    assert "limits such chained role sessions to 1 hour" in result.stderr
    assert calls(world.endpoint) == {}


def test_explain_shows_the_plan_and_what_is_cached(world: World, doug, roles) -> None:
    before = world.ok("explain", "deep").stdout
    assert "GetSessionToken for 'doug'" in before and "AssumeRole for 'deep'" in before
    assert f"MFA {doug['mfa_serial']}, code from nowhere" in before
    assert "needs an MFA code" in before
    assert calls(world.endpoint) == {}

    world.ok("exec", "--mfa-token", code(world, doug), "admin", "--", "true")
    after = json.loads(world.ok("explain", "--json", "deep").stdout)
    actions = [step["action"] for step in after["steps"]]
    assert actions == ["skip", "skip", "reuse", "call"]
    assert after["steps"][2]["cached_until"].endswith("Z")
    assert after["sts_endpoint"] == world.endpoint
    assert not after["ready_without_prompt"]

    world.ok("exec", "deep", "--", "true")
    assert json.loads(world.ok("explain", "--json", "deep").stdout)["ready_without_prompt"]


def test_profile_errors_name_the_profile_and_the_key(world: World, doug) -> None:
    world.write_config(
        "[profile loop-a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = loop-b\n"
        "[profile loop-b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = loop-a\n"
        "[profile lost]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = nowhere\n"
        "[profile both]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = loop-a\n"
        "credential_source = Environment\n"
    )
    cases = {
        "loop-a": "form a loop",
        "lost": "names source_profile 'nowhere'",
        "both": "both source_profile and credential_source",
    }
    for profile, message in cases.items():
        for command in (["exec", profile, "--", "true"], ["explain", profile]):
            result = world.run(*command)
            assert result.returncode == 1 and message in result.stderr, (command, result.stderr)


def test_static_keys_in_the_credentials_file_work_as_a_source(world: World, doug) -> None:
    (world.home / ".aws/credentials").write_text(
        f"[plain]\naws_access_key_id = {doug['access_key_id']}\naws_secret_access_key = {doug['secret_access_key']}\n"
    )
    result = world.run("exec", "--no-session", "plain", "--", aws_cli(), "sts", "get-caller-identity")
    assert result.returncode == 0, result.stderr
    assert doug["arn"] in result.stdout
    assert "keys written in the shared files" in world.ok("explain", "plain").stdout
