"""`latchkey sso populate`: profiles for every account and role of an sso-session, written into a
block of ~/.aws/config that latchkey owns, read by the real AWS CLI and used through latchkey."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import World, aws_cli
from double_fixtures import sso_assign, sso_unassign
from test_sources import sign_in

HEAD = (
    "# my own settings, kept as they are\n"
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
    "\n[profile dev/Admin]   ; mine, not latchkey's\nregion = eu-west-1\n"
)
BEGIN, END = "# BEGIN latchkey sso populate: corp\n", "# END latchkey sso populate: corp\n"


def aws(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**world.env, "AWS_ENDPOINT_URL": ""}
    return subprocess.run([aws_cli(), *args], env=env, capture_output=True, text=True, timeout=60)


def sdk_profiles(world: World) -> list[str]:
    """The profile names the AWS SDK (botocore, under the AWS CLI) finds in the config."""
    script = "import boto3; print('\\n'.join(boto3.Session().available_profiles))"
    result = subprocess.run([sys.executable, "-c", script], env=world.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def outside(text: str) -> str:
    """The config text with latchkey's block cut out."""
    return text[: text.index(BEGIN)] + text[text.index(END) + len(END) :]


def test_populate_writes_profiles_the_cli_reads_and_latchkey_runs(world: World) -> None:
    # Three accounts: the double's portal lists them in pages of two.
    sso_assign(world.endpoint, "Admin", account_id="111111111111", account_name="Prod Account")
    sso_assign(world.endpoint, "ReadOnly", account_id="111111111111", account_name="Prod Account")
    sso_assign(world.endpoint, "Admin", account_id="222222222222", account_name="dev")
    sso_assign(world.endpoint, "Deploy", account_id="333333333333", account_name="staging")
    world.write_config(HEAD)

    first = sign_in(world, "sso", "populate", "corp")
    assert first.returncode == 0, first.stderr
    assert "sign in to IAM Identity Center" in first.stderr
    for name in ("Prod-Account/Admin", "Prod-Account/ReadOnly", "staging/Deploy"):
        assert f"added    {name}\n" in first.stdout
    # A name the user already has outside the block is not written twice.
    assert "skipped  dev/Admin\n" in first.stdout and "defined outside latchkey's block" in first.stdout
    text = world.config.read_text()
    assert text.startswith(HEAD + "\n" + BEGIN) and text.endswith(END)
    assert text.count("[profile dev/Admin]") == 1
    assert (world.home / ".aws/config.latchkey-backup").read_text() == HEAD

    profiles = sdk_profiles(world)
    assert {"Prod-Account/Admin", "Prod-Account/ReadOnly", "staging/Deploy", "dev/Admin"} <= set(profiles)
    assert aws(world, "configure", "get", "sso_account_id", "--profile", "staging/Deploy").stdout.strip() == (
        "333333333333"
    )
    assert aws(world, "configure", "get", "sso_session", "--profile", "Prod-Account/Admin").stdout.strip() == "corp"

    # The stored token is used: no sign-in, credentials for the generated profile's role.
    result = world.ok("exec", "Prod-Account/ReadOnly", "--", aws_cli(), "sts", "get-caller-identity")
    assert json.loads(result.stdout)["Arn"].startswith("arn:aws:sts::111111111111:assumed-role/ReadOnly/")
    assert "sign in" not in result.stderr

    # Run again after the assignments changed: new ones are added, gone ones are kept and named.
    sso_unassign(world.endpoint, "ReadOnly", account_id="111111111111")
    sso_assign(world.endpoint, "Admin", account_id="444444444444", account_name="sandbox")
    second = world.ok("sso", "populate", "corp", "--json")
    report = json.loads(second.stdout)
    assert report["changes"]["added"] == ["sandbox/Admin"]
    assert report["changes"]["gone"] == ["Prod-Account/ReadOnly"] and report["changes"]["removed"] == []
    assert report["accounts"] == 4 and report["written"] is True
    text = world.config.read_text()
    assert outside(text) == HEAD + "\n" and "[profile Prod-Account/ReadOnly]" in text

    # The dry run shows the prune as a diff and writes nothing.
    dry = world.ok("sso", "populate", "corp", "--prune", "--dry-run")
    assert "-[profile Prod-Account/ReadOnly]\n" in dry.stdout and "\n-sso_role_name = ReadOnly\n" in dry.stdout
    assert "removed  Prod-Account/ReadOnly" in dry.stdout and "nothing written" in dry.stdout
    assert world.config.read_text() == text

    pruned = world.ok("sso", "populate", "corp", "--prune")
    assert "removed  Prod-Account/ReadOnly\n" in pruned.stdout
    text = world.config.read_text()
    assert "Prod-Account/ReadOnly" not in text and outside(text) == HEAD + "\n"
    assert "Prod-Account/ReadOnly" not in sdk_profiles(world)
    assert aws(world, "configure", "get", "region", "--profile", "Prod-Account/ReadOnly").returncode != 0
    again = world.ok("sso", "populate", "corp", "--prune")
    assert "is up to date" in again.stdout and world.config.read_text() == text

    # A new profile works end to end through latchkey.
    result = world.ok("exec", "sandbox/Admin", "--", aws_cli(), "sts", "get-caller-identity")
    assert json.loads(result.stdout)["Arn"].startswith("arn:aws:sts::444444444444:assumed-role/Admin/")

    # Signed out, --no-prompt names the command that signs the sso-session in, and that command works.
    assert "Signed out of https://corp.awsapps.com/start" in world.ok("sso", "logout", "corp").stdout
    refused = world.run("sso", "populate", "corp", "--no-prompt")
    assert refused.returncode == 1 and "latchkey sso login corp" in refused.stderr, refused.stderr
    login = sign_in(world, "sso", "login", "corp")
    assert login.returncode == 0 and "Signed in to https://corp.awsapps.com/start" in login.stdout, login.stderr
    assert "is up to date" in world.ok("sso", "populate", "corp", "--prune").stdout


def test_populate_errors_name_the_problem(world: World) -> None:
    world.write_config(HEAD)
    unknown = world.run("sso", "populate", "nowhere")
    assert unknown.returncode == 1 and "[sso-session nowhere]" in unknown.stderr
    bad = world.run("sso", "populate", "corp", "--template", "{account}/{role_name}")
    assert bad.returncode == 1 and "unknown placeholder {account}" in bad.stderr
    assert world.config.read_text() == HEAD
