"""Virtual MFA device and access key lifecycles in the double (enrolment and key rotation)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from double_fixtures import (
    advance_clock,
    client,
    create_mfa_user,
    double_now,
    set_auth,
    set_new_key_delay,
    totp,
)


def error_of(call: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def key_client(endpoint: str, service: str, key: dict[str, str]) -> Any:
    return client(endpoint, service, key["AccessKeyId"], key["SecretAccessKey"])


def enable(iam: Any, endpoint: str, user: str, device: dict[str, Any]) -> None:
    seed = device["Base32StringSeed"].decode()
    now = double_now(endpoint)
    iam.enable_mfa_device(
        UserName=user,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp(seed, now),
        AuthenticationCode2=totp(seed, now + 30),
    )


# --- virtual MFA devices -----------------------------------------------------------------------


def test_virtual_mfa_lifecycle(double: str) -> None:
    iam = client(double, "iam")
    iam.create_user(UserName="doug")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="doug")["VirtualMFADevice"]
    assert device["SerialNumber"] == "arn:aws:iam::123456789012:mfa/doug"
    assert len(device["Base32StringSeed"]) >= 16 and device["QRCodePNG"]
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert [d["SerialNumber"] for d in unassigned] == [device["SerialNumber"]]
    enable(iam, double, "doug", device)
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert [d["User"]["UserName"] for d in assigned] == ["doug"]
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName="doug")["MFADevices"]] == [device["SerialNumber"]]
    code, message, status = error_of(lambda: iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"]))
    assert (code, status) == ("DeleteConflict", 409) and "still in use" in message
    iam.deactivate_mfa_device(UserName="doug", SerialNumber=device["SerialNumber"])
    assert iam.list_mfa_devices(UserName="doug")["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert error_of(lambda: iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"]))[0] == "NoSuchEntity"


def test_device_name_taken(double: str) -> None:
    iam = client(double, "iam")
    iam.create_virtual_mfa_device(VirtualMFADeviceName="doug")
    code, message, status = error_of(lambda: iam.create_virtual_mfa_device(VirtualMFADeviceName="doug"))
    assert (code, status) == ("EntityAlreadyExists", 409) and "already exists" in message


def test_at_most_eight_mfa_devices_per_user(double: str) -> None:
    iam = client(double, "iam")
    iam.create_user(UserName="doug")
    for index in range(8):
        enable(iam, double, "doug", iam.create_virtual_mfa_device(VirtualMFADeviceName=f"d{index}")["VirtualMFADevice"])
    ninth = iam.create_virtual_mfa_device(VirtualMFADeviceName="d8")["VirtualMFADevice"]
    code, message, status = error_of(lambda: enable(iam, double, "doug", ninth))
    assert (code, status) == ("LimitExceeded", 409) and "MFADevicesPerUser: 8" in message
    assert len(iam.list_mfa_devices(UserName="doug")["MFADevices"]) == 8


# --- access keys -------------------------------------------------------------------------------


def test_two_keys_per_user_with_aws_wording(double: str) -> None:
    iam = client(double, "iam")
    iam.create_user(UserName="doug")
    iam.create_access_key(UserName="doug")
    iam.create_access_key(UserName="doug")
    code, message, status = error_of(lambda: iam.create_access_key(UserName="doug"))
    assert (code, message, status) == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)


def test_rotation_with_the_users_own_keys(double: str) -> None:
    """The rotation latchkey does: create a second key with the first, switch, delete the first."""
    user = create_mfa_user(double, "doug")
    old = {"AccessKeyId": user["access_key_id"], "SecretAccessKey": user["secret_access_key"]}
    new = key_client(double, "iam", old).create_access_key()["AccessKey"]  # UserName defaults to the caller
    assert new["UserName"] == "doug" and new["Status"] == "Active"
    iam = key_client(double, "iam", new)
    listed = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys()["AccessKeyMetadata"]}
    assert listed == {old["AccessKeyId"]: "Active", new["AccessKeyId"]: "Active"}
    last_used = iam.get_access_key_last_used(AccessKeyId=old["AccessKeyId"])
    assert last_used["UserName"] == "doug" and last_used["AccessKeyLastUsed"]["ServiceName"] == "iam"
    iam.update_access_key(AccessKeyId=old["AccessKeyId"], Status="Inactive")
    assert error_of(key_client(double, "sts", old).get_caller_identity)[0] == "InvalidClientTokenId"
    iam.update_access_key(AccessKeyId=old["AccessKeyId"], Status="Active")
    assert key_client(double, "sts", old).get_caller_identity()["Arn"] == user["arn"]
    iam.delete_access_key(AccessKeyId=old["AccessKeyId"])
    code, message, status = error_of(key_client(double, "sts", old).get_caller_identity)
    assert (code, status) == ("InvalidClientTokenId", 403) and "security token" in message
    assert [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]] == [new["AccessKeyId"]]


def test_inactive_key_cannot_get_a_session_even_with_auth_off(double: str) -> None:
    user = create_mfa_user(double, "doug", enable_auth=False)
    client(double, "iam").update_access_key(UserName="doug", AccessKeyId=user["access_key_id"], Status="Inactive")
    sts = client(double, "sts", user["access_key_id"], user["secret_access_key"])
    assert error_of(sts.get_session_token)[0] == "InvalidClientTokenId"


def test_new_key_delay_on_the_double_clock(double: str) -> None:
    user = create_mfa_user(double, "doug")
    set_new_key_delay(double, 5)
    old = {"AccessKeyId": user["access_key_id"], "SecretAccessKey": user["secret_access_key"]}
    new = key_client(double, "iam", old).create_access_key()["AccessKey"]
    sts = key_client(double, "sts", new)
    assert error_of(sts.get_caller_identity)[0] == "InvalidClientTokenId"
    assert error_of(sts.get_session_token)[0] == "InvalidClientTokenId"
    assert key_client(double, "sts", old).get_caller_identity()["Arn"] == user["arn"]  # older keys unaffected
    advance_clock(double, 5)
    assert sts.get_caller_identity()["Arn"] == user["arn"]
    set_new_key_delay(double, 0)
    set_auth(double, False)
    client(double, "iam").delete_access_key(UserName="doug", AccessKeyId=new["AccessKeyId"])
    set_auth(double, True)
    newest = key_client(double, "iam", old).create_access_key()["AccessKey"]
    assert key_client(double, "sts", newest).get_caller_identity()["Arn"] == user["arn"]
