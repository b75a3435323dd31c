"""Console sign-in sessions (`latchkey signin`, `login_session` profiles) end to end: the real binary,
a real headless Chromium, the AWS double's Sign-In service with strictly rotating refresh tokens."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from backend_daemons import drop_keyctl_keyring
from conftest import BINARY, World, aws_cli
from double_fixtures import (
    access_key_ids,
    admin,
    advance_clock,
    calls,
    client,
    create_console_user,
    create_role,
    create_user,
    set_auth,
    signin_autofill,
)
from test_servers import client_env, ecs_get, run_client, serving
from test_terminal import Tmux

PASSWORD = "Chromium-signs-in-1!"
TOKEN_CALLS = "signin:CreateOAuth2Token"


@pytest.fixture
def ada(world: World, tmp_path: Path) -> dict[str, str]:
    """A console user with MFA whose sign-in page fills itself in, and `xdg-open` = headless Chromium."""
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("chromium is not installed: scripts/setup --test installs it")
    name = f"ada-{uuid.uuid4().hex[:8]}"
    user = create_console_user(world.endpoint, name, PASSWORD, mfa=True)
    advance_clock(world.endpoint, 60)  # enabling the device spent the current TOTP steps
    signin_autofill(world.endpoint, name, PASSWORD, mfa="auto")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opener = bin_dir / "xdg-open"
    # Loads the page, runs its scripts (the autofill submits the forms) and follows the redirect to
    # latchkey's loopback listener; the final page is kept for the test.
    opener.write_text(
        "#!/bin/sh\n"
        f'exec timeout 120 {chromium} --headless=new --no-sandbox --disable-gpu --no-first-run '
        f'--user-data-dir="{tmp_path}/chromium" --dump-dom "$1" > "{tmp_path}/final-page.html" 2>/dev/null\n'
    )
    opener.chmod(0o755)
    world.env["PATH"] = f"{bin_dir}:{world.env['PATH']}"
    world.write_config(f"# my settings\n[profile {name}]\n# keep this\nregion = us-east-1\n")
    return {**user, "profile": name}


def signin(world: World, ada: dict[str, str], **env: str) -> subprocess.CompletedProcess[str]:
    return world.ok("signin", ada["profile"], env=env, timeout=150)


def exported(world: World, profile: str, **env: str) -> dict[str, Any]:
    return json.loads(world.ok("export", "--format", "json", profile, env=env).stdout)


def caller(world: World, credentials: dict[str, Any]) -> str:
    sts = client(
        world.endpoint, "sts", credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )
    return str(sts.get_caller_identity()["Arn"])


def refresh_tokens(world: World, arn: str) -> list[dict[str, Any]]:
    return [t for t in admin(world.endpoint, "GET", "signin")["refresh_tokens"] if t["user_arn"] == arn]


def test_signin_through_chromium_then_exec_uses_the_stored_session(world: World, ada: dict[str, str]) -> None:
    result = signin(world, ada)

    assert ada["arn"] in result.stdout
    assert "Signed in." in (world.home.parent / "final-page.html").read_text()  # the browser got latchkey's page
    config = world.config.read_text()
    assert config.startswith("# my settings\n") and "# keep this\nregion = us-east-1\n" in config
    assert f"login_session = {ada['arn']}" in config
    # Nothing in clear: no AWS CLI cache, and the vault does not show the refresh token's marker.
    assert not (world.home / ".aws/login").exists()
    for path in world.vault.rglob("*"):
        if path.is_file():
            assert b"lkrt" not in path.read_bytes()
    (token,) = refresh_tokens(world, ada["arn"])
    assert token["mfa"] is True

    before = calls(world.endpoint).get(TOKEN_CALLS, 0)
    run = world.ok("exec", ada["profile"], "--", "sh", "-c", 'printf %s "$AWS_SESSION_TOKEN" | wc -c')
    assert int(run.stdout.strip()) > 0
    assert caller(world, exported(world, ada["profile"])) == ada["arn"]
    assert calls(world.endpoint).get(TOKEN_CALLS, 0) == before  # fresh: no refresh
    (listed,) = [p for p in world.listing()["profiles"] if p["name"] == ada["profile"]]
    assert [s["type"] for s in listed["sessions"]] == ["LoginSession"]
    assert 11 * 3600 < listed["sessions"][0]["seconds_left"] <= 12 * 3600
    explained = world.ok("explain", ada["profile"]).stdout
    assert "console sign-in session" in explained and ada["arn"] in explained


def test_refresh_rotates_the_token_and_parallel_processes_refresh_one_at_a_time(
    world: World, ada: dict[str, str]
) -> None:
    signin(world, ada)
    first = exported(world, ada["profile"])
    before = calls(world.endpoint).get(TOKEN_CALLS, 0)
    # LATCHKEY_MIN_TTL above the credentials' 15 minutes: every run must refresh.
    refreshed = exported(world, ada["profile"], LATCHKEY_MIN_TTL="16m")
    assert refreshed["AccessKeyId"] != first["AccessKeyId"]
    assert caller(world, refreshed) == ada["arn"]
    assert calls(world.endpoint).get(TOKEN_CALLS, 0) == before + 1
    # The new credentials were stored: a run with the default window reuses them.
    assert exported(world, ada["profile"])["AccessKeyId"] == refreshed["AccessKeyId"]

    # Each refresh spends the previous refresh token: a process that refreshed with the token it
    # read before taking the lock would be refused. Four at once must all succeed.
    before = calls(world.endpoint).get(TOKEN_CALLS, 0)
    env = {**world.env, "LATCHKEY_MIN_TTL": "16m"}
    processes = [
        subprocess.Popen(
            [str(BINARY), "export", "--format", "json", ada["profile"]], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err
        assert caller(world, json.loads(out)) == ada["arn"]
    assert calls(world.endpoint).get(TOKEN_CALLS, 0) == before + 4
    assert len(refresh_tokens(world, ada["arn"])) == 1


def test_a_revoked_refresh_token_says_to_sign_in_again(world: World, ada: dict[str, str]) -> None:
    signin(world, ada)
    admin(world.endpoint, "POST", "signin/revoke", {"user_name": ada["user_name"]})
    result = world.run("export", "--format", "json", ada["profile"], env={"LATCHKEY_MIN_TTL": "16m"})
    assert result.returncode == 1
    assert f"latchkey signin {ada['profile']}" in result.stderr
    assert "lkrt" not in result.stderr and result.stdout == ""
    # Nothing was half written: with the default window the current credentials still work.
    assert caller(world, exported(world, ada["profile"])) == ada["arn"]


def test_a_login_session_profile_is_the_source_of_a_role(world: World, ada: dict[str, str]) -> None:
    signin(world, ada)
    set_auth(world.endpoint, False)
    role = create_role(world.endpoint, f"admin-{uuid.uuid4().hex[:6]}", ada["arn"])
    set_auth(world.endpoint, True)
    with world.config.open("a") as config:
        config.write(f"[profile admin]\nrole_arn = {role}\nsource_profile = {ada['profile']}\n")
    arn = caller(world, exported(world, "admin"))
    assert arn.startswith(role.replace(":iam:", ":sts:").replace(":role/", ":assumed-role/"))


def test_signout_forgets_the_session(world: World, ada: dict[str, str]) -> None:
    signin(world, ada)
    assert ada["arn"] in world.ok("signout", ada["profile"]).stdout
    result = world.run("export", ada["profile"])
    assert result.returncode == 1 and f"latchkey signin {ada['profile']}" in result.stderr
    assert "was not signed in" in world.ok("signout", ada["profile"]).stdout
    assert "Forgot 0 sign-in sessions" in world.ok("signout", "--all").stdout


def test_shared_cli_cache_works_for_botocore_and_imports_back(
    world: World, ada: dict[str, str], monkeypatch: Any
) -> None:
    cache = world.home / ".aws/login/cache"
    signin(world, ada, LATCHKEY_SHARE_CLI_LOGIN_CACHE="1")
    cache_file = cache / (hashlib.sha256(ada["arn"].encode()).hexdigest() + ".json")
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert "BEGIN EC PRIVATE KEY" in json.loads(cache_file.read_text())["dpopKey"]

    # botocore's own login_session provider reads the file latchkey wrote.
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(world.config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(world.home / "missing"))
    monkeypatch.setenv("AWS_LOGIN_CACHE_DIRECTORY", str(cache))
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.Session(profile_name=ada["profile"])
    assert session.client("sts").get_caller_identity()["Arn"] == ada["arn"]
    assert session.get_credentials().method == "login"
    # botocore refreshes with the refresh token and the DPoP key (SEC1 PEM) latchkey wrote, once the
    # file's credentials are (made) stale.
    document = json.loads(cache_file.read_text())
    document["accessToken"]["expiresAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    cache_file.write_text(json.dumps(document))
    before = calls(world.endpoint).get(TOKEN_CALLS, 0)
    assert boto3.Session(profile_name=ada["profile"]).client("sts").get_caller_identity()["Arn"] == ada["arn"]
    assert calls(world.endpoint).get(TOKEN_CALLS, 0) == before + 1
    assert json.loads(cache_file.read_text())["refreshToken"] != document["refreshToken"]

    # Forget it in the keyring only, then import the CLI's file back: kept without --delete.
    world.ok("signout", ada["profile"])
    assert cache_file.exists()
    kept = world.ok("import", "aws-login")
    assert ada["arn"] in kept.stdout and cache_file.exists()
    moved = world.ok("import", "aws-login", "--delete")
    assert "deleted" in moved.stdout and not cache_file.exists()
    # The imported refresh token and DPoP key work: a forced refresh succeeds.
    assert caller(world, exported(world, ada["profile"], LATCHKEY_MIN_TTL="16m")) == ada["arn"]


def test_import_reads_a_file_named_by_a_profile_and_skips_junk(world: World, ada: dict[str, str]) -> None:
    cache = world.home / "cli-cache"
    signin(world, ada, LATCHKEY_SHARE_CLI_LOGIN_CACHE="1", AWS_LOGIN_CACHE_DIRECTORY=str(cache))
    world.ok("signout", ada["profile"])
    (cache / "junk.json").write_text("{}")
    result = world.ok("import", "aws-login", env={"AWS_LOGIN_CACHE_DIRECTORY": str(cache)})
    assert "Imported 1 sign-in session" in result.stdout and "skipped" in result.stdout
    assert caller(world, exported(world, ada["profile"])) == ada["arn"]


def start_signin(world: World, *args: str, **env: str) -> tuple[subprocess.Popen[str], str]:
    """Starts `latchkey signin` and returns it with the authorize URL it printed."""
    process = subprocess.Popen(
        [str(BINARY), "signin", *args], env={**world.env, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    assert process.stderr is not None
    for _ in range(10):
        line = process.stderr.readline().strip()
        if line.startswith("http"):
            return process, line
    process.kill()
    pytest.fail("latchkey signin printed no URL")


def test_remote_signin_takes_the_code_pasted_from_another_device(
    world: World, ada: dict[str, str], tmp_path: Path
) -> None:
    process, url = start_signin(world, ada["profile"], "--remote")
    assert "client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fcross-device" in url
    # "Another device": a browser that signs in and shows the confirmation page with the code.
    page = subprocess.run(
        ["timeout", "120", "chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path}/remote-chromium", "--dump-dom", url],
        capture_output=True, text=True, check=True,
    ).stdout
    code = page.split("id=\"authorization-code\">", 1)[1].split("<", 1)[0]
    out, err = process.communicate(code + "\n", timeout=60)
    assert process.returncode == 0, err
    assert ada["arn"] in out and code not in out + err
    assert caller(world, exported(world, ada["profile"])) == ada["arn"]


def test_a_callback_with_a_forged_state_is_refused_and_nothing_is_written(world: World, ada: dict[str, str]) -> None:
    import urllib.error
    import urllib.parse
    import urllib.request

    before = world.config.read_text()
    process, url = start_signin(world, ada["profile"], LATCHKEY_NO_BROWSER="1")
    redirect = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["redirect_uri"][0]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{redirect}?code=stolen&state=forged", timeout=10)
    assert refused.value.code == 400
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1 and "state" in err
    assert world.config.read_text() == before
    assert "Forgot 0" in world.ok("signout", "--all").stdout


def add_key(world: World, profile: str, user: dict[str, str]) -> None:
    world.ok(
        "add", profile, "--env",
        env={"AWS_ACCESS_KEY_ID": user["access_key_id"], "AWS_SECRET_ACCESS_KEY": user["secret_access_key"]},
    )


def test_retire_key_signs_in_then_deletes_the_stored_key(world: World, ada: dict[str, str]) -> None:
    add_key(world, ada["profile"], ada)
    assert access_key_ids(world.endpoint, ada["user_name"]) == [ada["access_key_id"]]

    result = world.ok("signin", ada["profile"], "--retire-key", timeout=150)

    assert "Deleted the access key" in result.stdout
    assert access_key_ids(world.endpoint, ada["user_name"]) == []
    assert ada["access_key_id"] not in json.dumps(world.listing())
    assert f"login_session = {ada['arn']}" in world.config.read_text()
    assert caller(world, exported(world, ada["profile"])) == ada["arn"]


def test_retire_key_keeps_a_key_that_is_not_the_signed_in_users(world: World, ada: dict[str, str]) -> None:
    other = create_user(world.endpoint, f"bob-{uuid.uuid4().hex[:6]}")
    add_key(world, ada["profile"], other)
    before = world.config.read_text()

    result = world.run("signin", ada["profile"], "--retire-key", timeout=150)

    assert result.returncode == 1 and "was not retired" in result.stderr
    assert access_key_ids(world.endpoint, other["user_name"]) == [other["access_key_id"]]
    assert world.config.read_text() == before  # the profile still uses the key
    assert caller(world, exported(world, ada["profile"], LATCHKEY_NO_PROMPT="1")).endswith(other["user_name"])
    # The session that proved to be someone else was never stored.
    assert not [p for p in world.listing()["profiles"] if any(s["type"] == "LoginSession" for s in p["sessions"])]
    assert "Forgot 0 sign-in sessions" in world.ok("signout", "--all").stdout


def test_retire_key_without_a_stored_key_is_refused_before_the_browser_opens(
    world: World, ada: dict[str, str]
) -> None:
    before = world.config.read_text()
    result = world.run("signin", ada["profile"], "--retire-key", timeout=150)
    assert result.returncode == 1
    assert "was not retired" in result.stderr and "no access key is stored" in result.stderr
    assert "/v1/authorize" not in result.stderr  # no URL was printed, no browser started
    assert not (world.home.parent / "final-page.html").exists()
    assert admin(world.endpoint, "GET", "signin")["pending"] == 0
    assert world.config.read_text() == before
    assert "Forgot 0 sign-in sessions" in world.ok("signout", "--all").stdout


def test_the_double_down_during_a_refresh_keeps_the_current_credentials(world: World, ada: dict[str, str]) -> None:
    from double_fixtures import add_fault

    signin(world, ada)
    current = exported(world, ada["profile"])
    add_fault(world.endpoint, TOKEN_CALLS, count=10, status=500)
    result = world.run("export", "--format", "json", ada["profile"], env={"LATCHKEY_MIN_TTL": "16m"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"] == current["AccessKeyId"]
    assert "could not refresh" in result.stderr
    # The stored item was not touched: once the service answers again, its refresh token still works.
    admin(world.endpoint, "POST", "faults/reset", {})
    refreshed = exported(world, ada["profile"], LATCHKEY_MIN_TTL="16m")
    assert refreshed["AccessKeyId"] != current["AccessKeyId"] and caller(world, refreshed) == ada["arn"]


def test_a_changed_console_password_ends_the_session_with_the_command_to_sign_in(
    world: World, ada: dict[str, str]
) -> None:
    signin(world, ada)
    set_auth(world.endpoint, False)
    client(world.endpoint, "iam").update_login_profile(UserName=ada["user_name"], Password="Another-passw0rd!")
    set_auth(world.endpoint, True)
    result = world.run("exec", ada["profile"], "--", "true", env={"LATCHKEY_MIN_TTL": "16m"})
    assert result.returncode == 1
    assert "console password" in result.stderr and f"`latchkey signin {ada['profile']}`" in result.stderr


def test_the_ecs_server_refreshes_a_login_session_in_place(world: World, ada: dict[str, str]) -> None:
    # The browser sign-in's credentials say they last 330 seconds, so the server, which renews when
    # 5 minutes are left, refreshes them about 30 seconds after the sign-in; refreshes get 15 minutes.
    admin(world.endpoint, "POST", "signin/expires-in", {"seconds": 330})
    signin(world, ada)
    admin(world.endpoint, "POST", "signin/expires-in", {"seconds": None})
    signed_in = exported(world, ada["profile"])
    before = calls(world.endpoint).get(TOKEN_CALLS, 0)
    with serving(world, ada["profile"], "--ecs") as server:
        status, first = ecs_get(server)
        assert status == 200 and first["AccessKeyId"] == signed_in["AccessKeyId"]
        second = first
        deadline = time.monotonic() + 120
        while second["AccessKeyId"] == first["AccessKeyId"] and time.monotonic() < deadline:
            time.sleep(1)
            status, second = ecs_get(server)
            assert status == 200
        assert second["AccessKeyId"] != first["AccessKeyId"], "the server never refreshed the session"
        assert calls(world.endpoint).get(TOKEN_CALLS, 0) == before + 1
        # The new key works, and the AWS CLI gets it through the server's container endpoint.
        assert caller(world, {**second, "SessionToken": second["Token"]}) == ada["arn"]
        env = client_env(world, {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": server.token,
        })
        cli = run_client([aws_cli(), "sts", "get-caller-identity", "--output", "json"], env)
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["Arn"] == ada["arn"]
        assert ecs_get(server)[1]["AccessKeyId"] == second["AccessKeyId"]
    # The refresh was written back: the keyring holds the new credentials and the rotated refresh
    # token (the one the sign-in stored is spent, so a forced refresh works only with the new one).
    assert exported(world, ada["profile"])["AccessKeyId"] == second["AccessKeyId"]
    assert len(refresh_tokens(world, ada["arn"])) == 1
    forced = exported(world, ada["profile"], LATCHKEY_MIN_TTL="16m")
    assert forced["AccessKeyId"] != second["AccessKeyId"] and caller(world, forced) == ada["arn"]


WATCHER = """
import json, os, subprocess, sys, time, urllib.request

def served():
    request = urllib.request.Request(
        os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
        headers={"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["AccessKeyId"]

first = second = served()
deadline = time.monotonic() + 120
while second == first and time.monotonic() < deadline:
    time.sleep(1)
    second = served()
cli = subprocess.run([sys.argv[1], "sts", "get-caller-identity", "--output", "json"], capture_output=True, text=True)
print(json.dumps({"first": first, "second": second, "status": cli.returncode, "out": cli.stdout, "err": cli.stderr}))
"""


def test_exec_ecs_server_refreshes_a_login_session_under_its_command(world: World, ada: dict[str, str]) -> None:
    admin(world.endpoint, "POST", "signin/expires-in", {"seconds": 330})  # as above: a refresh ~30 s later
    signin(world, ada)
    admin(world.endpoint, "POST", "signin/expires-in", {"seconds": None})
    signed_in = exported(world, ada["profile"])
    watcher = world.home / "watch.py"
    watcher.write_text(WATCHER)
    result = world.run("exec", "--ecs-server", ada["profile"], "--", sys.executable, str(watcher), aws_cli(),
                       timeout=200)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["first"] == signed_in["AccessKeyId"]
    assert seen["second"] != seen["first"], "the server never refreshed the session"
    assert seen["status"] == 0, seen["err"]
    assert json.loads(seen["out"])["Arn"] == ada["arn"]  # the AWS CLI, with the refreshed key
    assert exported(world, ada["profile"])["AccessKeyId"] == seen["second"]  # written back


@pytest.mark.parametrize("spoil", ["used", "expired"])
def test_a_used_or_expired_authorization_code_fails_and_stores_nothing(
    world: World, ada: dict[str, str], spoil: str
) -> None:
    before = world.config.read_text()
    # The next code the sign-in pages grant is already redeemed, or already past its 5 minutes.
    admin(world.endpoint, "POST", "signin/next-code", {"spoil": spoil})
    result = world.run("signin", ada["profile"], timeout=150)
    assert result.returncode == 1
    assert "authorization code from the browser expired or was already used" in result.stderr
    assert admin(world.endpoint, "GET", "signin")["spoil_next_code"] is None  # the browser did sign in
    assert world.config.read_text() == before
    assert refresh_tokens(world, ada["arn"]) == []
    assert "Forgot 0 sign-in sessions" in world.ok("signout", "--all").stdout
    assert result.stdout == ""
    # A fresh sign-in then works.
    signin(world, ada)
    assert caller(world, exported(world, ada["profile"])) == ada["arn"]


@pytest.fixture
def keyctl(world: World) -> Any:
    """The kernel keyring backend, in a keyring of this test's own, dropped afterwards."""
    name = f"latchkey-e2e-{uuid.uuid4().hex[:8]}"
    world.env.update({"LATCHKEY_BACKEND": "keyctl", "LATCHKEY_KEYCTL_KEYRING": name})
    persistent = subprocess.run(["keyctl", "get_persistent", "@u"], capture_output=True, text=True, check=True)
    yield persistent.stdout.strip()
    drop_keyctl_keyring(name)


def test_a_tampered_session_item_says_to_sign_in_again(world: World, ada: dict[str, str], keyctl: str) -> None:
    keys = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    world.ok("add", "other", "--env", "--no-config", env=keys)
    signin(world, ada)
    serial = subprocess.run(["keyctl", "search", keyctl, "user", f"latchkey:login-session:{ada['arn']}"],
                            capture_output=True, text=True, check=True).stdout.strip()
    payload = subprocess.run(["keyctl", "pipe", serial], capture_output=True, check=True).stdout
    # The kernel backend's layout: "LK1\n", the header's length (4 bytes), the header, the secret.
    length = struct.unpack(">I", payload[4:8])[0]
    head, secret = payload[: 8 + length], json.loads(payload[8 + length :])
    assert secret["identityArn"] == ada["arn"]  # the item is the session (read in clear by its owner)
    secret["dpopKey"] = "-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n-----END EC PRIVATE KEY-----\n"
    subprocess.run(["keyctl", "pupdate", serial], input=head + json.dumps(secret).encode(), check=True)

    result = world.run("exec", ada["profile"], "--", "true")
    assert result.returncode == 1
    assert "cannot be read" in result.stderr and f"`latchkey signin {ada['profile']}`" in result.stderr
    assert secret["refreshToken"] not in result.stderr and "Traceback" not in result.stderr
    # Nothing else broke: the listing, another profile's key, and signing in again repairs it.
    assert ada["profile"] in json.dumps(world.listing())
    assert json.loads(world.ok("export", "--no-session", "--format", "json", "other").stdout)["AccessKeyId"] == (
        keys["AWS_ACCESS_KEY_ID"]
    )
    signin(world, ada)
    assert caller(world, exported(world, ada["profile"])) == ada["arn"]


def test_import_asks_on_the_terminal_before_deleting_each_plaintext_file(
    world: World, ada: dict[str, str]
) -> None:
    cache = world.home / ".aws/login/cache"
    signin(world, ada, LATCHKEY_SHARE_CLI_LOGIN_CACHE="1")
    cache_file = cache / (hashlib.sha256(ada["arn"].encode()).hexdigest() + ".json")
    for answer, kept in (("n", True), ("y", False)):
        world.ok("signout", ada["profile"])  # the keyring only: the CLI's file stays
        assert cache_file.exists()
        terminal = Tmux(world.env)
        try:
            terminal.start(f"{BINARY} import aws-login")
            terminal.wait_for(f"Delete the plaintext copy {cache_file}? [y/N]")
            terminal.type(answer)
            screen = terminal.wait_for("EXITED:", timeout=60)
        finally:
            terminal.stop()
        assert "EXITED:0" in screen and ada["arn"] in screen
        assert cache_file.exists() == kept
        # Either way the session is in the keyring, and works from there.
        (listed,) = [p for p in world.listing()["profiles"] if p["name"] == ada["profile"]]
        assert [s["type"] for s in listed["sessions"]] == ["LoginSession"]
        assert caller(world, exported(world, ada["profile"])) == ada["arn"]
