"""The local credential servers (ECS and IMDSv2) against the real AWS CLI, boto3 and the double.

Refresh is observed with short sessions from the double: its clock is set back before the first
session is issued, so that session's Expiration (double clock + duration) lands a few seconds past
latchkey's refresh window (LATCHKEY_MIN_TTL, 5 minutes) on the wall clock, and latchkey renews it
within seconds; nothing sleeps for an hour and latchkey needs no test-only switch.
"""

from __future__ import annotations

import datetime
import hashlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import BINARY, World, aws_cli, calls, code
from double_fixtures import admin, create_mfa_user, create_role, reset_calls, set_auth

BOTO3_IDENTITY = """
import json, boto3
session = boto3.Session()
credentials = session.get_credentials()
frozen = credentials.get_frozen_credentials()
arn = session.client("sts").get_caller_identity()["Arn"]
print(json.dumps({"method": credentials.method, "access_key": frozen.access_key, "arn": arn}))
"""


def client_env(world: World, extra: dict[str, str]) -> dict[str, str]:
    """A client process's environment: the server's variables, no keys, no profile files."""
    env = {k: v for k, v in world.env.items() if not k.startswith("LATCHKEY_")}
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    env.update(extra)
    return env


def run_client(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, start_new_session=True)


class Server:
    """`latchkey serve` as a background process, with its printed variables."""

    def __init__(
        self, world: World, *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
    ) -> None:
        self.process = subprocess.Popen(
            [*prefix, str(BINARY), "serve", *args],
            env={**world.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.variables: dict[str, str] = {}
        assert self.process.stdout is not None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            name, _, value = line.strip().removeprefix("export ").partition("=")
            self.variables[name] = value
            if name in {"AWS_REGION"}:
                break
        if "AWS_REGION" not in self.variables:
            self.process.kill()
            raise AssertionError(f"serve did not start: {self.process.stderr.read() if self.process.stderr else ''}")
        url = self.variables.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or self.variables[
            "AWS_EC2_METADATA_SERVICE_ENDPOINT"
        ]
        self.port = int(url.rsplit(":", 1)[1].strip("/"))
        # The ECS token, when printed (a test serving with --token-file sets it from the file).
        self.token = self.variables.get("AWS_CONTAINER_AUTHORIZATION_TOKEN", "")

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, host: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = {"Host": host or f"127.0.0.1:{self.port}", **(headers or {})}
        connection.request(method, path, headers=all_headers)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body

    def event_loops(self) -> list[Path]:
        tasks = Path(f"/proc/{self.process.pid}/task").iterdir()
        return [task for task in tasks if (task / "comm").read_text() == "latchkey-http\n"]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        """SIGTERM, then the exit status; what it wrote to stderr is kept in `self.stderr`."""
        self.process.send_signal(signal.SIGTERM)
        try:
            _, self.stderr = self.process.communicate(timeout=10)
        finally:
            for stream in (self.process.stdout, self.process.stderr):
                if stream:
                    stream.close()
        return self.process.returncode


@contextmanager
def serving(
    world: World, *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> Iterator[Server]:
    server = Server(world, *args, env=env, prefix=prefix)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.stop()


def ecs_get(server: Server, path: str = "/") -> tuple[int, dict[str, Any]]:
    status, _, body = server.request("GET", path, {"Authorization": server.token})
    return status, json.loads(body) if body else {}


def imds_token(server: Server) -> str:
    status, _, body = server.request("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    assert status == 200
    return body.decode()


def mfa_process_config(world: World, user: dict[str, str]) -> None:
    """The profile gets its codes from a script asking the double (a stand-in for `ykman`)."""
    script = world.home / "next-code"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(Path(__file__).resolve().parent.parent / 'Double')!r})\n"
        "from double_fixtures import next_unused_code\n"
        f"print(next_unused_code({world.endpoint!r}, {user['mfa_serial']!r}))\n"
    )
    script.chmod(0o700)
    world.write_config(
        f"[profile doug]\nmfa_serial = {user['mfa_serial']}\nmfa_process = {script}\nregion = us-east-1\n"
    )


def epoch(timestamp: str) -> float:
    return datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def set_double_offset(world: World, seconds: float) -> None:
    admin(world.endpoint, "POST", "clock", {"offset": seconds})


def user_with_clock_set_back(world: World, seconds: float) -> dict[str, str]:
    """Profile `doug` whose user and key are created on the double's clock set `seconds` back
    (the double does not accept a key before the moment it was created)."""
    set_double_offset(world, -seconds)
    user = create_mfa_user(world.endpoint, f"doug-{uuid.uuid4().hex[:8]}")
    world.write_config(f"[profile doug]\nmfa_serial = {user['mfa_serial']}\nregion = us-east-1\n")
    keys = {"AWS_ACCESS_KEY_ID": user["access_key_id"], "AWS_SECRET_ACCESS_KEY": user["secret_access_key"]}
    world.ok("add", "doug", "--env", env=keys)
    reset_calls(world.endpoint)
    return user


# --- exec --------------------------------------------------------------------------------------


def test_exec_ecs_server_gives_the_aws_cli_credentials_and_no_keys(world: World, doug: dict[str, str]) -> None:
    env_dump = world.run("exec", "--ecs-server", "--mfa-token", code(world, doug), "doug", "--", "env")
    assert env_dump.returncode == 0, env_dump.stderr
    env = dict(line.split("=", 1) for line in env_dump.stdout.splitlines() if "=" in line)
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
    assert len(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]) == 64
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(env)
    assert env["AWS_VAULT"] == "doug"

    # The cached session serves the next run: the AWS CLI reads it from the server.
    result = world.run("exec", "--ecs-server", "doug", "--", aws_cli(), "sts", "get-caller-identity", "--output", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == doug["arn"]
    assert calls(world.endpoint).get("sts:GetSessionToken") == 1


def test_exec_ec2_server_gives_boto3_credentials_through_imdsv2(world: World, doug: dict[str, str]) -> None:
    result = world.run(
        "exec", "--ec2-server", "--mfa-token", code(world, doug), "doug", "--", sys.executable, "-c", BOTO3_IDENTITY,
        env={"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull},
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["method"] == "iam-role"
    assert seen["access_key"].startswith("ASIA")
    assert seen["arn"] == doug["arn"]


def test_exec_with_server_hands_back_exit_status_and_signals(world: World, doug: dict[str, str]) -> None:
    world.ok("exec", "--mfa-token", code(world, doug), "doug", "--", "true")
    assert world.run("exec", "--ecs-server", "doug", "--", "sh", "-c", "exit 7").returncode == 7
    assert world.run("exec", "--ec2-server", "doug", "--", "sh", "-c", "kill -KILL $$").returncode == 128 + 9

    # A SIGTERM sent to latchkey reaches the command, whose trap decides the status.
    marker = world.home / "started"
    process = subprocess.Popen(
        [str(BINARY), "exec", "--ecs-server", "doug", "--", "sh", "-c",
         f"trap 'echo got-term; exit 42' TERM; touch {marker}; while :; do sleep 0.1; done"],
        env=world.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    deadline = time.time() + 30
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 42, err
    assert "got-term" in out


# --- serve: ECS --------------------------------------------------------------------------------


def test_serve_ecs_answers_the_token_holder_only(world: World, doug: dict[str, str]) -> None:
    token_file = world.home / "token"
    with serving(world, "doug", "--ecs", "--mfa-token", code(world, doug), "--token-file", str(token_file)) as server:
        token = token_file.read_text()
        assert len(token) == 64 and "\n" not in token
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert server.variables["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] == str(token_file)
        server.token = token

        status, headers, body = server.request("GET", "/", {"Authorization": token})
        assert status == 200 and headers["content-type"] == "application/json"
        document = json.loads(body)
        assert set(document) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
        assert document["Expiration"].endswith("Z")

        # Refusals: wrong, missing, almost-right token; foreign Host; all 403 without detail.
        for headers_sent, host in [
            ({"Authorization": "0" * 64}, None),
            ({}, None),
            ({"Authorization": token[:-1]}, None),
            ({"Authorization": token + "0"}, None),
            ({"Authorization": token}, f"evil.example:{server.port}"),
            ({"Authorization": token}, "127.0.0.1:1"),
        ]:
            status, _, body = server.request("GET", "/", headers_sent, host=host)
            assert (status, body) == (403, b""), (headers_sent, host)
        assert server.request("GET", "/other", {"Authorization": token})[0] == 404

        # Oversized requests are refused before they are buffered.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 431 ")
        status, _, _ = server.request("POST", "/", {"Authorization": token, "Content-Length": "100000"})
        assert status == 413

        # The AWS CLI with the token file (as a container would mount it).
        env = client_env(world, {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file),
        })
        cli = run_client([aws_cli(), "sts", "get-caller-identity", "--output", "json"], env)
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["Arn"] == doug["arn"]

        assert server.stop() == 0
    assert not token_file.exists()
    # Nothing secret was printed.
    assert document["SecretAccessKey"] not in server.stderr and token not in server.stderr


def test_serve_ecs_role_arn_assumes_the_role_once(world: World, doug: dict[str, str]) -> None:
    set_auth(world.endpoint, False)
    role_arn = create_role(world.endpoint, "ecs-target", doug["arn"])
    set_auth(world.endpoint, True)
    with serving(world, "doug", "--ecs", "--mfa-token", code(world, doug)) as server:
        base_url = server.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        env = client_env(world, {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{base_url}role-arn/{role_arn}",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": server.token,
        })
        for _ in range(2):
            cli = run_client([aws_cli(), "sts", "get-caller-identity", "--output", "json"], env)
            assert cli.returncode == 0, cli.stderr
            assert ":assumed-role/ecs-target/" in json.loads(cli.stdout)["Arn"]
        status, document = ecs_get(server, f"/role-arn/{role_arn}")
        assert status == 200 and document["RoleArn"] == role_arn
        assert calls(world.endpoint).get("sts:AssumeRole") == 1
        assert server.request("GET", "/role-arn/not-an-arn", {"Authorization": server.token})[0] == 404


# --- serve: IMDSv2 -----------------------------------------------------------------------------


def test_serve_ec2_speaks_imdsv2(world: World, doug: dict[str, str]) -> None:
    with serving(world, "doug", "--ec2", "--mfa-token", code(world, doug)) as server:
        assert server.variables["AWS_EC2_METADATA_SERVICE_ENDPOINT"] == f"http://127.0.0.1:{server.port}/"
        # Token handshake rules.
        assert server.request("PUT", "/latest/api/token")[0] == 400
        for ttl in ("0", "21601", "abc"):
            assert server.request("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": ttl})[0] == 400
        ttl_header = {"X-aws-ec2-metadata-token-ttl-seconds": "21600"}
        assert server.request("PUT", "/latest/api/token", {**ttl_header, "X-Forwarded-For": "1.2.3.4"})[0] == 403
        assert server.request("PUT", "/2021-03-23/api/token", ttl_header)[0] == 403
        status, headers, _ = server.request("PUT", "/latest/api/token", ttl_header)
        assert status == 200 and headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"

        listing = "/latest/meta-data/iam/security-credentials/"
        assert server.request("GET", listing)[0] == 401
        assert server.request("GET", listing, {"X-aws-ec2-metadata-token": "f" * 80})[0] == 401
        token = {"X-aws-ec2-metadata-token": imds_token(server)}
        assert server.request("GET", listing, token, host="attacker.example")[0] == 403
        status, _, body = server.request("GET", listing, token)
        assert (status, body) == (200, b"doug")
        status, headers, body = server.request("GET", listing + "doug", token)
        assert status == 200 and headers["content-type"] == "text/plain"
        document = json.loads(body)
        assert set(document) == {
            "Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"
        }
        assert document["Code"] == "Success" and document["Type"] == "AWS-HMAC"
        assert server.request("GET", listing + "other", token)[0] == 404
        assert server.request("GET", "/latest/meta-data/iam/security-credentials-extended/", token)[0] == 404
        status, _, body = server.request("GET", "/latest/dynamic/instance-identity/document", token)
        assert status == 200 and json.loads(body)["region"] == "us-east-1"

        env = client_env(world, {"AWS_EC2_METADATA_SERVICE_ENDPOINT": server.variables["AWS_EC2_METADATA_SERVICE_ENDPOINT"]})
        env.pop("AWS_REGION")
        env.pop("AWS_DEFAULT_REGION")
        cli = run_client([aws_cli(), "sts", "get-caller-identity", "--output", "json", "--region", "us-east-1"], env)
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["Arn"] == doug["arn"]


def test_serve_runs_one_event_loop_per_cpu_it_may_use(world: World, doug: dict[str, str]) -> None:
    # Two loops on one CPU make each other's connections wait a time slice: pinned, one loop.
    prefix = ("taskset", "-c", "0")
    with serving(world, "doug", "--ecs", "--mfa-token", code(world, doug), prefix=prefix) as pinned:
        assert len(pinned.event_loops()) == 1
        assert ecs_get(pinned)[0] == 200
    if len(os.sched_getaffinity(0)) >= 2:
        with serving(world, "doug", "--ecs") as unpinned:
            assert len(unpinned.event_loops()) == 2
            assert ecs_get(unpinned)[0] == 200


# --- refresh -----------------------------------------------------------------------------------


def test_serve_refreshes_before_expiry_and_clients_follow(world: World) -> None:
    # The first session expires 305 s from now on the wall clock: 5 s before the refresh window.
    doug = user_with_clock_set_back(world, 3295)
    mfa_process_config(world, doug)
    with serving(world, "doug", "--ecs") as server:
        first = ecs_get(server)[1]
        set_double_offset(world, 0)  # later sessions are ordinary one-hour ones
        # Due 300 s before expiry: a few seconds from now (30 s more if a code step was skipped).
        deadline = epoch(first["Expiration"]) - 300 + 20
        assert deadline - time.time() < 60
        second = first
        while second["AccessKeyId"] == first["AccessKeyId"] and time.time() < deadline:
            time.sleep(0.5)
            second = ecs_get(server)[1]
        assert second["AccessKeyId"] != first["AccessKeyId"], "no refresh in time"
        assert second["Expiration"] > first["Expiration"]
        assert calls(world.endpoint).get("sts:GetSessionToken") == 2

        # Across the first session's expiry (double clock moved past it): old keys fail, the server's work.
        admin(world.endpoint, "POST", "clock", {"advance": 400})
        old_env = client_env(world, {
            "AWS_ACCESS_KEY_ID": first["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": first["SecretAccessKey"],
            "AWS_SESSION_TOKEN": first["Token"],
        })
        stale = run_client([aws_cli(), "sts", "get-caller-identity"], old_env)
        assert stale.returncode != 0 and "ExpiredToken" in stale.stderr
        env = client_env(world, {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": server.token,
        })
        boto = run_client([sys.executable, "-c", BOTO3_IDENTITY], env)
        assert boto.returncode == 0, boto.stderr
        assert json.loads(boto.stdout)["access_key"] == second["AccessKeyId"]


def test_refresh_without_an_mfa_code_answers_a_clear_error_without_spinning(world: World) -> None:
    # No mfa_process, no dialog, no terminal: the first session (10 s left) cannot be renewed.
    doug = user_with_clock_set_back(world, 3590)
    started = time.time()
    with serving(world, "doug", "--ecs", "--debug", "--mfa-token", code(world, doug)) as server:
        status, first = ecs_get(server)
        assert status == 200  # still valid: served while the renewal fails
        deadline = epoch(first["Expiration"]) + 5
        assert deadline - time.time() < 60
        while status == 200 and time.time() < deadline:
            time.sleep(0.5)
            status, body = ecs_get(server)
        assert status == 503, "the expired session was still served"
        # Any local process may ask: the answer says to look at latchkey's output, not why.
        assert "latchkey's own output" in body["message"]
        assert doug["mfa_serial"] not in json.dumps(body) and "mfa_process" not in body["message"]
        # Answering the error costs nothing: no new attempt per request.
        cpu_before = server.cpu_seconds()
        for _ in range(200):
            assert ecs_get(server)[0] == 503
        assert server.cpu_seconds() - cpu_before < 0.5
        assert calls(world.endpoint).get("sts:GetSessionToken") == 1
        assert first["SecretAccessKey"] not in json.dumps(body)
        server.stop()
    # Backoff (10 s, 20 s, 40 s, ...): a handful of attempts in the time, not a loop.
    attempts = server.stderr.count("refreshing the session of doug")
    assert 1 <= attempts <= 2 + (time.time() - started) // 10, server.stderr
    # The cause is on latchkey's stderr, once per attempt.
    causes = server.stderr.count("needs an MFA code")
    assert 1 <= causes <= attempts and "mfa_process" in server.stderr, server.stderr
    assert first["SecretAccessKey"] not in server.stderr and first["Token"] not in server.stderr


# --- who may connect, for how long ------------------------------------------------------------

NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")

EXCHANGE = """
import socket, sys
connection = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
connection.sendall(sys.stdin.buffer.read())
data = b""
try:
    while chunk := connection.recv(65536):
        data += chunk
except (ConnectionResetError, TimeoutError):
    pass
sys.stdout.buffer.write(data)
"""


def exchange(port: int, request: str, prefix: tuple[str, ...] = ()) -> bytes:
    """What a client (as another user with `prefix`) gets back for `request`; b"" when the server
    closed without a word. The request travels on stdin, not argv."""
    result = subprocess.run(
        [*prefix, "/usr/bin/python3", "-c", EXCHANGE, str(port)],
        input=request.encode(), capture_output=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_servers_answer_latchkeys_own_uid_only(world: World, doug: dict[str, str]) -> None:
    with serving(world, "doug", "--ecs", "--mfa-token", code(world, doug)) as ecs:
        request = (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{ecs.port}\r\nAuthorization: {ecs.token}\r\n"
            "Connection: close\r\n\r\n"
        )
        # Even with the right token: another uid is closed on before anything is read.
        assert exchange(ecs.port, request, NOBODY) == b""
        assert exchange(ecs.port, request).startswith(b"HTTP/1.1 200 ")
    with serving(world, "doug", "--ec2") as imds:
        put = (
            f"PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1:{imds.port}\r\n"
            "X-aws-ec2-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n"
        )
        assert exchange(imds.port, put, NOBODY) == b""
        reply = exchange(imds.port, put)
        assert reply.startswith(b"HTTP/1.1 200 ")
        token = reply.split(b"\r\n\r\n", 1)[1].decode()
        get = (
            f"GET /latest/meta-data/iam/security-credentials/doug HTTP/1.1\r\nHost: 127.0.0.1:{imds.port}\r\n"
            f"X-aws-ec2-metadata-token: {token}\r\nConnection: close\r\n\r\n"
        )
        assert exchange(imds.port, get, NOBODY) == b""
        assert b'"SecretAccessKey"' in exchange(imds.port, get)
        # curl as another user gets no token either.
        env = client_env(world, {"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.variables["AWS_EC2_METADATA_SERVICE_ENDPOINT"]})
        env["HOME"] = "/nonexistent"
        cli = run_client([*NOBODY, "/usr/bin/curl", "-sS", "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60",
                          f"http://127.0.0.1:{imds.port}/latest/api/token"], env)
        assert cli.returncode != 0 and cli.stdout == ""


def test_idle_sockets_cannot_lock_out_a_real_client(world: World, doug: dict[str, str]) -> None:
    with serving(world, "doug", "--ecs", "--mfa-token", code(world, doug)) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(600)]
        try:
            env = client_env(world, {
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": server.token,
            })
            started = time.time()
            boto = run_client([sys.executable, "-c", BOTO3_IDENTITY], env)
            assert boto.returncode == 0, boto.stderr
            assert json.loads(boto.stdout)["arn"] == doug["arn"]
            cli = run_client([aws_cli(), "sts", "get-caller-identity", "--output", "json"], env)
            assert cli.returncode == 0, cli.stderr
            assert time.time() - started < 30
        finally:
            for connection in idle:
                connection.close()

        # Half a request head is closed after the head deadline (5 s), trickle or not.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            started = time.time()
            slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            time.sleep(2)
            slow.sendall(b"X-More: 1\r\n")
            try:
                assert slow.recv(100) == b""
            except ConnectionResetError:
                pass
            assert 4.5 <= time.time() - started < 12


def test_token_file_replaces_whatever_was_planted_at_its_path(world: World, doug: dict[str, str]) -> None:
    victim = world.home / "victim"
    victim.write_text("keep me")
    victim.chmod(0o644)
    planted_by_other = world.home / "token-other"
    planted_by_other.write_text("planted")
    planted_by_other.chmod(0o644)
    os.chown(planted_by_other, 65534, 65534)
    symlink = world.home / "token-symlink"
    symlink.symlink_to(victim)
    hard_link = world.home / "token-hardlink"
    os.link(victim, hard_link)
    first_code = code(world, doug)
    for index, path in enumerate([planted_by_other, symlink, hard_link]):
        args = ["doug", "--ecs", "--token-file", str(path)] + (["--mfa-token", first_code] if index == 0 else [])
        with serving(world, *args) as server:
            status = os.lstat(path)
            assert stat.S_ISREG(status.st_mode), path
            assert (status.st_uid, status.st_nlink, status.st_mode & 0o777) == (os.getuid(), 1, 0o600), path
            server.token = path.read_text()
            assert len(server.token) == 64
            assert ecs_get(server)[0] == 200
        assert victim.read_text() == "keep me"
        assert not path.exists()  # removed on exit
    assert not [name for name in os.listdir(world.home) if name.endswith(".tmp")]


def core_limit(pid: int) -> str:
    line = next(line for line in Path(f"/proc/{pid}/limits").read_text().splitlines() if line.startswith("Max core file size"))
    return line.split()[4]  # the soft limit


def allow_core_files() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (1024 * 1024, resource.RLIM_INFINITY))


def test_latchkey_cannot_dump_core_but_its_command_can(world: World, doug: dict[str, str]) -> None:
    server = Server(world, "doug", "--ecs", "--mfa-token", code(world, doug), prefix=("prlimit", "--core=1048576:unlimited"))
    try:
        assert core_limit(server.process.pid) == "0"
    finally:
        server.stop()
    # The command gets the user's limit back, with or without a server.
    show_limit = "import resource; print(resource.getrlimit(resource.RLIMIT_CORE)[0])"
    for args in (["exec", "doug"], ["exec", "--ecs-server", "doug"]):
        result = subprocess.run(
            [str(BINARY), *args, "--", "/usr/bin/python3", "-c", show_limit], env=world.env, capture_output=True,
            text=True, timeout=60, preexec_fn=allow_core_files,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(1024 * 1024), args

    # Non-dumpable: the kernel hands the /proc/PID files of such a process to root. Seen from another user,
    # whose latchkey waits on a credential_process that sleeps.
    home = Path(tempfile.mkdtemp(prefix="latchkey-other-user-"))
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text("[profile slow]\ncredential_process = /bin/sleep 30\n")
    for name in (home, home / ".aws", home / ".aws" / "config"):
        os.chown(name, 65534, 65534)
    process = subprocess.Popen(
        [*NOBODY, str(BINARY), "export", "slow", "--format", "json"],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "TMPDIR": str(home), "XDG_RUNTIME_DIR": str(home)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.time() + 10
        while time.time() < deadline and not Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().strip():
            time.sleep(0.05)  # until latchkey has started the credential_process
        assert process.poll() is None, process.communicate()
        assert "\t65534\t" in Path(f"/proc/{process.pid}/status").read_text()
        # (The folder itself always shows the task's uid; the files in it are handed over.)
        assert os.stat(f"/proc/{process.pid}/environ").st_uid == 0
        assert core_limit(process.pid) == "0"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        shutil.rmtree(home, ignore_errors=True)


def forget_cached_vault_key(world: World) -> None:
    """What the kernel does when LATCHKEY_UNLOCK_TTL runs out: the cached vault key is gone."""
    name = "latchkey:vault:" + hashlib.sha256(str(world.vault).encode()).hexdigest()[:16]
    found = subprocess.run(["keyctl", "search", "@u", "user", name], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    subprocess.run(["keyctl", "invalidate", found.stdout.strip()], check=True)


def test_a_server_renews_only_while_the_unlock_cache_holds_the_vault_key(world: World) -> None:
    # Sessions from the double (its clock stays 3290 s back) are due for renewal 10 s after issue.
    doug = user_with_clock_set_back(world, 3290)
    mfa_process_config(world, doug)
    ttl = {"LATCHKEY_UNLOCK_TTL": "1h"}
    world.ok("exec", "doug", "--", "true", env=ttl)  # unlocks with the passphrase, caches the key
    without_passphrase = {**ttl, "LATCHKEY_FILE_PASSPHRASE": ""}
    with serving(world, "doug", "--ecs", env=without_passphrase) as server:
        # While the kernel holds the key, renewals work.
        first = ecs_get(server)[1]
        deadline = epoch(first["Expiration"]) - 300 + 20
        second = first
        while second["AccessKeyId"] == first["AccessKeyId"] and time.time() < deadline:
            time.sleep(0.5)
            second = ecs_get(server)[1]
        assert second["AccessKeyId"] != first["AccessKeyId"], "no first renewal"
        # Once the cached key is gone, the server has none of its own: it cannot renew.
        forget_cached_vault_key(world)
        due = epoch(second["Expiration"]) - 300
        assert due - time.time() < 60
        while time.time() < due + 20:  # time for a renewal that (wrongly) had a key
            time.sleep(0.5)
        assert ecs_get(server)[1]["AccessKeyId"] == second["AccessKeyId"]
        assert calls(world.endpoint).get("sts:GetSessionToken") == 2
        server.stop()
    assert "the file vault is locked again" in server.stderr and "LATCHKEY_UNLOCK_TTL" in server.stderr
    assert first["SecretAccessKey"] not in server.stderr and second["SecretAccessKey"] not in server.stderr
