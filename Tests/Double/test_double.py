"""Tests of the latchkey AWS double itself, through boto3, raw signed HTTP and the real aws CLI."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ReadTimeoutError
from double_fixtures import (
    REGION,
    add_fault,
    advance_clock,
    calls,
    client,
    create_mfa_user,
    create_role,
    double_now,
    env_for,
    next_unused_code,
    reset_calls,
    sessions,
    set_auth,
    totp,
    wrong_code,
)

MFA_INVALID = "MultiFactorAuthentication failed with invalid MFA one time pass code."


def user_sts(endpoint: str, user: dict[str, str], **kwargs: Any) -> Any:
    return client(endpoint, "sts", user["access_key_id"], user["secret_access_key"], **kwargs)


def session_client(endpoint: str, service: str, credentials: dict[str, Any]) -> Any:
    return client(
        endpoint, service, credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )


def mfa_session(endpoint: str, user: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    code = next_unused_code(endpoint, user["mfa_serial"])
    response = user_sts(endpoint, user).get_session_token(SerialNumber=user["mfa_serial"], TokenCode=code, **kwargs)
    return response["Credentials"]


def error_of(call: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def signed_post(endpoint: str, service: str, params: dict[str, str], user: dict[str, str]) -> tuple[int, str]:
    """A SigV4-signed Query API call, returning the raw status and body (to check the XML itself)."""
    body = urllib.parse.urlencode(params)
    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(user["access_key_id"], user["secret_access_key"]), service, REGION).add_auth(request)
    prepared = urllib.request.Request(endpoint + "/", data=body.encode(), headers=dict(request.headers), method="POST")
    try:
        with urllib.request.urlopen(prepared, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# --- MFA codes ---------------------------------------------------------------------------------


def test_wrong_code_is_refused_with_aws_wording(double: str) -> None:
    user = create_mfa_user(double, "doug")
    wrong = wrong_code(user["mfa_seed"], double_now(double))
    sts = user_sts(double, user)
    code, message, status = error_of(lambda: sts.get_session_token(SerialNumber=user["mfa_serial"], TokenCode=wrong))
    assert (code, message, status) == ("AccessDenied", MFA_INVALID, 403)
    assert sessions(double) == []


def test_code_is_accepted_once_only(double: str) -> None:
    user = create_mfa_user(double, "doug")
    code = next_unused_code(double, user["mfa_serial"])
    sts = user_sts(double, user)
    sts.get_session_token(SerialNumber=user["mfa_serial"], TokenCode=code)
    again = error_of(lambda: sts.get_session_token(SerialNumber=user["mfa_serial"], TokenCode=code))
    assert again == ("AccessDenied", MFA_INVALID, 403)


def test_codes_used_to_enable_the_device_are_spent(double: str) -> None:
    user = create_mfa_user(double, "doug")
    now = double_now(double)
    sts = user_sts(double, user)
    for spent in (totp(user["mfa_seed"], now), totp(user["mfa_seed"], now + 30)):
        assert error_of(lambda: sts.get_session_token(SerialNumber=user["mfa_serial"], TokenCode=spent))[0] == (
            "AccessDenied"
        )


@pytest.mark.parametrize("malformed", ["12345", "1234567", "12a456", "      "])
def test_malformed_code_is_a_validation_error(double: str, malformed: str) -> None:
    user = create_mfa_user(double, "doug")
    sts = user_sts(double, user, validate=False)
    code, message, status = error_of(
        lambda: sts.get_session_token(SerialNumber=user["mfa_serial"], TokenCode=malformed)
    )
    assert (code, status) == ("ValidationError", 400)
    assert "tokenCode" in message


def test_serial_of_another_user_is_refused(double: str) -> None:
    doug = create_mfa_user(double, "doug")
    eve = create_mfa_user(double, "eve")
    code = next_unused_code(double, doug["mfa_serial"])
    sts = user_sts(double, eve)
    code_, message, status = error_of(lambda: sts.get_session_token(SerialNumber=doug["mfa_serial"], TokenCode=code))
    assert (code_, status) == ("AccessDenied", 403)
    assert "associated with this user" in message


def test_enable_mfa_device_checks_both_codes(double: str) -> None:
    set_auth(double, False)
    iam = client(double, "iam")
    iam.create_user(UserName="doug")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="doug")["VirtualMFADevice"]
    seed, serial = device["Base32StringSeed"].decode(), device["SerialNumber"]
    now = double_now(double)
    not_consecutive = (totp(seed, now), totp(seed, now + 60))
    wrong_first = (wrong_code(seed, now), totp(seed, now + 30))
    for first, second in (not_consecutive, wrong_first):
        error = error_of(
            lambda: iam.enable_mfa_device(
                UserName="doug", SerialNumber=serial, AuthenticationCode1=first, AuthenticationCode2=second
            )
        )
        assert error[0] == "InvalidAuthenticationCode" and error[2] == 403
    assert iam.list_mfa_devices(UserName="doug")["MFADevices"] == []
    iam.enable_mfa_device(
        UserName="doug",
        SerialNumber=serial,
        AuthenticationCode1=totp(seed, now),
        AuthenticationCode2=totp(seed, now + 30),
    )
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName="doug")["MFADevices"]] == [serial]


def test_enable_mfa_device_rejects_malformed_codes(double: str) -> None:
    set_auth(double, False)
    iam = client(double, "iam", validate=False)
    iam.create_user(UserName="doug")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="doug")["VirtualMFADevice"]["SerialNumber"]
    error = error_of(
        lambda: iam.enable_mfa_device(
            UserName="doug", SerialNumber=serial, AuthenticationCode1="12a456", AuthenticationCode2="123456"
        )
    )
    assert error[0] == "ValidationError" and "authenticationCode1" in error[1] and error[2] == 400


def test_next_unused_code_moves_the_clock_when_every_code_is_spent(double: str) -> None:
    user = create_mfa_user(double, "doug")
    sts = user_sts(double, user)
    before = double_now(double)
    for _ in range(3):  # the enrolment spent two steps; at most one step is left in the window
        code = next_unused_code(double, user["mfa_serial"])
        sts.get_session_token(SerialNumber=user["mfa_serial"], TokenCode=code)
    assert double_now(double) - before >= 30
    assert len(sessions(double)) == 3


# --- session credentials -----------------------------------------------------------------------


def test_session_credentials_are_the_user(double: str) -> None:
    user = create_mfa_user(double, "doug")
    before = double_now(double)
    credentials = mfa_session(double, user, DurationSeconds=3600)
    assert credentials["AccessKeyId"].startswith("ASIA")
    expiration = credentials["Expiration"].timestamp()
    assert before + 3600 - 1 <= expiration <= double_now(double) + 3600
    identity = session_client(double, "sts", credentials).get_caller_identity()
    assert (identity["Arn"], identity["UserId"], identity["Account"]) == (
        user["arn"],
        user["user_id"],
        user["account_id"],
    )
    [record] = sessions(double)
    assert record["access_key_id"] == credentials["AccessKeyId"]
    assert record["mfa_authenticated"] is True and record["mfa_serial"] == user["mfa_serial"]
    assert "secret" not in str(record).lower() and credentials["SessionToken"] not in str(record)


def test_expiration_is_whole_seconds_in_the_xml(double: str) -> None:
    user = create_mfa_user(double, "doug")
    status, body = signed_post(double, "sts", {"Action": "GetSessionToken", "Version": "2011-06-15"}, user)
    assert status == 200
    assert re.search(r"<Expiration>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ</Expiration>", body), body


def test_session_without_mfa_is_recorded_and_cannot_call_iam(double: str) -> None:
    user = create_mfa_user(double, "doug")
    credentials = user_sts(double, user).get_session_token()["Credentials"]
    assert sessions(double)[0]["mfa_authenticated"] is False
    assert session_client(double, "sts", credentials).get_caller_identity()["Arn"] == user["arn"]
    error = error_of(lambda: session_client(double, "iam", credentials).list_users())
    assert error[0] == "InvalidClientTokenId" and error[2] == 403
    with_mfa = mfa_session(double, user)
    assert [u["UserName"] for u in session_client(double, "iam", with_mfa).list_users()["Users"]] == ["doug"]


@pytest.mark.parametrize(
    ("duration", "expected"),
    [(899, "greater than or equal to 900"), (129601, "less than or equal to 129600"), (900, None), (129600, None)],
)
def test_duration_seconds_bounds(double: str, duration: int, expected: str | None) -> None:
    user = create_mfa_user(double, "doug")
    sts = user_sts(double, user, validate=False)
    if expected is None:
        before = double_now(double)
        expiration = sts.get_session_token(DurationSeconds=duration)["Credentials"]["Expiration"].timestamp()
        assert before + duration - 1 <= expiration <= before + duration + 5
        return
    code, message, status = error_of(lambda: sts.get_session_token(DurationSeconds=duration))
    assert (code, status) == ("ValidationError", 400)
    assert f"Value '{duration}' at 'durationSeconds'" in message and expected in message


def test_default_duration_is_twelve_hours(double: str) -> None:
    user = create_mfa_user(double, "doug")
    before = double_now(double)
    expiration = user_sts(double, user).get_session_token()["Credentials"]["Expiration"].timestamp()
    assert before + 43200 - 1 <= expiration <= before + 43200 + 5


def test_expired_session_is_refused(double: str) -> None:
    user = create_mfa_user(double, "doug")
    credentials = mfa_session(double, user, DurationSeconds=900)
    sts = session_client(double, "sts", credentials)
    advance_clock(double, 899)
    assert sts.get_caller_identity()["Arn"] == user["arn"]
    advance_clock(double, 2)
    code, message, status = error_of(sts.get_caller_identity)
    assert (code, status) == ("ExpiredToken", 403)
    assert "expired" in message


def test_session_credentials_cannot_get_another_session(double: str) -> None:
    user = create_mfa_user(double, "doug")
    credentials = mfa_session(double, user)
    error = error_of(session_client(double, "sts", credentials).get_session_token)
    assert error[0] == "AccessDenied" and error[2] == 403


def test_unknown_caller_gets_no_session_even_with_auth_off(double: str) -> None:
    set_auth(double, False)
    error = error_of(client(double, "sts").get_session_token)
    assert error[0] == "InvalidClientTokenId" and error[2] == 403


# --- signature checking ------------------------------------------------------------------------


def test_signature_checking_rejects_wrong_secret_and_token(double: str) -> None:
    user = create_mfa_user(double, "doug")
    wrong_secret = client(double, "sts", user["access_key_id"], "x" * 40)
    assert error_of(wrong_secret.get_caller_identity)[0] == "SignatureDoesNotMatch"
    credentials = mfa_session(double, user)
    forged = dict(credentials, SecretAccessKey="y" * 40)
    assert error_of(session_client(double, "sts", forged).get_caller_identity)[0] == "SignatureDoesNotMatch"
    wrong_token = dict(credentials, SessionToken="FQoGZXIvYXdzEBYaDforged")
    assert error_of(session_client(double, "sts", wrong_token).get_caller_identity)[0] == "InvalidClientTokenId"


def test_auth_switch(double: str) -> None:
    user = create_mfa_user(double, "doug", enable_auth=False)
    wrong_secret = client(double, "sts", user["access_key_id"], "x" * 40)
    assert wrong_secret.get_caller_identity()["Arn"] == user["arn"]
    set_auth(double, True)
    assert error_of(wrong_secret.get_caller_identity)[0] == "SignatureDoesNotMatch"


# --- AssumeRole --------------------------------------------------------------------------------


def test_assume_role_with_mfa(double: str) -> None:
    user = create_mfa_user(double, "doug", enable_auth=False)
    role_arn = create_role(double, "admin", user["arn"])
    set_auth(double, True)
    sts = user_sts(double, user)

    def assume(code: str) -> Any:
        serial = user["mfa_serial"]
        return sts.assume_role(RoleArn=role_arn, RoleSessionName="sess", SerialNumber=serial, TokenCode=code)

    bad = error_of(lambda: assume(wrong_code(user["mfa_seed"], double_now(double))))
    assert bad == ("AccessDenied", MFA_INVALID, 403)
    code = next_unused_code(double, user["mfa_serial"])
    role = assume(code)
    identity = session_client(double, "sts", role["Credentials"]).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{user['account_id']}:assumed-role/admin/sess"
    [record] = [s for s in sessions(double) if s["kind"] == "role"]
    assert record["mfa_authenticated"] is True and record["caller_arn"] == user["arn"]
    assert error_of(lambda: assume(code))[0] == "AccessDenied"


def test_role_chaining_from_session_credentials(double: str) -> None:
    user = create_mfa_user(double, "doug", enable_auth=False)
    role_arn = create_role(double, "admin", user["arn"])
    set_auth(double, True)
    session_sts = session_client(double, "sts", mfa_session(double, user))
    too_long = error_of(
        lambda: session_sts.assume_role(RoleArn=role_arn, RoleSessionName="chain", DurationSeconds=3601)
    )
    assert too_long[0] == "ValidationError" and "role chaining" in too_long[1]
    role = session_sts.assume_role(RoleArn=role_arn, RoleSessionName="chain", DurationSeconds=900)["Credentials"]
    role_sts = session_client(double, "sts", role)
    assert role_sts.get_caller_identity()["Arn"].endswith(":assumed-role/admin/chain")
    [record] = [s for s in sessions(double) if s["kind"] == "role"]
    assert record["mfa_authenticated"] is False and record["caller_mfa_authenticated"] is True
    advance_clock(double, 901)
    assert error_of(role_sts.get_caller_identity)[0] == "ExpiredToken"


# --- counters and faults -----------------------------------------------------------------------


def test_call_counters(double: str) -> None:
    user = create_mfa_user(double, "doug")
    reset_calls(double)
    sts = user_sts(double, user)
    sts.get_caller_identity()
    sts.get_session_token()
    sts.get_session_token()
    assert calls(double) == {"sts:GetCallerIdentity": 1, "sts:GetSessionToken": 2}
    reset_calls(double)
    assert calls(double) == {}


def test_fault_error_xml_for_the_next_n_calls(double: str) -> None:
    user = create_mfa_user(double, "doug")
    add_fault(double, "GetSessionToken", count=2, status=400, code="Throttling", message="Rate exceeded")
    params = {"Action": "GetSessionToken", "Version": "2011-06-15"}
    for _ in range(2):
        status, body = signed_post(double, "sts", params, user)
        assert status == 400
        assert re.search(
            r"<ErrorResponse[^>]*><Error><Type>Sender</Type><Code>Throttling</Code>"
            r"<Message>Rate exceeded</Message></Error><RequestId>",
            body,
        ), body
    assert user_sts(double, user).get_caller_identity()["Arn"] == user["arn"]  # other actions untouched
    assert signed_post(double, "sts", params, user)[0] == 200
    assert calls(double)["sts:GetSessionToken"] == 3


def test_fault_raw_body_for_5xx(double: str) -> None:
    user = create_mfa_user(double, "doug")
    add_fault(double, "sts:GetCallerIdentity", status=503, body="<html>upstream overloaded</html>")
    status, body = signed_post(double, "sts", {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, user)
    assert (status, body) == (503, "<html>upstream overloaded</html>")
    assert user_sts(double, user).get_caller_identity()["Arn"] == user["arn"]


def test_fault_delay_makes_clients_time_out(double: str) -> None:
    user = create_mfa_user(double, "doug")
    add_fault(double, "GetCallerIdentity", delay=1.0)
    impatient = user_sts(double, user, read_timeout=0.3)
    with pytest.raises(ReadTimeoutError):
        impatient.get_caller_identity()
    assert impatient.get_caller_identity()["Arn"] == user["arn"]  # the fault was used up


# --- the real aws CLI --------------------------------------------------------------------------

needs_cli = pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed")


@needs_cli
def test_aws_cli_uses_session_credentials(double: str) -> None:
    user = create_mfa_user(double, "doug")
    credentials = mfa_session(double, user)
    env = env_for(double, credentials)
    result = subprocess.run(
        ["aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == user["arn"]


@needs_cli
def test_aws_cli_sees_a_wrong_code_refused(double: str) -> None:
    user = create_mfa_user(double, "doug")
    env = env_for(double, {"AccessKeyId": user["access_key_id"], "SecretAccessKey": user["secret_access_key"]})
    wrong = wrong_code(user["mfa_seed"], double_now(double))
    result = subprocess.run(
        ["aws", "sts", "get-session-token", "--serial-number", user["mfa_serial"], "--token-code", wrong],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "AccessDenied" in result.stderr and MFA_INVALID in result.stderr


def test_expiration_parses_as_utc(double: str) -> None:
    user = create_mfa_user(double, "doug")
    expiration = user_sts(double, user).get_session_token(DurationSeconds=900)["Credentials"]["Expiration"]
    assert expiration.tzinfo is not None and expiration.utcoffset() == datetime.timedelta(0)
