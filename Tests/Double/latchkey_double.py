"""A strict AWS double for latchkey's tests: moto's server, patched to behave like real STS/IAM.

What it adds to stock moto (every patch is applied by `install_patches()` and commented there):
real TOTP checks (with one-time use) in GetSessionToken / AssumeRole / EnableMFADevice, real
temporary credentials from GetSessionToken tied to the calling IAM user (with an MFA flag kept
for policy evaluation), expiry of temporary credentials against an adjustable clock,
per-action call counters, fault injection (error XML, raw bodies, delays), policy evaluation with
permissions boundaries and MFA condition keys (double_policy.py), key/MFA lifecycle limits,
GetFederationToken, web identity checks, the sign-in / SSO stubs (double_portals.py), and AWS
Sign-In for developer tools (`aws login`: authorize pages + CreateOAuth2Token, double_signin.py).

Run: python3 Tests/Double/latchkey_double.py --port PORT [-H 127.0.0.1] [--auth]
It prints `ready http://HOST:PORT` once it accepts connections. Admin API: /latchkey-double/...
(see README.md next to this file).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import email.utils
import hmac
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyotp
from moto import settings
from moto.core import serialize as moto_serialize
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.errors import ErrorShape
from moto.core.exceptions import _RESTError
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.core.serialize import never_return
from moto.iam import access_control
from moto.iam.exceptions import IAMException, NotFoundException
from moto.iam.models import User, iam_backends
from moto.iam.responses import IamResponse
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sts import models as sts_models
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend, sts_backends
from moto.sts.responses import TokenResponse
from moto.utilities.utils import get_partition
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

import double_policy
from double_portals import SSO_TOKEN_ENVIRON, Assignment, Portals, Temporary
from double_signin import Directory, Person, SigninService

ADMIN_PREFIX = "/latchkey-double/"
TOTP_STEP = 30
SESSION_DURATION_DEFAULT = 43200
SESSION_DURATION_MIN = 900
SESSION_DURATION_MAX = 129600
ROLE_CHAINING_MAX = 3600
MFA_CODE_INVALID = "MultiFactorAuthentication failed with invalid MFA one time pass code."
XML_NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}


# ---------------------------------------------------------------------------------------------
# Errors: subclasses of moto's client errors, so moto serialises them as AWS error XML.
# `http_status` is honoured by the get_error_model patch (moto's STS model lacks these codes).


class STSAccessDenied(STSClientError):
    code = "AccessDenied"
    http_status = 403


class STSInvalidClientTokenId(STSClientError):
    code = "InvalidClientTokenId"
    http_status = 403
    message = "The security token included in the request is invalid."


class STSValidation(STSClientError):
    code = "ValidationError"
    http_status = 400


class STSMalformedPolicy(STSClientError):
    code = "MalformedPolicyDocument"
    http_status = 400
    message = "The policy is not in the valid JSON format."


class IAMInvalidAuthenticationCode(IAMException):
    code = "InvalidAuthenticationCode"
    http_status = 403
    message = "Authentication code for device is not valid."


class IAMValidation(IAMException):
    code = "ValidationError"
    http_status = 400


# ---------------------------------------------------------------------------------------------
# State


@dataclass
class SessionCredential:
    """Temporary credentials issued by GetSessionToken, tied to one IAM user."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    account_id: str
    partition: str
    user_name: str
    user_id: str
    user_arn: str
    issued_at: datetime.datetime
    expiration: datetime.datetime
    mfa_authenticated: bool  # feeds aws:MultiFactorAuthPresent in policy evaluation
    mfa_serial: str | None
    kind: str = "session"  # "session" (GetSessionToken), "federated" (GetFederationToken), "login" (Sign-In)
    federated_name: str | None = None
    session_policy: str | None = None  # GetFederationToken's Policy: intersected with the user's

    @property
    def arn(self) -> str:
        """The principal's ARN: the user for sessions, the federated user for federation tokens."""
        if self.kind == "federated":
            return f"arn:{self.partition}:sts::{self.account_id}:federated-user/{self.federated_name}"
        return self.user_arn

    def public(self) -> dict[str, Any]:
        """Metadata without the secret or the token, for the admin API."""
        return {
            "kind": self.kind,
            "access_key_id": self.access_key_id,
            "user_arn": self.user_arn,
            "arn": self.arn,
            "issued_at": iso(self.issued_at),
            "expiration": iso(self.expiration),
            "mfa_authenticated": self.mfa_authenticated,
            "mfa_serial": self.mfa_serial,
            "session_policy": self.session_policy,
            "session_policy_arns": STATE.session_policy_arns.get(self.access_key_id, []),
        }


@dataclass
class RoleSessionInfo:
    """What the double knows beyond moto about an AssumeRole session."""

    access_key_id: str
    role_arn: str
    caller_arn: str | None
    mfa_authenticated: bool  # MFA given in this AssumeRole call
    caller_mfa_authenticated: bool  # the caller's own session had MFA (role chaining)

    def public(self) -> dict[str, Any]:
        return {"kind": "role", **self.__dict__}


@dataclass
class Fault:
    action: str
    count: int
    status: int | None = None
    code: str | None = None
    message: str | None = None
    body: str | None = None
    delay: float = 0.0

    def matches(self, service_action: str) -> bool:
        if self.action == "*":
            return True
        if ":" in self.action:
            return self.action.lower() == service_action.lower()
        return self.action.lower() == service_action.split(":", 1)[1].lower()


@dataclass
class Caller:
    """Who signed a request, as far as the double can tell."""

    kind: str  # "user", "session", "role" or "unknown"
    user: User | None = None
    session: SessionCredential | None = None
    arn: str | None = None
    mfa_authenticated: bool = False


class DoubleState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clock_offset = 0.0
            self.sessions: dict[str, SessionCredential] = {}
            self.role_sessions: dict[str, RoleSessionInfo] = {}
            # Managed session policies (PolicyArns) of AssumeRole / AssumeRoleWithWebIdentity sessions.
            self.session_policy_arns: dict[str, list[str]] = {}
            self.used_steps: dict[str, set[int]] = {}
            self.calls: Counter[str] = Counter()
            self.faults: list[Fault] = []
            self.new_key_delay = 0.0  # seconds before a newly created access key authenticates
            self.key_live_at: dict[str, float] = {}

    # Clock: real time plus an offset that tests move forward instead of sleeping.
    def now_epoch(self) -> float:
        return time.time() + self.clock_offset

    def now(self) -> datetime.datetime:
        """Naive UTC datetime, as moto's own models use."""
        aware = datetime.datetime.fromtimestamp(self.now_epoch(), datetime.timezone.utc)
        return aware.replace(tzinfo=None)

    # TOTP with one-time use per device and time step.
    def accept_code(self, serial: str, seed: str, code: str, window: int = 1) -> bool:
        totp = pyotp.TOTP(seed)
        current = int(self.now_epoch() // TOTP_STEP)
        with self.lock:
            used = self.used_steps.setdefault(serial, set())
            for step in range(current - window, current + window + 1):
                if step not in used and hmac.compare_digest(totp.generate_otp(step), code):
                    used.add(step)
                    return True
        return False

    def accept_consecutive_codes(self, serial: str, seed: str, code1: str, code2: str) -> bool:
        totp = pyotp.TOTP(seed)
        current = int(self.now_epoch() // TOTP_STEP)
        with self.lock:
            used = self.used_steps.setdefault(serial, set())
            for step in range(current - 2, current + 1):
                if step in used or step + 1 in used:
                    continue
                first_ok = hmac.compare_digest(totp.generate_otp(step), code1)
                second_ok = hmac.compare_digest(totp.generate_otp(step + 1), code2)
                if first_ok and second_ok:
                    used.update({step, step + 1})
                    return True
        return False

    def unused_code(self, serial: str, seed: str, min_validity: float = 20.0) -> dict[str, Any] | None:
        """An unused code that stays accepted for at least `min_validity` seconds, if any. (5 s was
        too little: on a loaded CI machine 32 processes sometimes reached STS after the code expired.)"""
        totp = pyotp.TOTP(seed)
        now = self.now_epoch()
        current = int(now // TOTP_STEP)
        with self.lock:
            used = self.used_steps.get(serial, set())
            for step in (current + 1, current, current - 1):
                # A step is accepted until the window (current-1..current+1) moves past it.
                still_valid = (step + 2) * TOTP_STEP - now
                if step not in used and still_valid >= min_validity:
                    return {"code": totp.generate_otp(step), "step": step, "valid_for": still_valid}
        return None

    def count_and_take_fault(self, service_action: str) -> Fault | None:
        with self.lock:
            self.calls[service_action] += 1
            for fault in self.faults:
                if fault.matches(service_action):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


STATE = DoubleState()


def iso(value: datetime.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def error_xml(service: str, code: str, message: str, status: int) -> str:
    namespace = XML_NAMESPACES.get(service, XML_NAMESPACES["sts"])
    fault_type = "Receiver" if status >= 500 else "Sender"
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault_type}</Type>'
        f"<Code>{xml_escape(code)}</Code><Message>{xml_escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def error_response(service: str, code: str, message: str, status: int) -> tuple[int, dict[str, str], str]:
    headers = {"Content-Type": "text/xml", "x-amzn-RequestId": str(uuid.uuid4())}
    return status, headers, error_xml(service, code, message, status)


# ---------------------------------------------------------------------------------------------
# Who is calling


def find_access_key(access_key_id: str) -> Any | None:
    """moto's AccessKey of an IAM user (any account), or None."""
    for account in list(iam_backends.values()):
        for backend in list(account.values()):
            key = backend.access_keys.get(access_key_id)
            if key is not None and key.user_name is not None:
                return key
    return None


def key_is_live(access_key_id: str) -> bool:
    """Inactive keys and keys still inside the injected new-key delay do not authenticate."""
    key = find_access_key(access_key_id)
    if key is None:
        return True  # unknown or temporary keys: moto's own checks decide
    with STATE.lock:
        live_at = STATE.key_live_at.get(access_key_id, 0.0)
    return key.status == "Active" and STATE.now_epoch() >= live_at


def find_user(response: BaseResponse, access_key_id: str) -> User | None:
    backend = iam_backends[response.current_account][response.partition]
    user = backend.get_user_from_access_key_id(access_key_id)
    if user is None:
        return None
    return user if key_is_live(access_key_id) else None


def resolve_caller(response: BaseResponse) -> Caller:
    access_key_id = response.get_access_key()
    session = STATE.sessions.get(access_key_id)
    if session is not None:
        backend = iam_backends[session.account_id][session.partition]
        user = backend.users.get(session.user_name)
        return Caller("session", user, session, session.user_arn, session.mfa_authenticated)
    sts_backend = sts_backends[response.current_account][response.partition]
    role = sts_backend.get_assumed_role_from_access_key(access_key_id)
    if role is not None:
        info = STATE.role_sessions.get(access_key_id)
        mfa = info is not None and (info.mfa_authenticated or info.caller_mfa_authenticated)
        return Caller("role", arn=role.arn, mfa_authenticated=mfa)
    user = find_user(response, access_key_id)
    if user is not None:
        return Caller("user", user, arn=user.arn)
    return Caller("unknown")


def validate_token_code(code: str) -> None:
    if len(code) != 6:
        bound = "greater" if len(code) < 6 else "less"
        raise STSValidation(
            f"1 validation error detected: Value '{code}' at 'tokenCode' failed to satisfy "
            f"constraint: Member must have length {bound} than or equal to 6"
        )
    if not re.fullmatch(r"[0-9]{6}", code):
        raise STSValidation(
            f"1 validation error detected: Value '{code}' at 'tokenCode' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\d]*"
        )


def check_mfa(response: BaseResponse, user: User | None, operation: str) -> str | None:
    """Verify SerialNumber + TokenCode when given; returns the serial that passed, or None."""
    serial = response._get_param("SerialNumber")
    code = response._get_param("TokenCode")
    if serial is None and code is None:
        return None
    if code is not None:
        validate_token_code(str(code))
    not_associated = (
        f"{operation} call failed, unable to validate MFA code.  Please verify your MFA "
        "serial number is valid and associated with this user."
    )
    if serial is None or user is None or serial not in user.mfa_devices:
        raise STSAccessDenied(not_associated)
    if code is None:
        raise STSAccessDenied(MFA_CODE_INVALID)
    backend = iam_backends[user.account_id][get_partition(response.region)]
    device = backend.virtual_mfa_devices.get(serial)
    if device is None or not STATE.accept_code(serial, device.base32_string_seed, str(code)):
        raise STSAccessDenied(MFA_CODE_INVALID)
    return serial


# ---------------------------------------------------------------------------------------------
# Replacement handlers


def validate_duration(response: BaseResponse) -> int:
    duration = int(response._get_int_param("DurationSeconds", SESSION_DURATION_DEFAULT))
    if duration < SESSION_DURATION_MIN or duration > SESSION_DURATION_MAX:
        bound = (
            f"greater than or equal to {SESSION_DURATION_MIN}"
            if duration < SESSION_DURATION_MIN
            else f"less than or equal to {SESSION_DURATION_MAX}"
        )
        raise STSValidation(
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
            f"satisfy constraint: Member must have value {bound}"
        )
    return duration


def long_term_caller(response: BaseResponse, operation: str) -> User:
    """The IAM user behind a long-term access key; AWS refuses temporary credentials here."""
    caller = resolve_caller(response)
    if caller.kind in ("session", "role"):
        raise STSAccessDenied(f"Cannot call {operation} with session credentials")
    if caller.user is None:
        raise STSInvalidClientTokenId()
    return caller.user


def issue_temporary(user: User, partition: str, duration: int, **fields: Any) -> SessionCredential:
    """Real temporary credentials tied to `user` (GetSessionToken / GetFederationToken)."""
    backend = iam_backends[user.account_id][partition]
    temp_key = backend.create_temp_access_key()  # registers the key id with moto's account lookup
    now = STATE.now().replace(microsecond=0)  # real AWS sends whole seconds
    session = SessionCredential(
        access_key_id=temp_key.access_key_id,
        secret_access_key=temp_key.secret_access_key,
        session_token=sts_models.random_session_token(),
        account_id=user.account_id,
        partition=partition,
        user_name=user.name,
        user_id=user.id,
        user_arn=user.arn,
        issued_at=now,
        expiration=now + datetime.timedelta(seconds=duration),
        **fields,
    )
    with STATE.lock:
        STATE.sessions[session.access_key_id] = session
    return session


def credentials_of(session: SessionCredential) -> dict[str, Any]:
    return {
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret_access_key,
        "SessionToken": session.session_token,
        "Expiration": session.expiration,
    }


def get_session_token(self: TokenResponse) -> ActionResult:
    duration = validate_duration(self)
    user = long_term_caller(self, "GetSessionToken")
    serial = check_mfa(self, user, "GetSessionToken")
    session = issue_temporary(
        user, self.partition, duration, mfa_authenticated=serial is not None, mfa_serial=serial
    )
    return ActionResult({"Credentials": credentials_of(session)})


FEDERATED_NAME = re.compile(r"[\w+=,.@-]{2,32}")


def get_federation_token(self: TokenResponse) -> ActionResult:
    duration = validate_duration(self)
    name = str(self._get_param("Name") or "")
    if not FEDERATED_NAME.fullmatch(name):
        raise STSValidation(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            "Member must have length between 2 and 32 and match pattern [\\w+=,.@-]*"
        )
    policy = self._get_param("Policy")
    if policy is not None:
        try:
            json.loads(policy)
        except ValueError:
            raise STSMalformedPolicy() from None
    user = long_term_caller(self, "GetFederationToken")
    session = issue_temporary(
        user,
        self.partition,
        duration,
        mfa_authenticated=False,
        mfa_serial=None,
        kind="federated",
        federated_name=name,
        session_policy=policy,
    )
    remember_policy_arns(self, session.access_key_id)
    return ActionResult(
        {
            "Credentials": credentials_of(session),
            "FederatedUser": {"FederatedUserId": f"{user.account_id}:{name}", "Arn": session.arn},
            "PackedPolicySize": min(100, len(policy or "") * 100 // 2048),
        }
    )


_moto_assume_role = TokenResponse.assume_role


def assume_role(self: TokenResponse) -> ActionResult:
    caller = resolve_caller(self)
    duration = int(self._get_int_param("DurationSeconds", 3600))
    if caller.kind in ("session", "role") and duration > ROLE_CHAINING_MAX:
        raise STSValidation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles "
            "assumed by role chaining."
        )
    serial = check_mfa(self, caller.user if caller.kind in ("user", "session") else None, "AssumeRole")
    result = _moto_assume_role(self)
    role = result.result["Credentials"]  # type: ignore[index]
    info = RoleSessionInfo(
        access_key_id=role.access_key_id,
        role_arn=role.role_arn,
        caller_arn=caller.arn,
        mfa_authenticated=serial is not None,
        caller_mfa_authenticated=caller.mfa_authenticated,
    )
    with STATE.lock:
        STATE.role_sessions[role.access_key_id] = info
    remember_policy_arns(self, role.access_key_id)
    return result


def request_policy_arns(response: Any) -> list[str]:
    """`PolicyArns.member.N.arn` of an STS request, in order."""
    parsed = response._get_param("PolicyArns")  # moto's parsed form: [{"arn": ...}, ...]
    if isinstance(parsed, list):
        return [str(item.get("arn") if isinstance(item, dict) else item) for item in parsed]
    arns = []
    index = 1
    while (arn := response.querystring.get(f"PolicyArns.member.{index}.arn")) is not None:
        arns.append(str(arn[0]))
        index += 1
    return arns


def remember_policy_arns(response: Any, access_key_id: str) -> None:
    arns = request_policy_arns(response)
    if len(arns) > 10:
        raise STSValidation("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: "
                            "Member must have length less than or equal to 10")
    if arns:
        with STATE.lock:
            STATE.session_policy_arns[access_key_id] = arns


_aws_managed_documents: dict[str, Any] = {}


def managed_policy_document(account_id: str, partition: str, arn: str) -> Any:
    """A managed session policy's document: the account's own, or AWS's (`arn:PART:iam::aws:policy/NAME`)
    from moto's copy of them; one that does not exist allows nothing."""
    policy = iam_backends[account_id][partition].managed_policies.get(arn)
    if policy is not None:
        return policy_documents([policy])[0]
    name = arn.rsplit("/", 1)[-1]
    if arn == f"arn:{partition}:iam::aws:policy/{name}":
        if not _aws_managed_documents:
            from moto.iam.aws_managed_policies import aws_managed_policies_data

            parsed = json.loads(aws_managed_policies_data)
            _aws_managed_documents.update({key: value["Document"] for key, value in parsed.items()})
        if name in _aws_managed_documents:
            return _aws_managed_documents[name]
    return {"Statement": []}


_moto_get_caller_identity = STSBackend.get_caller_identity


def get_caller_identity(self: STSBackend, access_key_id: str, region: str) -> tuple[str, str, str]:
    session = STATE.sessions.get(access_key_id)
    if session is not None and session.kind == "federated":
        return f"{session.account_id}:{session.federated_name}", session.arn, session.account_id
    if session is not None:
        return session.user_id, session.user_arn, session.account_id
    return _moto_get_caller_identity(self, access_key_id, region)


_moto_enable_mfa_device = IamResponse.enable_mfa_device


def enable_mfa_device(self: IamResponse) -> ActionResult:
    serial = self._get_param("SerialNumber")
    codes = [str(self._get_param(name) or "") for name in ("AuthenticationCode1", "AuthenticationCode2")]
    for index, code in enumerate(codes, start=1):
        if not re.fullmatch(r"[0-9]{6}", code):
            raise IAMValidation(
                f"1 validation error detected: Value '{code}' at 'authenticationCode{index}' "
                "failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]+"
            )
    device = self.backend.virtual_mfa_devices.get(serial)
    if device is None:
        raise NotFoundException(f"VirtualMFADevice with serial number {serial} doesn't exist.")
    user = self.backend.get_user(self._get_param("UserName"))
    if serial not in user.mfa_devices and len(user.mfa_devices) >= MFA_DEVICES_PER_USER:
        raise IAMLimitExceeded(f"Cannot exceed quota for MFADevicesPerUser: {MFA_DEVICES_PER_USER}")
    if not STATE.accept_consecutive_codes(serial, device.base32_string_seed, codes[0], codes[1]):
        raise IAMInvalidAuthenticationCode()
    return _moto_enable_mfa_device(self)


class SessionAccessKey(access_control.IAMUserAccessKey):
    """Signature check and policy source for GetSessionToken / GetFederationToken credentials."""

    def __init__(self, session: SessionCredential, headers: Any) -> None:
        self.session = session
        self.account_id = session.account_id
        self.partition = session.partition
        self._owner_user_name = session.user_name
        self._access_key_id = session.access_key_id
        self._secret_access_key = session.secret_access_key
        self._session_token = session.session_token
        self.mfa_authenticated = session.mfa_authenticated
        if headers.get("X-Amz-Security-Token") != session.session_token:
            raise access_control.CreateAccessKeyFailure(reason="InvalidToken")
        scope = headers.get("Authorization", "").partition("Credential=")[2].split("/")
        service = scope[3] if len(scope) > 3 else ""
        # AWS: GetSessionToken credentials without MFA cannot call IAM at all (console sign-in ones can).
        if service == "iam" and not session.mfa_authenticated and session.kind != "login":
            raise access_control.CreateAccessKeyFailure(reason="InvalidId")

    def create_credentials(self) -> Any:
        return access_control.Credentials(self._access_key_id, self._secret_access_key, self._session_token)


_moto_create_access_key = access_control.create_access_key


def create_access_key(account_id: str, partition: str, access_key_id: str, headers: Any) -> Any:
    session = STATE.sessions.get(access_key_id)
    if session is not None:
        return SessionAccessKey(session, headers)
    if not key_is_live(access_key_id):
        raise access_control.CreateAccessKeyFailure(reason="InvalidId")
    return _moto_create_access_key(account_id, partition, access_key_id, headers)


def expired_credential(response: BaseResponse) -> bool:
    access_key_id = response.get_access_key()
    now = STATE.now()
    session = STATE.sessions.get(access_key_id)
    if session is not None:
        return now >= session.expiration
    if not access_key_id.startswith("ASIA"):
        return False
    role = sts_backends[response.current_account][response.partition].get_assumed_role_from_access_key(
        access_key_id
    )
    return role is not None and now >= role.expiration


_moto_call_action = BaseResponse.call_action


def call_action(self: BaseResponse) -> Any:
    service = self.service_name or ""
    service_action = f"{service}:{self._get_action()}"
    fault = STATE.count_and_take_fault(service_action)
    if fault is not None:
        if fault.delay > 0:
            time.sleep(fault.delay)  # simulates a slow AWS; the client is the one timing out
        if fault.status is not None:
            headers = {"Content-Type": "text/xml", "x-amzn-RequestId": str(uuid.uuid4())}
            if fault.body is not None:
                return fault.status, headers, fault.body
            code = fault.code or "InternalFailure"
            message = fault.message or "Injected fault."
            return error_response(service, code, message, fault.status)
    if expired_credential(self):
        return error_response(service, "ExpiredToken", "The security token included in the request is expired", 403)
    if service == "iam" and service_action.split(":")[1].lower() in USER_RESOURCE_ACTIONS:
        if not self._get_param("UserName"):
            caller = resolve_caller(self)
            if caller.user is not None:  # AWS: UserName defaults to the caller; moto does not always know
                self.params["UserName"] = caller.user.name
    return _moto_call_action(self)


_moto_get_error_model = moto_serialize.get_error_model


def get_error_model(exception: Exception, default_service_model: Any) -> ErrorShape:
    status = getattr(exception, "http_status", None)
    if status is None:
        return _moto_get_error_model(exception, default_service_model)
    code = str(getattr(exception, "code", type(exception).__name__))
    shape_model = {
        "exception": True,
        "type": "structure",
        "members": {},
        "error": {"code": code, "httpStatusCode": status, "senderFault": True},
    }
    return ErrorShape(shape_name=code, shape_model=shape_model)


# ---------------------------------------------------------------------------------------------
# Policy evaluation (double_policy.py): identity policies, permissions boundaries, session
# policies and aws:MultiFactorAuthPresent, replacing moto's IAMRequestBase.check_action_permitted.

# AWS never applies policies to these ("You cannot use policies to control authentication").
POLICY_FREE_ACTIONS = {"sts:getcalleridentity", "sts:getsessiontoken"}
# IAM actions whose resource is a user: UserName, or the caller when it is omitted.
USER_RESOURCE_ACTIONS = {
    name.lower()
    for name in (
        "GetUser UpdateUser DeleteUser ListMFADevices EnableMFADevice DeactivateMFADevice "
        "ResyncMFADevice CreateAccessKey ListAccessKeys UpdateAccessKey DeleteAccessKey ChangePassword "
        "GetLoginProfile CreateLoginProfile UpdateLoginProfile DeleteLoginProfile ListUserPolicies "
        "ListAttachedUserPolicies GetUserPolicy PutUserPolicy DeleteUserPolicy AttachUserPolicy "
        "DetachUserPolicy PutUserPermissionsBoundary DeleteUserPermissionsBoundary ListGroupsForUser "
        "ListSigningCertificates ListSSHPublicKeys ListServiceSpecificCredentials TagUser UntagUser "
        "ListUserTags"
    ).split()
}


class RequestDenied(_RESTError):
    code = 403

    def __init__(self, service: str, principal_arn: str, action: str, resource: str, reason: str) -> None:
        on = f" on resource: {resource}" if resource != "*" else ""
        text = f"User: {principal_arn} is not authorized to perform: {action}{on} {reason}"
        if service == "ec2":
            super().__init__("UnauthorizedOperation", f"You are not authorized to perform this operation. {text}")
        else:
            super().__init__("AccessDenied", text)


class PolicyNotEvaluated(_RESTError):
    code = 500

    def __init__(self, operator: str) -> None:
        super().__init__(
            "InternalFailure",
            f"The latchkey double does not evaluate the condition operator {operator}; extend double_policy.py.",
        )


@dataclass
class Principal:
    """What policy evaluation needs to know about the signer of a request."""

    arn: str
    identity: list[Any]
    boundary: Any | None
    session: list[Any] | None
    context: dict[str, str]
    user: User | None = None
    federated: bool = False


def policy_documents(policies: list[Any]) -> list[Any]:
    """moto's mixed policy objects (managed, inline dicts, strings) as parsed JSON documents."""
    return [access_control.IAMPolicy(policy)._policy_json for policy in policies]


def boundary_document(account_id: str, partition: str, arn: str | None) -> Any | None:
    if not arn:
        return None
    policy = iam_backends[account_id][partition].managed_policies.get(arn)
    # A boundary whose policy was deleted allows nothing, as in AWS.
    return policy_documents([policy])[0] if policy is not None else {"Statement": []}


def base_context(account_id: str, principal_arn: str, principal_type: str) -> dict[str, str]:
    now = STATE.now_epoch()
    return {
        "aws:principalarn": principal_arn,
        "aws:principaltype": principal_type,
        "aws:principalaccount": account_id,
        "aws:viaawsservice": "false",
        "aws:currenttime": iso(datetime.datetime.fromtimestamp(now, datetime.timezone.utc)),
        "aws:epochtime": str(int(now)),
    }


def user_principal(key: access_control.IAMUserAccessKey) -> Principal:
    backend = iam_backends[key.account_id][key.partition]
    user = backend.users[key._owner_user_name]
    identity = policy_documents(key.collect_policies())
    boundary = boundary_document(key.account_id, key.partition, user.permissions_boundary_arn)
    context = base_context(key.account_id, user.arn, "User")
    context.update({"aws:username": user.name, "aws:userid": user.id})
    session: SessionCredential | None = getattr(key, "session", None)
    if session is None:  # long-term key: the MFA keys are absent
        return Principal(user.arn, identity, boundary, None, context, user)
    context["aws:multifactorauthpresent"] = "true" if session.mfa_authenticated else "false"
    context["aws:tokenissuetime"] = iso(session.issued_at)
    if session.mfa_authenticated:
        context["aws:multifactorauthage"] = str(int(STATE.now_epoch() - session.issued_at.timestamp()))
    if session.kind != "federated":
        return Principal(user.arn, identity, boundary, None, context, user)
    context.update(
        {
            "aws:principalarn": session.arn,
            "aws:principaltype": "FederatedUser",
            "aws:userid": f"{session.account_id}:{session.federated_name}",
        }
    )
    del context["aws:username"]
    # Neither Policy nor PolicyArns passed to GetFederationToken: the session has no permissions at all.
    session_policies = [session.session_policy] if session.session_policy else []
    for arn in STATE.session_policy_arns.get(session.access_key_id, []):
        session_policies.append(managed_policy_document(session.account_id, session.partition, arn))
    return Principal(session.arn, identity, boundary, session_policies, context, user, federated=True)


def role_principal(key: access_control.AssumedRoleAccessKey) -> Principal:
    backend = iam_backends[key.account_id][key.partition]
    try:
        role = backend.get_role(key._owner_role_name)
    except NotFoundException:
        role = None  # moto lets callers assume roles that do not exist
    identity = policy_documents(key.collect_policies()) if role is not None else []
    boundary = boundary_document(key.account_id, key.partition, role.permissions_boundary_arn if role else None)
    assumed = sts_backends[key.account_id][key.partition].get_assumed_role_from_access_key(key._access_key_id)
    session_policies = [assumed.policy] if assumed is not None and assumed.policy else []
    # Inline and managed session policies together: the session may do what any of them allows.
    for arn in STATE.session_policy_arns.get(key._access_key_id, []):
        session_policies.append(managed_policy_document(key.account_id, key.partition, arn))
    info = STATE.role_sessions.get(key._access_key_id)
    mfa = info is not None and (info.mfa_authenticated or info.caller_mfa_authenticated)
    missing_role_arn = f"arn:{key.partition}:iam::{key.account_id}:role/{key._owner_role_name}"
    role_arn = role.arn if role is not None else missing_role_arn
    context = base_context(key.account_id, role_arn, "AssumedRole")
    context["aws:userid"] = f"{role.id if role else 'AROA'}:{key._session_name}"
    context["aws:multifactorauthpresent"] = "true" if mfa else "false"
    return Principal(key.arn, identity, boundary, session_policies or None, context)


def request_param(data: Any, name: str) -> str | None:
    value = data.get(name) if hasattr(data, "get") else None
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def request_resource(request: Any, resource: str, principal: Principal) -> str:
    """The ARN IAM checks for the request (moto passes "*" for most IAM actions)."""
    service, _, action = request._action.partition(":")
    partition = get_partition(request._region)
    account = request.account_id
    if request._action.lower() == "sts:getfederationtoken":
        return f"arn:{partition}:sts::{account}:federated-user/{request_param(request._data, 'Name')}"
    if service != "iam" or resource != "*":
        return resource
    action = action.lower()
    backend = iam_backends[account][partition]
    if action == "createvirtualmfadevice":
        path = request_param(request._data, "Path") or "/"
        return f"arn:{partition}:iam::{account}:mfa{path}{request_param(request._data, 'VirtualMFADeviceName')}"
    if action == "deletevirtualmfadevice":
        return request_param(request._data, "SerialNumber") or "*"
    user_name = None
    if action in USER_RESOURCE_ACTIONS:
        user_name = request_param(request._data, "UserName") or (principal.user.name if principal.user else None)
    elif action == "getaccesskeylastused":
        key = find_access_key(request_param(request._data, "AccessKeyId") or "")
        user_name = key.user_name if key is not None else None
    if user_name is None:
        return resource
    user = backend.users.get(user_name)
    return user.arn if user is not None else f"arn:{partition}:iam::{account}:user/{user_name}"


def trust_allows(request: Any, role_arn: str, principal: Principal, context: dict[str, str]) -> bool:
    """The role's trust policy, with principal matching and real condition semantics."""
    backend = iam_backends[request.account_id][get_partition(request._region)]
    try:
        role = backend.get_role_by_arn(role_arn)
    except NotFoundException:
        return True  # moto's leniency for roles that do not exist (e.g. other accounts) is kept
    account = request.account_id
    names = {principal.arn, f"arn:aws:iam::{account}:root", account, "*"}
    if principal.context.get("aws:principaltype") == "AssumedRole":
        names.add(principal.context["aws:principalarn"])  # a role ARN names its sessions too
    trusted = []
    for statement in json.loads(role.assume_role_policy_document).get("Statement", []):
        named = statement.get("Principal", {})
        named = named.get("AWS", []) if isinstance(named, dict) else named
        if names & set(named if isinstance(named, list) else [named]):
            trusted.append(statement)
    effect = double_policy.policy_set_effect([{"Statement": trusted}], request._action, role_arn, context)
    return effect is double_policy.Effect.ALLOW


def check_action_permitted(self: Any, resource: str) -> None:
    if self._action.lower() in POLICY_FREE_ACTIONS:
        return
    key = self._access_key
    principal = user_principal(key) if isinstance(key, access_control.IAMUserAccessKey) else role_principal(key)
    # AWS: federated users may call no STS operation but GetCallerIdentity.
    if principal.federated and self._service == "sts":
        raise RequestDenied(self._service, principal.arn, self._action, "*", "because no session policy allows it")
    context = dict(principal.context)
    if self._action.lower() == "sts:assumerole":
        external_id = request_param(self._data, "ExternalId")
        if external_id is not None:
            context["sts:externalid"] = external_id
        if request_param(self._data, "SerialNumber") and request_param(self._data, "TokenCode"):
            context["aws:multifactorauthpresent"] = "true"  # the code itself is checked by the handler
    resource = request_resource(self, resource, principal)
    try:
        decision = double_policy.evaluate(
            self._action, resource, context, principal.identity, principal.boundary, principal.session
        )
        trusted = self._action.lower() != "sts:assumerole" or trust_allows(self, resource, principal, context)
    except double_policy.UnsupportedPolicy as error:
        raise PolicyNotEvaluated(str(error)) from None
    if not decision.allowed or not trusted:
        if isinstance(self, access_control.S3IAMRequest):
            self._raise_access_denied()
        reason = decision.reason or "because the role's trust policy does not allow it"
        raise RequestDenied(self._service, principal.arn, self._action, resource, reason)


# ---------------------------------------------------------------------------------------------
# IAM: permissions boundaries on users, MFA device limits, access key lifecycle


MFA_DEVICES_PER_USER = 8


class IAMLimitExceeded(IAMException):
    code = "LimitExceeded"
    http_status = 409


class IAMDeleteConflict(IAMException):
    code = "DeleteConflict"
    http_status = 409


def user_permissions_boundary(self: User) -> dict[str, str] | None:
    arn = self.permissions_boundary_arn
    return {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn} if arn else None


def put_user_permissions_boundary(self: IamResponse) -> ActionResult:
    user = self.backend.get_user(self._get_param("UserName"))
    arn = str(self._get_param("PermissionsBoundary") or "")
    if arn not in self.backend.managed_policies:
        raise NotFoundException(f"Policy {arn} does not exist or is not attachable.")
    user.permissions_boundary_arn = arn
    return EmptyResult()


def delete_user_permissions_boundary(self: IamResponse) -> ActionResult:
    self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = None
    return EmptyResult()


_moto_delete_virtual_mfa_device = IamResponse.delete_virtual_mfa_device


def delete_virtual_mfa_device(self: IamResponse) -> ActionResult:
    device = self.backend.virtual_mfa_devices.get(self._get_param("SerialNumber"))
    if device is not None and device.user is not None:
        raise IAMDeleteConflict("MFA Device is still in use")
    return _moto_delete_virtual_mfa_device(self)


_moto_iam_create_access_key = IamResponse.create_access_key


def iam_create_access_key(self: IamResponse) -> ActionResult:
    result = _moto_iam_create_access_key(self)
    key = result.result["AccessKey"]  # type: ignore[index]
    with STATE.lock:
        STATE.key_live_at[key.access_key_id] = STATE.now_epoch() + STATE.new_key_delay
    return result


# ---------------------------------------------------------------------------------------------
# STS: AssumeRoleWithWebIdentity (unsigned; the JWT is checked for shape, expiry and trust)

UNSIGNED_STS_ACTIONS = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}
_moto_authenticate = BaseResponse._authenticate_and_authorize_normal_action


def sts_authenticate(self: TokenResponse, resource: str = "*") -> None:
    if self._get_action() in UNSIGNED_STS_ACTIONS:
        return  # AWS takes these unsigned: the token or assertion is the credential
    _moto_authenticate(self, resource)


class STSInvalidIdentityToken(STSClientError):
    code = "InvalidIdentityToken"
    http_status = 400


class STSExpiredWebToken(STSClientError):
    code = "ExpiredTokenException"
    http_status = 400


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT; its signature is not verified (the double has no issuer keys)."""
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError(token)
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        if not isinstance(claims, dict):
            raise ValueError(token)
    except ValueError:
        raise STSInvalidIdentityToken("The ID Token provided is not a valid JWT.") from None
    missing = [claim for claim in ("iss", "sub", "aud", "exp") if claim not in claims]
    if missing:
        raise STSInvalidIdentityToken(f"The ID Token is missing the claim {missing[0]}.")
    return claims


_moto_assume_role_with_web_identity = TokenResponse.assume_role_with_web_identity


def assume_role_with_web_identity(self: TokenResponse) -> ActionResult:
    claims = jwt_claims(str(self._get_param("WebIdentityToken") or ""))
    now = int(STATE.now_epoch())
    if float(claims["exp"]) <= now:
        raise STSExpiredWebToken(
            f"Token expired: current date/time {now} must be before the expiration date/time {int(claims['exp'])}"
        )
    role_arn = str(self._get_param("RoleArn") or "")
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else self.current_account
    issuer = str(claims["iss"]).removeprefix("https://")
    audience = claims["aud"][0] if isinstance(claims["aud"], list) else str(claims["aud"])
    context = {f"{issuer}:sub".lower(): str(claims["sub"]), f"{issuer}:aud".lower(): audience}
    providers = {issuer, f"arn:{self.partition}:iam::{account}:oidc-provider/{issuer}"}
    try:
        role = iam_backends[account][self.partition].get_role_by_arn(role_arn)
    except NotFoundException:
        raise STSAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity") from None
    trusted = []
    for statement in json.loads(role.assume_role_policy_document).get("Statement", []):
        named = statement.get("Principal", {})
        federated = named.get("Federated", []) if isinstance(named, dict) else []
        if providers & set(federated if isinstance(federated, list) else [federated]):
            trusted.append(statement)
    effect = double_policy.policy_set_effect(
        [{"Statement": trusted}], "sts:AssumeRoleWithWebIdentity", role_arn, context
    )
    if effect is not double_policy.Effect.ALLOW:
        raise STSAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    result = _moto_assume_role_with_web_identity(self)
    payload = result.result  # type: ignore[union-attr]
    remember_policy_arns(self, payload["Credentials"].access_key_id)
    payload.update({"SubjectFromWebIdentityToken": str(claims["sub"]), "Provider": issuer, "Audience": audience})
    return result


# ---------------------------------------------------------------------------------------------
# Sign-in federation and IAM Identity Center stubs (double_portals.py), tied to moto's state

SSO_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": "sso.amazonaws.com"}, "Action": "sts:AssumeRoleWithSAML"}
    ],
}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def epoch_of(naive_utc: datetime.datetime) -> float:
    return naive_utc.replace(tzinfo=datetime.timezone.utc).timestamp()


def lookup_temporary(access_key_id: str) -> Temporary | None:
    session = STATE.sessions.get(access_key_id)
    if session is not None:
        return Temporary(
            session.kind, session.secret_access_key, session.session_token, epoch_of(session.expiration), session.arn
        )
    for account in list(sts_backends.values()):
        for backend in list(account.values()):
            role = backend.get_assumed_role_from_access_key(access_key_id)
            if role is not None:
                expiration = epoch_of(role.expiration)
                return Temporary("role", role.secret_access_key, role.session_token, expiration, role.arn)
    return None


def issue_role_credentials(account_id: str, role_name: str, session_name: str, duration: int) -> dict[str, Any]:
    """GetRoleCredentials: a real AssumeRole session of the assigned role (usable with auth on)."""
    role = sts_backends[account_id]["aws"].assume_role(
        region_name="us-east-1",
        role_session_name=session_name,
        role_arn=f"arn:aws:iam::{account_id}:role/{role_name}",
        policy=None,
        duration=duration,
        external_id=None,
    )
    return {
        "accessKeyId": role.access_key_id,
        "secretAccessKey": role.secret_access_key,
        "sessionToken": role.session_token,
        "expiration": int(epoch_of(role.expiration) * 1000),  # the SSO portal sends epoch milliseconds
    }


def add_sso_assignment(body: dict[str, Any]) -> Assignment:
    """Registers an account + role for the SSO user, creating the IAM role if it is missing."""
    assignment = Assignment(
        account_id=str(body.get("account_id", "123456789012")),
        role_name=str(body["role_name"]),
        account_name=str(body.get("account_name", "latchkey-test")),
        email_address=str(body.get("email_address", "aws@example.com")),
    )
    backend = iam_backends[assignment.account_id]["aws"]
    if assignment.role_name not in {role.name for role in backend.roles.values()}:
        backend.create_role(assignment.role_name, json.dumps(SSO_TRUST_POLICY), "/", None, "", [], None)
        backend.put_role_policy(assignment.role_name, "sso-permission-set", json.dumps(body.get("policy", ALLOW_ALL)))
    PORTALS.assign(assignment)
    return assignment


PORTALS = Portals(STATE.now_epoch, lookup_temporary, issue_role_credentials)


# ---------------------------------------------------------------------------------------------
# AWS Sign-In for developer tools (double_signin.py): console users of moto's IAM


def signin_person(user: User, partition: str) -> Person:
    backend = iam_backends[user.account_id][partition]
    mfa = None
    for serial in user.mfa_devices:
        device = backend.virtual_mfa_devices.get(serial)
        if device is not None:
            mfa = (serial, str(device.base32_string_seed))
            break
    return Person(user.account_id, partition, user.name, user.arn, user.password, mfa)


def signin_find_user(account_id: str, user_name: str) -> Person | None:
    for account in list(iam_backends.keys()):
        if account_id and account != account_id:
            continue
        for partition in ("aws", "aws-cn", "aws-us-gov"):
            try:
                user = iam_backends[account][partition].users.get(user_name)
            except KeyError:
                continue
            if user is not None:
                return signin_person(user, partition)
    return None


def signin_unused_code(serial: str, seed: str) -> str | None:
    code = STATE.unused_code(serial, seed)
    return None if code is None else str(code["code"])


def signin_issue_credentials(person: Person, mfa: bool) -> dict[str, Any]:
    user = iam_backends[person.account_id][person.partition].users[person.user_name]
    serial = person.mfa[0] if mfa and person.mfa else None
    session = issue_temporary(user, person.partition, 900, mfa_authenticated=mfa, mfa_serial=serial, kind="login")
    return {
        "accessKeyId": session.access_key_id,
        "secretAccessKey": session.secret_access_key,
        "sessionToken": session.session_token,
    }


class _PolicyHolder(access_control.IAMUserAccessKey):
    """moto's policy collection for a user that may have no access key at all."""

    def __init__(self, account_id: str, partition: str, user_name: str) -> None:  # noqa: D107
        self.account_id, self.partition, self._owner_user_name = account_id, partition, user_name


def signin_may_create_token(person: Person, mfa: bool, resource: str) -> bool:
    backend = iam_backends[person.account_id][person.partition]
    user = backend.users[person.user_name]
    identity = policy_documents(_PolicyHolder(person.account_id, person.partition, person.user_name).collect_policies())
    boundary = boundary_document(person.account_id, person.partition, user.permissions_boundary_arn)
    context = base_context(person.account_id, user.arn, "User")
    context.update({"aws:username": user.name, "aws:userid": user.id})
    context["aws:multifactorauthpresent"] = "true" if mfa else "false"
    decision = double_policy.evaluate("signin:CreateOAuth2Token", resource, context, identity, boundary)
    return decision.allowed


SIGNIN = SigninService(
    STATE.now_epoch,
    Directory(
        find_user=signin_find_user,
        accept_code=STATE.accept_code,
        unused_code=signin_unused_code,
        issue_credentials=signin_issue_credentials,
        may_create_token=signin_may_create_token,
        take_fault=STATE.count_and_take_fault,
    ),
)


def install_patches() -> None:
    # STS: real credentials for GetSessionToken, tied to the user and checked against MFA.
    TokenResponse.get_session_token = get_session_token  # type: ignore[method-assign]
    # STS: MFA check, role-chaining duration cap and MFA bookkeeping around moto's AssumeRole.
    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
    # STS: GetCallerIdentity with session credentials answers as the IAM user.
    STSBackend.get_caller_identity = get_caller_identity  # type: ignore[method-assign]
    # STS: role expirations follow the double's adjustable clock.
    sts_models.utcnow = STATE.now  # type: ignore[attr-defined]
    # IAM: EnableMFADevice needs two consecutive valid codes.
    IamResponse.enable_mfa_device = enable_mfa_device  # type: ignore[method-assign]
    # Signature checking: session credentials verify with their own secret + token.
    access_control.create_access_key = create_access_key
    # Policy evaluation: boundaries, session policies, MFA condition keys, ${aws:username}.
    access_control.IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]
    # STS: GetFederationToken issues real credentials for a federated user of the caller.
    TokenResponse.get_federation_token = get_federation_token  # type: ignore[method-assign]
    # STS: web identity is unsigned and checks the JWT's expiry and the role's trust policy.
    TokenResponse._authenticate_and_authorize_normal_action = sts_authenticate  # type: ignore[method-assign]
    TokenResponse.assume_role_with_web_identity = assume_role_with_web_identity  # type: ignore[method-assign]
    # IAM: user permissions boundaries (stock moto answers 500), shown by GetUser only.
    User.permissions_boundary_arn = None  # type: ignore[attr-defined]
    User.permissions_boundary = property(user_permissions_boundary)  # type: ignore[attr-defined]
    IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER["ListUsersResponse.Users.User.PermissionsBoundary"] = never_return
    IamResponse.put_user_permissions_boundary = put_user_permissions_boundary  # type: ignore[attr-defined]
    IamResponse.delete_user_permissions_boundary = delete_user_permissions_boundary  # type: ignore[attr-defined]
    # IAM: an enabled MFA device cannot be deleted.
    IamResponse.delete_virtual_mfa_device = delete_virtual_mfa_device  # type: ignore[method-assign]
    # IAM: new access keys may start authenticating late (injected eventual consistency).
    IamResponse.create_access_key = iam_create_access_key  # type: ignore[method-assign]
    # Every action: call counters, injected faults, expired temporary credentials.
    BaseResponse.call_action = call_action  # type: ignore[method-assign]
    # Error serialisation: our errors carry their HTTP status (403 AccessDenied etc.).
    moto_serialize.get_error_model = get_error_model


# ---------------------------------------------------------------------------------------------
# Admin API


def set_auth(enabled: bool) -> None:
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if enabled else float("inf")  # type: ignore[assignment]
    ActionAuthenticatorMixin.request_count = 0


def auth_enabled() -> bool:
    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


def find_device_seed(serial: str) -> str | None:
    for account in list(iam_backends.values()):
        for partition in ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"):
            try:
                device = account[partition].virtual_mfa_devices.get(serial)
            except KeyError:
                continue
            if device is not None:
                return str(device.base32_string_seed)
    return None


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def admin(request: Request) -> Response:
    route = request.path[len(ADMIN_PREFIX) :].strip("/")
    method = request.method
    body = request.get_json(silent=True) or {}
    if route == "health":
        return json_response({"ok": True})
    if route == "reset" and method == "POST":
        moto_api_backend.reset()
        STATE.reset()
        PORTALS.reset()
        SIGNIN.reset()
        set_auth(bool(body.get("auth", False)))
        return json_response({"ok": True})
    if route == "auth":
        if method == "POST":
            set_auth(bool(body.get("enabled", True)))
        return json_response({"enabled": auth_enabled()})
    if route == "calls" and method == "GET":
        with STATE.lock:
            return json_response(dict(STATE.calls))
    if route == "calls/reset" and method == "POST":
        with STATE.lock:
            STATE.calls.clear()
        return json_response({"ok": True})
    if route == "faults":
        if method == "POST":
            try:
                fault = Fault(
                    action=str(body["action"]),
                    count=int(body.get("count", 1)),
                    status=int(body["status"]) if "status" in body else None,
                    code=body.get("code"),
                    message=body.get("message"),
                    body=body.get("body"),
                    delay=float(body.get("delay", 0.0)),
                )
            except (KeyError, TypeError, ValueError) as error:
                return json_response({"error": f"bad fault: {error!r}"}, 400)
            with STATE.lock:
                STATE.faults.append(fault)
        with STATE.lock:
            return json_response([fault.__dict__ for fault in STATE.faults])
    if route == "faults/reset" and method == "POST":
        with STATE.lock:
            STATE.faults.clear()
        return json_response({"ok": True})
    if route == "clock":
        if method == "POST":
            with STATE.lock:
                if "offset" in body:
                    STATE.clock_offset = float(body["offset"])
                STATE.clock_offset += float(body.get("advance", 0.0))
        return json_response({"now": STATE.now_epoch(), "offset": STATE.clock_offset})
    if route == "sessions" and method == "GET":
        with STATE.lock:
            sessions = [s.public() for s in STATE.sessions.values()]
            roles = [r.public() for r in STATE.role_sessions.values()]
        return json_response(sessions + roles)
    if route == "iam/new-key-delay":
        if method == "POST":
            with STATE.lock:
                STATE.new_key_delay = float(body.get("seconds", 0.0))
        return json_response({"seconds": STATE.new_key_delay})
    if route == "sso/approve" and method == "POST":
        if not PORTALS.approve(str(body.get("user_code", "")), deny=bool(body.get("deny", False))):
            return json_response({"error": "no pending device authorization with that user_code"}, 404)
        return json_response({"ok": True})
    if route == "sso/assignments":
        if method == "DELETE":
            if not PORTALS.unassign(str(body.get("account_id", "123456789012")), str(body.get("role_name", ""))):
                return json_response({"error": "no such assignment"}, 404)
        if method == "POST":
            try:
                add_sso_assignment(body)
            except KeyError:
                return json_response({"error": "role_name is required"}, 400)
        return json_response(PORTALS.public())
    if route == "signin":
        return json_response(SIGNIN.public())
    if route == "signin/autofill" and method == "POST":
        SIGNIN.set_autofill(body or None)
        return json_response(SIGNIN.public())
    if route == "signin/next-code" and method == "POST":
        try:
            SIGNIN.spoil_next_code(body.get("spoil"))
        except ValueError as error:
            return json_response({"error": str(error)}, 400)
        return json_response(SIGNIN.public())
    if route == "signin/expires-in" and method == "POST":
        try:
            SIGNIN.set_expires_in(body.get("seconds"))
        except ValueError as error:
            return json_response({"error": str(error)}, 400)
        return json_response(SIGNIN.public())
    if route == "signin/revoke" and method == "POST":
        return json_response({"revoked": SIGNIN.revoke(str(body.get("user_name", "")))})
    if route == "mfa/code" and method == "POST":
        serial = str(body.get("serial", ""))
        seed = find_device_seed(serial)
        if seed is None:
            return json_response({"error": f"no virtual MFA device {serial}"}, 404)
        code = STATE.unused_code(serial, seed)
        if code is None:
            return json_response({"error": "every code valid now was used; advance the clock 30 s"}, 409)
        return json_response(code)
    return json_response({"error": f"unknown admin route {method} {request.path}"}, 404)


class DoubleApp:
    """WSGI app: the admin API under /latchkey-double/, the portal stubs, moto for everything else."""

    def __init__(self) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIX):
            return admin(Request(environ))(environ, start_response)
        if PORTALS.handles(path):
            return PORTALS(Request(environ))(environ, start_response)
        if SIGNIN.handles(path):
            return SIGNIN(Request(environ))(environ, start_response)
        return self.moto(environ, start_response)


class DoubleRequestHandler(WSGIRequestHandler):
    def date_time_string(self, timestamp: float | None = None) -> str:
        # AWS's Date header tells its time (clients measure their clock skew by it): the double's clock.
        return email.utils.formatdate(STATE.now_epoch(), usegmt=True)

    def make_environ(self) -> Any:
        environ = super().make_environ()
        token = self.headers.get("x-amz-sso_bearer_token")
        if token is not None:
            environ[SSO_TOKEN_ENVIRON] = token  # werkzeug drops headers with underscores; the SSO portal uses one
        return environ


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Strict AWS double for latchkey tests.")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--auth", action="store_true", help="start with signature checking on")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines on stderr")
    args = parser.parse_args(argv)
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    install_patches()
    if args.auth or "INITIAL_NO_AUTH_ACTION_COUNT" not in os.environ:
        set_auth(args.auth)  # otherwise moto's own INITIAL_NO_AUTH_ACTION_COUNT applies
    server = make_server(args.host, args.port, DoubleApp(), threaded=True, request_handler=DoubleRequestHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.environ.setdefault("MOTO_PORT", str(server.server_port))  # moto builds some URLs from it
    print(f"ready http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
