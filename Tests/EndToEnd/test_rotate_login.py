"""rotate and login against the strict double: key ids before and after, a failure at every step,
and console sign-in URLs parsed and used against the double's federation stub."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError
from conftest import BINARY, World, calls, code, create_mfa_user, reset_calls
from double_fixtures import access_key_ids, add_fault, client, create_role, sessions, set_auth, set_new_key_delay


# --- helpers -------------------------------------------------------------------------------------


def stored_key_id(world: World, profile: str = "doug") -> str:
    entry = next(p for p in world.listing()["profiles"] if p["name"] == profile)
    return entry["credentials"]["access_key_id"]


def stored_key(world: World, profile: str = "doug") -> dict[str, str]:
    """The stored key pair, read back through `export --no-session` (as a user would)."""
    exported = json.loads(world.ok("export", "--no-session", "--format", "json", profile).stdout)
    return {"id": exported["AccessKeyId"], "secret": exported["SecretAccessKey"]}


def identity_or_error(endpoint: str, key_id: str, secret: str) -> str:
    """The caller ARN the key authenticates as, or the error code it gets."""
    try:
        sts = client(endpoint, "sts", access_key_id=key_id, secret_access_key=secret)
        return str(sts.get_caller_identity()["Arn"])
    except ClientError as error:
        return str(error.response["Error"]["Code"])


def cache_mfa_session(world: World, user: dict[str, str]) -> None:
    world.ok("exec", "--mfa-token", code(world, user), "doug", "--", "true")


def assert_unchanged(world: World, user: dict[str, str]) -> None:
    """The old key is still the stored one, still the only one in AWS, and still works."""
    assert stored_key_id(world) == user["access_key_id"]
    assert access_key_ids(world.endpoint, user["user_name"]) == [user["access_key_id"]]
    assert identity_or_error(world.endpoint, user["access_key_id"], user["secret_access_key"]) == user["arn"]


# --- rotate --------------------------------------------------------------------------------------


def test_rotation_replaces_the_key_with_one_mfa_session(world: World, doug: dict[str, str]) -> None:
    old = doug["access_key_id"]
    result = world.ok("rotate", "doug", "--mfa-token", code(world, doug))
    counted = calls(world.endpoint)
    new = stored_key(world)
    assert new["id"] != old and new["id"].startswith("AKIA")
    assert f"{old} -> {new['id']}" in result.stdout
    assert f"Created access key {new['id']}" in result.stderr and "Deleted the old access key" in result.stderr

    # AWS has only the new key; the old one no longer authenticates, the new one does.
    assert access_key_ids(world.endpoint, doug["user_name"]) == [new["id"]]
    assert identity_or_error(world.endpoint, old, doug["secret_access_key"]) == "InvalidClientTokenId"
    assert identity_or_error(world.endpoint, new["id"], new["secret"]) == doug["arn"]

    # One MFA session served every IAM call; the new key was verified with STS.
    assert counted["sts:GetSessionToken"] == 1
    assert counted["iam:ListAccessKeys"] == 1 and counted["iam:CreateAccessKey"] == 1
    assert counted["iam:DeleteAccessKey"] == 1
    assert counted["sts:GetCallerIdentity"] == 2  # the caller, then the new key

    # The session made from the old key is gone, and the next exec makes one from the new key.
    listing = next(p for p in world.listing()["profiles"] if p["name"] == "doug")
    assert listing["sessions"] == [] and listing["credentials"]["age_days"] == 0
    reset_calls(world.endpoint)
    world.ok("exec", "--mfa-token", code(world, doug), "doug", "--", "true")
    assert calls(world.endpoint) == {"sts:GetSessionToken": 1}


def test_a_cached_mfa_session_means_no_code_at_all(world: World, doug: dict[str, str]) -> None:
    cache_mfa_session(world, doug)
    reset_calls(world.endpoint)
    world.ok("rotate", "doug")  # no terminal, no --mfa-token: it must not need a code
    assert "sts:GetSessionToken" not in calls(world.endpoint)
    assert stored_key_id(world) != doug["access_key_id"]


def test_two_keys_are_refused_before_anything_changes(world: World, doug: dict[str, str]) -> None:
    set_auth(world.endpoint, False)
    spare = client(world.endpoint, "iam").create_access_key(UserName=doug["user_name"])["AccessKey"]["AccessKeyId"]
    set_auth(world.endpoint, True)
    reset_calls(world.endpoint)
    result = world.run("rotate", "doug", "--mfa-token", code(world, doug))
    assert result.returncode == 1
    assert "two access keys" in result.stderr and spare in result.stderr and "Nothing was changed" in result.stderr
    assert "iam:CreateAccessKey" not in calls(world.endpoint)
    assert stored_key_id(world) == doug["access_key_id"]
    assert access_key_ids(world.endpoint, doug["user_name"]) == sorted([doug["access_key_id"], spare])


def test_create_failure_changes_nothing(world: World, doug: dict[str, str]) -> None:
    add_fault(world.endpoint, "CreateAccessKey", status=409, code="LimitExceeded", message="quota")
    result = world.run("rotate", "doug", "--mfa-token", code(world, doug))
    assert result.returncode == 1
    assert "create the new access key" in result.stderr and "nothing was changed" in result.stderr
    assert_unchanged(world, doug)


def test_a_locked_keyring_stops_rotation_before_any_key_is_made(world: World, doug: dict[str, str]) -> None:
    cache_mfa_session(world, doug)
    reset_calls(world.endpoint)
    # Another writer holds the vault's lock longer than latchkey waits (10 s): the rotation's
    # journal cannot be written, so no key is created.
    with open(world.vault / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = world.run("rotate", "doug", timeout=90)
    assert result.returncode == 1, result.stdout
    assert "could not record the rotation" in result.stderr and "nothing was changed" in result.stderr
    assert calls(world.endpoint).get("iam:CreateAccessKey", 0) == 0
    assert_unchanged(world, doug)


def test_store_failure_deletes_the_new_key_and_keeps_the_old(world: World, doug: dict[str, str]) -> None:
    cache_mfa_session(world, doug)
    reset_calls(world.endpoint)
    # A real failure: once CreateAccessKey is under way (the double holds its answer 2 s), another
    # writer takes the vault's lock and keeps it longer than latchkey waits (10 s) to store the key.
    add_fault(world.endpoint, "iam:CreateAccessKey", delay=2)
    process = subprocess.Popen([str(BINARY), "rotate", "doug"], env=world.env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    with open(world.vault / ".lock", "a+") as lock:
        deadline = time.monotonic() + 30
        while calls(world.endpoint).get("iam:CreateAccessKey", 0) == 0:
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.05)
        fcntl.flock(lock, fcntl.LOCK_EX)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert "could not be stored" in stderr and "was deleted again" in stderr
    counted = calls(world.endpoint)
    assert counted["iam:CreateAccessKey"] == 1 and counted["iam:DeleteAccessKey"] == 1
    assert_unchanged(world, doug)
    # doctor points at the journal the failed run kept; the next rotation drops it and works as usual.
    found = {c["name"]: c for c in json.loads(world.run("doctor", "--json", "doug").stdout)["checks"]}
    assert found["rotation (doug)"]["status"] == "warn" and "latchkey rotate doug" in found["rotation (doug)"]["fix"]
    rotated = world.ok("rotate", "doug")
    assert "Rotated the key of 'doug'" in rotated.stdout
    assert access_key_ids(world.endpoint, doug["user_name"]) == [stored_key_id(world)]
    assert "rotation (doug)" not in world.run("doctor", "--json", "doug").stdout


def test_verify_failure_deletes_the_new_key_and_puts_the_old_back(world: World, doug: dict[str, str]) -> None:
    set_new_key_delay(world.endpoint, 3600)  # the new key will not authenticate within the budget
    started = time.monotonic()
    result = world.run(
        "rotate", "doug", "--mfa-token", code(world, doug), env={"LATCHKEY_ROTATE_VERIFY_TIMEOUT": "3s"}
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "did not work after 3 attempts" in result.stderr and "InvalidClientTokenId" in result.stderr
    assert "was deleted again" in result.stderr and "old key is still stored" in result.stderr
    assert 3 <= elapsed < 30
    set_new_key_delay(world.endpoint, 0)
    assert_unchanged(world, doug)


def test_a_new_key_that_takes_a_while_is_waited_for(world: World, doug: dict[str, str]) -> None:
    set_new_key_delay(world.endpoint, 2)  # IAM's eventual consistency, on the double's (real-time) clock
    result = world.ok("rotate", "doug", "--mfa-token", code(world, doug))
    attempts = int(result.stdout.split("works after ")[1].split(" attempt")[0])
    assert attempts >= 2 and "not usable yet" in result.stderr
    new = stored_key(world)
    assert access_key_ids(world.endpoint, doug["user_name"]) == [new["id"]]


def test_delete_failure_keeps_the_new_key_and_names_the_old_one(world: World, doug: dict[str, str]) -> None:
    add_fault(world.endpoint, "DeleteAccessKey", status=403, code="AccessDenied", message="denied")
    old = doug["access_key_id"]
    result = world.run("rotate", "doug", "--mfa-token", code(world, doug))
    assert result.returncode == 1
    assert f"aws iam delete-access-key --access-key-id {old} --user-name {doug['user_name']}" in result.stderr
    new = stored_key(world)
    assert new["id"] != old
    assert access_key_ids(world.endpoint, doug["user_name"]) == sorted([old, new["id"]])
    assert identity_or_error(world.endpoint, new["id"], new["secret"]) == doug["arn"]


def test_rotate_refuses_a_profile_without_a_stored_key(world: World) -> None:
    world.write_config("[profile envy]\ncredential_source = Environment\nrole_arn = arn:aws:iam::123456789012:role/r\n")
    result = world.run("rotate", "envy")
    assert result.returncode == 1 and "not from a key stored in latchkey" in result.stderr


# --- login ---------------------------------------------------------------------------------------


def signin_env(world: World) -> dict[str, str]:
    return {"LATCHKEY_SIGNIN_ENDPOINT": world.endpoint + "/federation"}


def parse(url: str) -> tuple[Any, dict[str, str]]:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return parts, query


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def follow_once(url: str) -> tuple[int, str | None]:
    """GETs the login URL without following the redirect: (status, Location)."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        response = opener.open(url, timeout=10)
        return response.status, response.headers.get("Location")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location")


@pytest.fixture
def admin_role(world: World, doug: dict[str, str]) -> str:
    set_auth(world.endpoint, False)
    arn = create_role(world.endpoint, "admin", doug["arn"])
    set_auth(world.endpoint, True)
    with world.config.open("a") as config:
        config.write(f"\n[profile admin]\nrole_arn = {arn}\nsource_profile = doug\n")
    return arn


def test_login_url_for_a_role_signs_in_at_the_double(world: World, doug, admin_role: str) -> None:
    result = world.ok("login", "admin", "--stdout", "--mfa-token", code(world, doug), env=signin_env(world))
    url = result.stdout.strip()
    parts, query = parse(url)
    assert f"{parts.scheme}://{parts.netloc}" == world.endpoint and parts.path == "/federation"
    assert query["Action"] == "login" and query["SigninToken"]
    assert query["Destination"] == "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1"
    assert query["Issuer"] == "https://console.aws.amazon.com/"
    # The double's stub accepted the role session (getSigninToken) and now redirects once.
    assert follow_once(url) == (302, query["Destination"])
    assert follow_once(url)[0] == 400  # single use


def test_login_for_a_role_with_a_duration_and_a_page(world: World, doug, admin_role: str) -> None:
    result = world.ok(
        "login", "admin", "--stdout", "--duration", "2h", "--path", "ec2/home", "--region", "eu-west-1",
        "--mfa-token", code(world, doug), env=signin_env(world),
    )
    url = result.stdout.strip()
    _, query = parse(url)
    assert query["Destination"] == "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1"
    assert follow_once(url) == (302, query["Destination"])


def test_login_refuses_durations_aws_would_refuse(world: World, doug, admin_role: str) -> None:
    result = world.run("login", "admin", "--stdout", "--duration", "13h", env=signin_env(world))
    assert result.returncode == 1 and "43200" in result.stderr


@pytest.fixture
def plain_user(world: World) -> dict[str, str]:
    """An IAM user whose profile has no mfa_serial: login federates its long-lived key."""
    user = create_mfa_user(world.endpoint, f"pat-{uuid.uuid4().hex[:8]}")
    world.write_config("[profile pat]\nregion = us-east-1\n")
    world.ok("add", "pat", "--env", env={"AWS_ACCESS_KEY_ID": user["access_key_id"],
                                         "AWS_SECRET_ACCESS_KEY": user["secret_access_key"]})
    reset_calls(world.endpoint)
    return user


def test_login_for_an_iam_user_uses_a_federation_token(world: World, plain_user: dict[str, str]) -> None:
    # --duration goes to GetFederationToken; sending SessionDuration too would make the stub answer 400.
    result = world.ok("login", "pat", "--stdout", "--duration", "2h", env=signin_env(world))
    url = result.stdout.strip()
    _, query = parse(url)
    assert calls(world.endpoint) == {"sts:GetFederationToken": 1}
    assert follow_once(url) == (302, query["Destination"])


def federated_sessions(world: World) -> list[dict[str, Any]]:
    return [s for s in sessions(world.endpoint) if s["kind"] == "federated"]


def test_a_scoped_login_of_an_iam_user_narrows_the_federation_token(
    world: World, plain_user: dict[str, str], tmp_path: Path
) -> None:
    # Unscoped: allow-all, so the console has the user's own rights.
    world.ok("login", "pat", "--stdout", env=signin_env(world))
    [unscoped] = federated_sessions(world)
    assert '"Action":"*"' in unscoped["session_policy"] and unscoped["session_policy_arns"] == []

    # --read-only: ReadOnlyAccess alone (allow-all beside it would undo it); the double then lets these
    # credentials read but not write (test_double_federation.py checks that with the credentials).
    result = world.ok("login", "pat", "--stdout", "--read-only", env=signin_env(world))
    url = result.stdout.strip()
    [scoped] = [s for s in federated_sessions(world) if s["access_key_id"] != unscoped["access_key_id"]]
    assert scoped["session_policy"] is None
    assert scoped["session_policy_arns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    _, query = parse(url)
    assert follow_once(url) == (302, query["Destination"])

    # --policy FILE and --policy-arn: both sent, as Policy and PolicyArns.
    policy = tmp_path / "ec2.json"
    policy.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", '
                      '"Resource": "*"}]}')
    arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    world.ok("login", "pat", "--stdout", "--policy", str(policy), "--policy-arn", arn, env=signin_env(world))
    [last] = [s for s in federated_sessions(world) if s["access_key_id"] not in
              (unscoped["access_key_id"], scoped["access_key_id"])]
    assert json.loads(last["session_policy"])["Statement"][0]["Action"] == "ec2:Describe*"
    assert last["session_policy_arns"] == [arn]


def test_login_for_an_mfa_user_offers_the_account_signin_page(world: World, doug: dict[str, str]) -> None:
    result = world.run("login", "doug", "--stdout", env=signin_env(world))
    assert result.returncode == 1 and result.stdout == ""
    assert f"https://{doug['account_id']}.signin.aws.amazon.com/console" in result.stderr
    assert "carries no MFA" in result.stderr
    assert "sts:GetFederationToken" not in calls(world.endpoint)


def test_login_refuses_a_get_session_token_session(world: World, doug: dict[str, str]) -> None:
    sts = client(world.endpoint, "sts", access_key_id=doug["access_key_id"],
                 secret_access_key=doug["secret_access_key"])
    session = sts.get_session_token(SerialNumber=doug["mfa_serial"], TokenCode=code(world, doug))["Credentials"]
    credentials = world.home / ".aws" / "credentials"
    credentials.write_text(
        f"[temp]\naws_access_key_id = {session['AccessKeyId']}\naws_secret_access_key = {session['SecretAccessKey']}\n"
        f"aws_session_token = {session['SessionToken']}\n"
    )
    result = world.run("login", "temp", "--stdout", env=signin_env(world))
    assert result.returncode == 1
    assert "GetSessionToken" in result.stderr
    assert f"https://{doug['account_id']}.signin.aws.amazon.com/console" in result.stderr


@pytest.mark.parametrize(
    "region,console",
    [
        ("us-east-1", "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1"),
        ("cn-north-1", "https://console.amazonaws.cn/console/home?region=cn-north-1"),
        ("us-gov-west-1", "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"),
    ],
)
def test_login_destination_per_partition(world: World, doug, admin_role: str, region: str, console: str) -> None:
    result = world.ok(
        "login", "admin", "--stdout", "--region", region, "--mfa-token", code(world, doug), env=signin_env(world)
    )
    url = result.stdout.strip()
    _, query = parse(url)
    assert query["Destination"] == console
    assert query["Issuer"] == console.split("/console/home")[0].replace(f"{region}.", "") + "/"
    assert follow_once(url) == (302, console)


def test_login_opens_the_browser_without_the_url_on_any_command_line(
    world: World, doug, admin_role: str, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "opened.json"
    opener = bin_dir / "xdg-open"
    opener.write_text(
        "#!/usr/bin/env python3\nimport json, os, stat, sys\n"
        "page = sys.argv[1]\n"
        f"json.dump({{'argv': sys.argv[1:], 'mode': stat.S_IMODE(os.stat(page).st_mode),"
        f" 'page': open(page).read()}}, open({str(record)!r}, 'w'))\n"
    )
    opener.chmod(0o755)
    env = {**signin_env(world), "PATH": f"{bin_dir}:{os.environ['PATH']}", "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    (tmp_path / "run").mkdir(mode=0o700)
    result = world.ok("login", "admin", "--mfa-token", code(world, doug), env=env)
    assert "opened the AWS console" in result.stderr and result.stdout == ""
    opened = json.loads(record.read_text())
    assert len(opened["argv"]) == 1 and "SigninToken" not in opened["argv"][0]
    assert opened["mode"] == 0o600
    assert stat.S_IMODE((tmp_path / "run" / "latchkey").stat().st_mode) == 0o700
    url = opened["page"].split('url=')[1].split('"')[0].replace("&amp;", "&")
    _, query = parse(url)
    assert follow_once(url) == (302, query["Destination"])
