"""Helpers to run the latchkey AWS double from tests: start/stop, admin calls, users with MFA."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyotp
import pytest
from botocore.config import Config

DOUBLE_SCRIPT = Path(__file__).resolve().parent / "latchkey_double.py"
REGION = "us-east-1"
# Any syntactically valid pair works while signature checking is off (set-up calls).
SETUP_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SETUP_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
ALLOW_ALL_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class DoubleServer:
    """The double as a subprocess on a free loopback port; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", auth: bool = False, start_timeout: float = 30.0) -> None:
        self.host = host
        self.auth = auth
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def start(self) -> DoubleServer:
        command = [sys.executable, str(DOUBLE_SCRIPT), "-H", self.host, "--port", "0", "--quiet"]
        if self.auth:
            command.append("--auth")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self._read_ready_line()
        self.endpoint = line.split(" ", 1)[1].strip()
        return self

    def _read_ready_line(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        stdout = self.process.stdout
        lines: list[str] = []
        # A thread, so a double that never answers cannot hang the test run.
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        if not lines or not lines[0].startswith("ready "):
            self.stop()
            raise RuntimeError(f"the AWS double did not start within {self.start_timeout} s (got {lines!r})")
        return lines[0]

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def __enter__(self) -> DoubleServer:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()


@contextlib.contextmanager
def running_double(auth: bool = False) -> Iterator[str]:
    """Yields the endpoint URL of a freshly started double; stops it afterwards."""
    with DoubleServer(auth=auth) as server:
        yield server.endpoint


@pytest.fixture(scope="session")
def double_server() -> Iterator[DoubleServer]:
    """One double process for the whole pytest session."""
    with DoubleServer() as server:
        yield server


@pytest.fixture
def double(double_server: DoubleServer) -> str:
    """The endpoint of the session's double, reset (state, counters, faults, clock, auth off)."""
    reset(double_server.endpoint)
    return double_server.endpoint


# --- admin API ---------------------------------------------------------------------------------


def admin(endpoint: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{endpoint}/latchkey-double/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def reset(endpoint: str) -> None:
    admin(endpoint, "POST", "reset", {})


def set_auth(endpoint: str, enabled: bool) -> None:
    admin(endpoint, "POST", "auth", {"enabled": enabled})


def calls(endpoint: str) -> dict[str, int]:
    return admin(endpoint, "GET", "calls")


def reset_calls(endpoint: str) -> None:
    admin(endpoint, "POST", "calls/reset", {})


def add_fault(endpoint: str, action: str, count: int = 1, **fields: Any) -> None:
    """fields: status, code, message (error XML), body (raw body), delay (seconds)."""
    admin(endpoint, "POST", "faults", {"action": action, "count": count, **fields})


def double_now(endpoint: str) -> float:
    """The double's clock (epoch seconds); differs from time.time() once advanced."""
    return float(admin(endpoint, "GET", "clock")["now"])


def advance_clock(endpoint: str, seconds: float) -> float:
    return float(admin(endpoint, "POST", "clock", {"advance": seconds})["now"])


def sessions(endpoint: str) -> list[dict[str, Any]]:
    """Metadata of issued temporary credentials (no secrets): kind, access_key_id, mfa flags..."""
    return admin(endpoint, "GET", "sessions")


def totp(seed: str, at: float | None = None) -> str:
    """The TOTP code for `seed` at epoch `at` (default: now on the wall clock)."""
    return pyotp.TOTP(seed).at(time.time() if at is None else at)


def wrong_code(seed: str, at: float) -> str:
    """A well-formed code that no step in the accepted window (at-30 .. at+30) produces."""
    valid = {totp(seed, at + offset) for offset in (-30, 0, 30)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


def next_unused_code(endpoint: str, serial: str, advance: bool = True) -> str:
    """A code the double accepts now; moves the double's clock 30 s on if all are used."""
    try:
        return str(admin(endpoint, "POST", "mfa/code", {"serial": serial})["code"])
    except urllib.error.HTTPError as error:
        if error.code != 409 or not advance:
            raise
    advance_clock(endpoint, 30)
    return str(admin(endpoint, "POST", "mfa/code", {"serial": serial})["code"])


# --- AWS clients and set-up --------------------------------------------------------------------


def client(
    endpoint: str,
    service: str,
    access_key_id: str = SETUP_ACCESS_KEY_ID,
    secret_access_key: str = SETUP_SECRET,
    session_token: str | None = None,
    validate: bool = True,
    read_timeout: float = 60,
) -> Any:
    """A boto3 client for the double (no retries); validate=False lets malformed parameters reach it."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        config=Config(
            parameter_validation=validate,
            read_timeout=read_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
        ),
    )


def create_user(endpoint: str, name: str, enable_auth: bool = True) -> dict[str, str]:
    """User + access key + allow-all policy, no MFA device; then auth on unless told otherwise."""
    set_auth(endpoint, False)
    iam = client(endpoint, "iam")
    user = iam.create_user(UserName=name)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    policy = iam.create_policy(PolicyName=f"{name}-allow-all", PolicyDocument=json.dumps(ALLOW_ALL_POLICY))
    iam.attach_user_policy(UserName=name, PolicyArn=policy["Policy"]["Arn"])
    if enable_auth:
        set_auth(endpoint, True)
    return {
        "user_name": name,
        "arn": user["Arn"],
        "user_id": user["UserId"],
        "account_id": user["Arn"].split(":")[4],
        "access_key_id": key["AccessKeyId"],
        "secret_access_key": key["SecretAccessKey"],
    }


def access_key_ids(endpoint: str, user_name: str) -> list[str]:
    """The user's access key ids as IAM has them (asked with signature checking off, as an admin)."""
    set_auth(endpoint, False)
    try:
        keys = client(endpoint, "iam").list_access_keys(UserName=user_name)["AccessKeyMetadata"]
        return sorted(k["AccessKeyId"] for k in keys)
    finally:
        set_auth(endpoint, True)


def create_mfa_user(endpoint: str, name: str, enable_auth: bool = True) -> dict[str, str]:
    """User + access key + allow-all policy + enabled virtual MFA device; then auth on.

    Enabling uses the codes of two consecutive steps (now, now+30 s on the double's clock),
    which are then used: take later codes from next_unused_code().
    """
    user = create_user(endpoint, name, enable_auth=False)
    iam = client(endpoint, "iam")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    seed = seed.decode() if isinstance(seed, bytes) else seed
    now = double_now(endpoint)
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp(seed, now),
        AuthenticationCode2=totp(seed, now + 30),
    )
    if enable_auth:
        set_auth(endpoint, True)
    return {**user, "mfa_serial": device["SerialNumber"], "mfa_seed": seed}


def create_console_user(endpoint: str, name: str, password: str, mfa: bool = False) -> dict[str, str]:
    """A user (with MFA device when `mfa`) and a console password (login profile); then auth on.

    The double's Sign-In service (`/v1/authorize`) signs this user in with `password` (and, when the
    user has an MFA device, a TOTP code as the console asks for one).
    """
    user = (create_mfa_user if mfa else create_user)(endpoint, name, enable_auth=False)
    client(endpoint, "iam").create_login_profile(UserName=name, Password=password)
    set_auth(endpoint, True)
    return {**user, "password": password}


def signin_autofill(endpoint: str, user_name: str | None, password: str = "", **fields: Any) -> None:
    """Makes the Sign-In pages fill in and submit themselves (for headless browsers); None turns it off.

    fields: `mfa` ("auto": an unused code of the user's device, or a code), `deny` (press Cancel), `account`.
    """
    body = None if user_name is None else {"user_name": user_name, "password": password, **fields}
    admin(endpoint, "POST", "signin/autofill", body)


def create_role(endpoint: str, name: str, trusted_arn: str) -> str:
    """A role trusting `trusted_arn`, with an allow-all policy; returns its ARN. Needs auth off."""
    statement = {"Effect": "Allow", "Principal": {"AWS": trusted_arn}, "Action": "sts:AssumeRole"}
    trust = {"Version": "2012-10-17", "Statement": [statement]}
    iam = client(endpoint, "iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="allow-all", PolicyDocument=json.dumps(ALLOW_ALL_POLICY))
    return str(role["Arn"])


def env_for(endpoint: str, credentials: dict[str, str]) -> dict[str, str]:
    """Environment for a child process (e.g. the aws CLI) talking to the double."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    if credentials.get("SessionToken"):
        env["AWS_SESSION_TOKEN"] = credentials["SessionToken"]
    return env


# --- policies, key rotation, federation, SSO, web identity -------------------------------------

# A permissions boundary: everything only with MFA; without MFA, only managing one's own MFA
# device and reading one's own user (what `latchkey mfa enroll` needs before MFA exists).
MFA_BOUNDARY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowAllWithMFA",
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
        {
            "Sid": "OwnVirtualMFADevice",
            "Effect": "Allow",
            "Action": ["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"],
            "Resource": "arn:aws:iam::*:mfa/${aws:username}",
        },
        {
            "Sid": "OwnUserAndMFA",
            "Effect": "Allow",
            "Action": ["iam:GetUser", "iam:EnableMFADevice", "iam:ListMFADevices", "iam:ResyncMFADevice"],
            "Resource": "arn:aws:iam::*:user/${aws:username}",
        },
        {"Sid": "ListDevices", "Effect": "Allow", "Action": "iam:ListVirtualMFADevices", "Resource": "*"},
    ],
}


def put_boundary(endpoint: str, user_name: str, document: dict[str, Any], policy_name: str = "boundary") -> str:
    """Creates a managed policy and sets it as the user's permissions boundary; needs auth off."""
    iam = client(endpoint, "iam")
    arn = str(iam.create_policy(PolicyName=policy_name, PolicyDocument=json.dumps(document))["Policy"]["Arn"])
    iam.put_user_permissions_boundary(UserName=user_name, PermissionsBoundary=arn)
    return arn


def set_new_key_delay(endpoint: str, seconds: float) -> None:
    """Access keys created from now on authenticate only `seconds` later on the double's clock."""
    admin(endpoint, "POST", "iam/new-key-delay", {"seconds": seconds})


def sso_assign(endpoint: str, role_name: str, account_id: str = "123456789012", **fields: Any) -> dict[str, Any]:
    """Gives the SSO user `role_name` in `account_id` (role created with `policy`, default allow-all)."""
    return admin(endpoint, "POST", "sso/assignments", {"role_name": role_name, "account_id": account_id, **fields})


def sso_unassign(endpoint: str, role_name: str, account_id: str = "123456789012") -> dict[str, Any]:
    """Takes `role_name` in `account_id` away from the SSO user (the IAM role stays)."""
    return admin(endpoint, "DELETE", "sso/assignments", {"role_name": role_name, "account_id": account_id})


def sso_approve(endpoint: str, user_code: str, deny: bool = False) -> None:
    """Approves (or denies) a device authorization as the person in the browser would."""
    admin(endpoint, "POST", "sso/approve", {"user_code": user_code, "deny": deny})


def web_identity_token(issuer: str, subject: str, audience: str, expires_at: float) -> str:
    """An unsigned JWT with the claims the double checks (iss, sub, aud, exp)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": issuer, "sub": subject, "aud": audience, "exp": int(expires_at), "iat": int(expires_at) - 3600}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"
