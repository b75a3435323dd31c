"""The main job, end to end: a stored key, one MFA code, a cached session, real AWS clients."""

from __future__ import annotations

import json
import os
import subprocess

import sys
from conftest import BINARY, World, aws_cli, calls, code


BOTO3_CLIENT = """
import json, os, boto3
session = boto3.Session(profile_name="via-process")
frozen = session.get_credentials().get_frozen_credentials()
arn = session.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).get_caller_identity()["Arn"]
print(json.dumps({"access_key": frozen.access_key, "arn": arn}))
"""


def caller_identity_via_exec(world: World, *extra: str) -> subprocess.CompletedProcess[str]:
    return world.run("exec", *extra, "doug", "--", aws_cli(), "sts", "get-caller-identity", "--output", "json")


def test_exec_runs_the_aws_cli_as_the_user_and_reuses_the_session(world: World, doug: dict[str, str]) -> None:
    first = caller_identity_via_exec(world, "--mfa-token", code(world, doug))
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["Arn"] == doug["arn"]
    assert calls(world.endpoint).get("sts:GetSessionToken") == 1

    # No code, no terminal: the cached session must carry it, with no further STS call.
    second = caller_identity_via_exec(world)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["Arn"] == doug["arn"]
    assert calls(world.endpoint).get("sts:GetSessionToken") == 1

    sessions = world.listing()["profiles"][0]["sessions"]
    assert [s["type"] for s in sessions] == ["GetSessionToken"]
    # The double's clock may run up to a minute ahead of ours (it skips spent MFA steps).
    assert 3000 < sessions[0]["seconds_left"] <= 3600 + 90
    assert sessions[0]["mfa_serial"] == doug["mfa_serial"]


def test_exec_environment_has_the_session_and_nothing_conflicting(world: World, doug: dict[str, str]) -> None:
    result = world.run(
        "exec", "--mfa-token", code(world, doug), "doug", "--", "env",
        env={"AWS_PROFILE": "other", "AWS_SECURITY_TOKEN": "stale", "AWS_ACCESS_KEY_ID": "AKIASTALESTALESTALE1"},
    )
    assert result.returncode == 0, result.stderr
    env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert env["AWS_VAULT"] == "doug"
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert env["AWS_SESSION_TOKEN"]
    assert env["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert "AWS_PROFILE" not in env and "AWS_SECURITY_TOKEN" not in env
    # Neither the long-lived key nor the vault passphrase reaches the child.
    assert doug["secret_access_key"] not in result.stdout
    assert "LATCHKEY_FILE_PASSPHRASE" not in env


def test_exec_refuses_to_nest(world: World, doug: dict[str, str]) -> None:
    result = world.run("exec", "doug", "--", "true", env={"AWS_VAULT": "doug"})
    assert result.returncode == 1
    assert "already inside a latchkey session for profile 'doug'" in result.stderr
    assert calls(world.endpoint) == {}


def test_exec_hands_over_exit_status_and_process(world: World, doug: dict[str, str]) -> None:
    world.ok("exec", "--mfa-token", code(world, doug), "doug", "--", "true")
    status = world.run("exec", "doug", "--", "sh", "-c", "exit 7")
    assert status.returncode == 7
    # execve: the command keeps latchkey's pid, so its parent is our test process.
    parent = world.run("exec", "doug", "--", "sh", "-c", "echo $PPID")
    assert int(parent.stdout.strip()) == os.getpid()


def test_exec_without_command_starts_the_shell(world: World, doug: dict[str, str]) -> None:
    world.ok("exec", "--mfa-token", code(world, doug), "doug", "--", "true")
    result = world.run("exec", "doug", env={"SHELL": "/bin/sh"}, input='echo "shell:$AWS_VAULT"\n')
    assert result.returncode == 0, result.stderr
    assert "shell:doug" in result.stdout


def test_credential_process_in_boto3_and_the_aws_cli_share_the_session(world: World, doug: dict[str, str]) -> None:
    exported = json.loads(world.ok("export", "--format", "json", "--mfa-token", code(world, doug), "doug").stdout)
    assert exported["Version"] == 1
    assert exported["Expiration"].endswith("Z")

    with world.config.open("a") as config:
        config.write(f"\n[profile via-process]\ncredential_process = {BINARY} export --format json doug\n")
    client_env = {**world.env, "AWS_CONFIG_FILE": str(world.config), "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    # boto3 in a process of its own, so it sees only the test user's HOME and config.
    boto = subprocess.run(
        [sys.executable, "-c", BOTO3_CLIENT], env=client_env, capture_output=True, text=True, timeout=60,
        start_new_session=True,
    )
    assert boto.returncode == 0, boto.stderr
    seen = json.loads(boto.stdout)
    assert seen["access_key"] == exported["AccessKeyId"]
    assert seen["arn"] == doug["arn"]

    cli = subprocess.run(
        [aws_cli(), "sts", "get-caller-identity", "--profile", "via-process", "--output", "json"],
        env=client_env,
        capture_output=True, text=True, timeout=60, start_new_session=True,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["Arn"] == doug["arn"]
    assert calls(world.endpoint).get("sts:GetSessionToken") == 1


def test_export_formats(world: World, doug: dict[str, str]) -> None:
    env_text = world.ok("export", "--mfa-token", code(world, doug), "doug").stdout
    pairs = dict(line.split("=", 1) for line in env_text.splitlines())
    assert set(pairs) >= {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"}

    shell = world.ok("export", "--format", "export-env", "doug").stdout
    evaluated = subprocess.run(
        ["sh", "-c", shell + 'printf %s "$AWS_SESSION_TOKEN"'], capture_output=True, text=True, check=True
    )
    assert evaluated.stdout == pairs["AWS_SESSION_TOKEN"]

    ini = world.ok("export", "--format", "ini", "doug").stdout
    assert ini.startswith("[doug]\n")
    assert f"aws_session_token = {pairs['AWS_SESSION_TOKEN']}" in ini
    # As aws-vault writes it: the session's end, the same instant the env format gives.
    assert f"aws_credential_expiration = {pairs['AWS_CREDENTIAL_EXPIRATION']}\n" in ini
    # Options after the profile, as aws-vault takes them.
    assert world.ok("export", "doug", "--format", "ini").stdout == ini


def test_no_session_hands_out_the_long_lived_key(world: World, doug: dict[str, str]) -> None:
    exported = json.loads(world.ok("export", "--format", "json", "--no-session", "doug").stdout)
    assert exported["AccessKeyId"] == doug["access_key_id"]
    assert "SessionToken" not in exported and "Expiration" not in exported
    assert calls(world.endpoint) == {}


def test_duration_flag_and_limits(world: World, doug: dict[str, str]) -> None:
    exported = json.loads(
        world.ok("export", "--format", "json", "--duration", "2h", "--mfa-token", code(world, doug), "doug").stdout
    )
    left = world.listing()["profiles"][0]["sessions"][0]["seconds_left"]
    assert 7000 < left <= 7200 + 90, exported["Expiration"]

    too_long = world.run("export", "--duration", "40h", "doug")
    assert too_long.returncode == 1
    assert "outside what GetSessionToken allows (900…129600 s)" in too_long.stderr
    bad = world.run("export", "--duration", "soon", "doug")
    assert bad.returncode == 1 and "is not a duration" in bad.stderr
