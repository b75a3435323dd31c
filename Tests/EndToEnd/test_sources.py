"""Credential sources besides stored keys, end to end: credential_process, environment, web
identity, IAM Identity Center (device flow against the double's SSO stub)."""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import BINARY, World, aws_cli, calls, code
from double_fixtures import (
    client,
    create_role,
    create_user,
    double_now,
    reset_calls,
    set_auth,
    sso_approve,
    sso_assign,
    web_identity_token,
)


def caller(world: World, profile: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return world.run("exec", profile, "--", aws_cli(), "sts", "get-caller-identity", "--output", "json", **kwargs)


def arn(world: World, profile: str) -> str:
    result = caller(world, profile)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["Arn"]


def test_credential_process_source_is_cached_and_can_start_a_role(world: World, doug: dict[str, str]) -> None:
    # latchkey itself as the process: a real credential_process that prints doug's MFA session.
    # It gets no passphrase from its parent (latchkey never passes its secrets on); it opens the
    # vault through the kernel's unlock memory, as a user's would.
    world.env["LATCHKEY_UNLOCK_TTL"] = "60"
    world.ok("export", "--mfa-token", code(world, doug), "doug")
    counter = world.home / "runs"
    script = world.home / "process.sh"
    script.write_text(f"#!/bin/sh\necho run >> {counter}\nexec {BINARY} export --format json doug\n")
    script.chmod(0o700)
    set_auth(world.endpoint, False)
    role = create_role(world.endpoint, "from-process", doug["arn"])
    set_auth(world.endpoint, True)
    with world.config.open("a") as config:
        config.write(f"\n[profile proc]\ncredential_process = {script}\n"
                     f"\n[profile proc-role]\nrole_arn = {role}\nsource_profile = proc\n")
    assert arn(world, "proc") == doug["arn"]
    assert arn(world, "proc") == doug["arn"]
    assert counter.read_text().count("run") == 1  # the second call used the cached output
    assert ":assumed-role/from-process/" in arn(world, "proc-role")


def test_credential_process_failures_are_explained(world: World) -> None:
    bad = world.home / "bad.sh"
    bad.write_text('#!/bin/sh\necho \'{"Version": 2, "AccessKeyId": "x"}\'\n')
    bad.chmod(0o700)
    failing = world.home / "failing.sh"
    failing.write_text("#!/bin/sh\necho oops >&2\nexit 4\n")
    failing.chmod(0o700)
    hanging = world.home / "hang.sh"
    hanging.write_text("#!/bin/sh\nsleep 30\n")
    hanging.chmod(0o700)
    world.write_config(
        f"[profile bad]\ncredential_process = {bad}\n[profile failing]\ncredential_process = {failing}\n"
        f"[profile hang]\ncredential_process = {hanging}\n"
    )
    result = world.run("export", "bad")
    assert result.returncode == 1 and "profile 'bad'" in result.stderr and "Version" in result.stderr
    result = world.run("export", "failing")
    assert result.returncode == 1 and "status 4" in result.stderr
    started = time.monotonic()
    result = world.run("export", "hang", env={"LATCHKEY_PROCESS_TIMEOUT": "1"})
    assert result.returncode == 1 and "profile 'hang'" in result.stderr
    assert time.monotonic() - started < 15


def test_environment_credential_source_assumes_the_role(world: World, doug: dict[str, str]) -> None:
    set_auth(world.endpoint, False)
    role = create_role(world.endpoint, "from-env", doug["arn"])
    set_auth(world.endpoint, True)
    world.write_config(f"[profile env-role]\nrole_arn = {role}\ncredential_source = Environment\n")
    keys = {"AWS_ACCESS_KEY_ID": doug["access_key_id"], "AWS_SECRET_ACCESS_KEY": doug["secret_access_key"]}
    result = caller(world, "env-role", env=keys)
    assert result.returncode == 0, result.stderr
    assert ":assumed-role/from-env/" in json.loads(result.stdout)["Arn"]
    missing = world.run("export", "env-role")
    assert missing.returncode == 1 and "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in missing.stderr


@contextmanager
def loopback_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 for the duration of the block; yields host:port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("source", ["EcsContainer", "Ec2InstanceMetadata"])
def test_container_and_instance_credentials_never_go_through_a_proxy(world: World, source: str) -> None:
    """With every proxy variable set and no NO_PROXY, the container token and the IMDS answers go
    straight to the local endpoint (a recording proxy sees nothing) and the role is assumed."""
    suffix = uuid.uuid4().hex[:8]
    user = create_user(world.endpoint, f"boxed-{suffix}", enable_auth=False)
    role = create_role(world.endpoint, f"boxed-{suffix}", user["arn"])
    set_auth(world.endpoint, True)
    session = client(world.endpoint, "sts", user["access_key_id"], user["secret_access_key"]).get_session_token()
    keys = session["Credentials"]
    document = json.dumps({
        "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": keys["AccessKeyId"],
        "SecretAccessKey": keys["SecretAccessKey"], "Token": keys["SessionToken"],
        "Expiration": keys["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
    }).encode()
    token = "container-token-" + "x" * 24
    proxied: list[str] = []
    served: list[str] = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def handle_any(self) -> None:
            proxied.append(f"{self.command} {self.path} {self.headers.get('Authorization', '')}")
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_POST = do_CONNECT = handle_any

    class Endpoint(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self) -> None:
            served.append(f"PUT {self.path}")
            self.answer(200, b"imds-session-token")

        def do_GET(self) -> None:
            served.append(f"GET {self.path}")
            if self.path == "/creds":
                ok = self.headers.get("Authorization") == token
                return self.answer(200 if ok else 403, document if ok else b"{}")
            if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
                return self.answer(401, b"")
            if self.path == "/latest/meta-data/iam/security-credentials/":
                return self.answer(200, b"box-role")
            if self.path == "/latest/meta-data/iam/security-credentials/box-role":
                return self.answer(200, document)
            self.answer(404, b"")

    with loopback_server(Proxy) as proxy, loopback_server(Endpoint) as endpoint:
        env = {
            "http_proxy": f"http://{proxy}", "https_proxy": f"http://{proxy}", "all_proxy": f"http://{proxy}",
            "HTTPS_PROXY": f"http://{proxy}", "ALL_PROXY": f"http://{proxy}",
        }
        if source == "EcsContainer":
            env |= {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://{endpoint}/creds",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": token}
        else:
            env |= {"AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://{endpoint}/"}
        world.write_config(f"[profile boxed]\nrole_arn = {role}\ncredential_source = {source}\n")
        result = world.run("export", "--format", "json", "boxed", env=env)
    assert proxied == []
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"].startswith("ASIA")
    assert served and (served[-1].endswith("/creds") or served[-1].endswith("/box-role"))


def web_identity_role(world: World, name: str) -> tuple[str, Path]:
    """A role the double lets a CI provider's token assume, and a fresh token for it in HOME;
    signature checking is on from here."""
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.example.com"}}]}
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam = client(world.endpoint, "iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps(allow))
    set_auth(world.endpoint, True)
    token = world.home / "token.jwt"
    token.write_text(web_identity_token("https://token.actions.example.com", "repo:x", "sts.amazonaws.com",
                                        double_now(world.endpoint) + 900))
    return role, token


def test_web_identity_profile(world: World) -> None:
    role, token = web_identity_role(world, "ci")
    world.write_config(f"[profile ci]\nrole_arn = {role}\nweb_identity_token_file = {token}\nrole_session_name = ci-run\n")
    result = caller(world, "ci")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"].endswith(":assumed-role/ci/ci-run")
    token.unlink()
    world.ok("clear")
    gone = world.run("export", "ci")
    assert gone.returncode == 1 and str(token) in gone.stderr


def test_web_identity_from_the_environment_alone(world: World) -> None:
    """CI systems and EKS pods: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, no config file at all."""
    role, token = web_identity_role(world, "pod")
    env = {"AWS_ROLE_ARN": role, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_SESSION_NAME": "pod-1"}
    result = caller(world, "default", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"].endswith(":assumed-role/pod/pod-1")
    assert calls(world.endpoint).get("sts:AssumeRoleWithWebIdentity") == 1
    assert "web identity from the environment" in world.ok("explain", "default", env=env).stdout
    # A profile with keys of its own keeps them; a profile that does not exist is still an error.
    missing = world.run("exec", "nobody", "--", "true", env=env)
    assert missing.returncode == 1 and "nobody" in missing.stderr


def sso_config(world: World) -> None:
    sso_assign(world.endpoint, "Developer")
    world.write_config(
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n"
        "\n[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Developer\n"
    )


def sign_in(world: World, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs latchkey, approves the device code it shows (as the person in the browser), waits."""
    process = subprocess.Popen([str(BINARY), *args], env={**world.env, "LATCHKEY_NO_BROWSER": "1", **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stderr is not None
    shown = ""
    while "Waiting" not in shown:
        line = process.stderr.readline()
        assert line, f"latchkey ended before showing a code: {shown}"
        shown += line
    user_code = re.search(r"shows the code (\S+)\.", shown)
    assert user_code, shown
    sso_approve(world.endpoint, user_code.group(1))
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, shown + stderr)


def test_sso_device_flow_then_cached_and_shared_with_the_cli(world: World) -> None:
    sso_config(world)
    first = sign_in(world, "exec", "dev", "--", aws_cli(), "sts", "get-caller-identity", "--output", "json",
                    env={"LATCHKEY_SSO_SHARE_CLI_CACHE": "1"})
    assert first.returncode == 0, first.stderr
    assert ":assumed-role/Developer/" in json.loads(first.stdout)["Arn"]
    assert "https://" in first.stderr and "sign in to IAM Identity Center for profile 'dev'" in first.stderr
    # The AWS CLI's cache has the token too (file named by the SHA-1 of the session name).
    cache = list((world.home / ".aws/sso/cache").glob("*.json"))
    assert len(cache) == 1 and json.loads(cache[0].read_text())["startUrl"] == "https://corp.awsapps.com/start"
    assert (cache[0].stat().st_mode & 0o777) == 0o600

    reset_calls(world.endpoint)
    second = caller(world, "dev")
    assert second.returncode == 0, second.stderr
    assert "sign in" not in second.stderr
    assert not any(k.startswith("sso") for k in calls(world.endpoint))

    # Cached role credentials gone: the stored token gets new ones without a sign-in.
    world.ok("clear")
    third = caller(world, "dev")
    assert third.returncode == 0 and "sign in" not in third.stderr, third.stderr

    out = world.ok("sso", "logout", "dev")
    assert "Signed out" in out.stdout
    listing = world.listing()
    assert all(p["sessions"] == [] for p in listing["profiles"])


def test_sso_login_command_and_config_errors(world: World) -> None:
    sso_config(world)
    result = sign_in(world, "sso", "login", "dev")
    assert result.returncode == 0, result.stderr
    assert "Signed in to https://corp.awsapps.com/start until" in result.stdout
    with world.config.open("a") as config:
        config.write("\n[profile broken]\nsso_session = nowhere\nsso_account_id = 1\nsso_role_name = x\n"
                     "\n[profile half]\nsso_session = corp\nsso_account_id = 123456789012\n")
    broken = world.run("export", "broken")
    assert broken.returncode == 1 and "no [sso-session nowhere] section" in broken.stderr
    half = world.run("export", "half")
    assert half.returncode == 1 and "sso_role_name must be too" in half.stderr.replace("sso_account_id is set, so ", "")
