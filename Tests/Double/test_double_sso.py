"""The IAM Identity Center stub (OIDC device flow + portal) through boto3's sso-oidc and sso clients.

`aws sso login` exists only in the AWS CLI v2 (v1 is installed here), so the CLI is not used.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from double_fixtures import admin, advance_clock, client, set_auth, sso_approve, sso_assign, sso_unassign

START_URL = "https://latchkey.awsapps.com/start"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def error_of(call: Any) -> tuple[str, dict[str, Any], int]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error, error["ResponseMetadata"]["HTTPStatusCode"]


def start(endpoint: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    oidc = client(endpoint, "sso-oidc")
    registration = oidc.register_client(clientName="latchkey", clientType="public")
    device = oidc.start_device_authorization(
        clientId=registration["clientId"], clientSecret=registration["clientSecret"], startUrl=START_URL
    )
    return oidc, registration, device


def poll(oidc: Any, registration: dict[str, Any], device: dict[str, Any]) -> Any:
    return oidc.create_token(
        clientId=registration["clientId"],
        clientSecret=registration["clientSecret"],
        grantType=DEVICE_GRANT,
        deviceCode=device["deviceCode"],
    )


def logged_in(endpoint: str) -> dict[str, Any]:
    oidc, registration, device = start(endpoint)
    sso_approve(endpoint, device["userCode"])
    return dict(poll(oidc, registration, device), registration=registration, oidc=oidc)


def test_device_flow_pending_slow_down_approved(double: str) -> None:
    oidc, registration, device = start(double)
    assert device["interval"] >= 1 and device["expiresIn"] == 600
    assert device["verificationUriComplete"].endswith(device["userCode"])
    code, error, status = error_of(lambda: poll(oidc, registration, device))
    assert (code, status, error["error"]) == ("AuthorizationPendingException", 400, "authorization_pending")
    code, error, _ = error_of(lambda: poll(oidc, registration, device))  # again at once: too fast
    assert (code, error["error"]) == ("SlowDownException", "slow_down")
    sso_approve(double, device["userCode"])
    advance_clock(double, device["interval"])
    token = poll(oidc, registration, device)
    assert token["tokenType"] == "Bearer" and token["accessToken"] and token["refreshToken"]
    assert token["expiresIn"] > 0
    advance_clock(double, device["interval"])
    assert error_of(lambda: poll(oidc, registration, device))[0] == "InvalidGrantException"  # used once


def test_device_code_expires(double: str) -> None:
    oidc, registration, device = start(double)
    advance_clock(double, device["expiresIn"])
    code, error, _ = error_of(lambda: poll(oidc, registration, device))
    assert (code, error["error"]) == ("ExpiredTokenException", "expired_token")


def test_denied_by_the_user(double: str) -> None:
    oidc, registration, device = start(double)
    sso_approve(double, device["userCode"], deny=True)
    assert error_of(lambda: poll(oidc, registration, device))[0] == "AccessDeniedException"


def test_client_checks(double: str) -> None:
    oidc = client(double, "sso-oidc")
    assert error_of(lambda: oidc.register_client(clientName="x", clientType="confidential"))[0] == (
        "InvalidClientMetadataException"
    )
    registration = oidc.register_client(clientName="latchkey", clientType="public")
    code, _, status = error_of(
        lambda: oidc.start_device_authorization(
            clientId=registration["clientId"], clientSecret="wrong", startUrl=START_URL
        )
    )
    assert (code, status) == ("InvalidClientException", 401)


def test_refresh_token_grant(double: str) -> None:
    session = logged_in(double)
    registration, oidc = session["registration"], session["oidc"]
    refreshed = oidc.create_token(
        clientId=registration["clientId"],
        clientSecret=registration["clientSecret"],
        grantType="refresh_token",
        refreshToken=session["refreshToken"],
    )
    assert refreshed["accessToken"] != session["accessToken"]
    assert client(double, "sso").list_accounts(accessToken=refreshed["accessToken"])["accountList"] == []
    again = error_of(
        lambda: oidc.create_token(
            clientId=registration["clientId"],
            clientSecret=registration["clientSecret"],
            grantType="refresh_token",
            refreshToken=session["refreshToken"],
        )
    )
    assert again[0] == "InvalidGrantException"  # refresh tokens rotate


def test_portal_lists_and_issues_working_role_credentials(double: str) -> None:
    describe = {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}
    read_only = {"Version": "2012-10-17", "Statement": [describe]}
    sso_assign(double, "ReadOnly", account_name="sandbox", email_address="aws@example.com", policy=read_only)
    sso_assign(double, "Admin", account_name="sandbox", email_address="aws@example.com")
    token = logged_in(double)["accessToken"]
    sso = client(double, "sso")
    assert sso.list_accounts(accessToken=token)["accountList"] == [
        {"accountId": "123456789012", "accountName": "sandbox", "emailAddress": "aws@example.com"}
    ]
    roles = sso.list_account_roles(accessToken=token, accountId="123456789012")["roleList"]
    assert sorted(r["roleName"] for r in roles) == ["Admin", "ReadOnly"]
    set_auth(double, True)
    credentials = sso.get_role_credentials(accessToken=token, accountId="123456789012", roleName="ReadOnly")[
        "roleCredentials"
    ]
    assert credentials["expiration"] > 10**12  # epoch milliseconds
    keys = (credentials["accessKeyId"], credentials["secretAccessKey"], credentials["sessionToken"])
    assert client(double, "sts", *keys).get_caller_identity()["Arn"].startswith(
        "arn:aws:sts::123456789012:assumed-role/ReadOnly/"
    )
    assert client(double, "ec2", *keys).describe_regions()["Regions"]
    assert error_of(lambda: client(double, "s3", *keys).list_buckets())[0] == "AccessDenied"


def test_portal_listings_come_in_pages_and_assignments_can_be_taken_away(double: str) -> None:
    for account in ("111111111111", "222222222222", "333333333333"):
        sso_assign(double, "Admin", account_id=account, account_name=f"acct-{account[0]}")
    sso_assign(double, "ReadOnly", account_id="111111111111")
    sso_assign(double, "Billing", account_id="111111111111")
    token = logged_in(double)["accessToken"]
    sso = client(double, "sso")
    first = sso.list_accounts(accessToken=token)
    assert len(first["accountList"]) == 2 and first["nextToken"]
    pages = sso.get_paginator("list_accounts").paginate(accessToken=token)
    assert [a["accountId"] for page in pages for a in page["accountList"]] == [
        "111111111111", "222222222222", "333333333333"
    ]
    one = sso.list_account_roles(accessToken=token, accountId="111111111111", maxResults=1)
    assert len(one["roleList"]) == 1 and one["nextToken"]
    pages = sso.get_paginator("list_account_roles").paginate(accessToken=token, accountId="111111111111")
    assert sorted(r["roleName"] for page in pages for r in page["roleList"]) == ["Admin", "Billing", "ReadOnly"]
    assert error_of(lambda: sso.list_accounts(accessToken=token, nextToken="forged"))[0] == "InvalidRequestException"

    sso_unassign(double, "Admin", account_id="333333333333")
    pages = sso.get_paginator("list_accounts").paginate(accessToken=token)
    assert [a["accountId"] for page in pages for a in page["accountList"]] == ["111111111111", "222222222222"]
    with pytest.raises(Exception) as caught:
        sso_unassign(double, "Admin", account_id="333333333333")
    assert getattr(caught.value, "code", None) == 404


def test_portal_errors(double: str) -> None:
    sso_assign(double, "Admin")
    sso = client(double, "sso")
    code, error, status = error_of(lambda: sso.list_accounts(accessToken="not-a-token"))
    assert (code, status) == ("UnauthorizedException", 401) and error["Error"]["Message"]
    token = logged_in(double)["accessToken"]
    code, _, status = error_of(
        lambda: sso.get_role_credentials(accessToken=token, accountId="123456789012", roleName="Nope")
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    sso.logout(accessToken=token)
    assert error_of(lambda: sso.list_accounts(accessToken=token))[0] == "UnauthorizedException"


def test_approve_unknown_user_code_is_404(double: str) -> None:
    with pytest.raises(Exception) as caught:
        admin(double, "POST", "sso/approve", {"user_code": "ABCD-EFGH"})
    assert getattr(caught.value, "code", None) == 404
    assert admin(double, "GET", "sso/assignments")["devices"] == []
