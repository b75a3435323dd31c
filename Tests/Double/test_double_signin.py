"""The AWS Sign-In double (`aws login` / `login_session`): botocore's real LoginProvider against it,
the browser pages, and the token endpoint's PKCE, DPoP, code and refresh-token checks."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import time
import urllib.error
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from double_fixtures import (
    MFA_BOUNDARY_POLICY,
    add_fault,
    admin,
    advance_clock,
    calls,
    client,
    create_console_user,
    double_now,
    next_unused_code,
    put_boundary,
    sessions,
    set_auth,
    wrong_code,
)

SAME_DEVICE = "arn:aws:signin:::devtools/same-device"
CROSS_DEVICE = "arn:aws:signin:::devtools/cross-device"
CALLBACK = "http://127.0.0.1:54321/oauth/callback"
PASSWORD = "correct horse battery staple 1!"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def request(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    """One HTTP exchange without following redirects: (status, headers, body text)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, dict(response.getheaders()), text


class Login:
    """A sign-in client written for the tests (what latchkey and the AWS CLI do), with knobs to break it."""

    def __init__(self, endpoint: str, client_id: str = SAME_DEVICE, redirect_uri: str = CALLBACK) -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.key = ec.generate_private_key(ec.SECP256R1())
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
        self.verifier = "".join(secrets.choice(alphabet) for _ in range(64))
        self.state = str(uuid.uuid4())

    def authorize_url(self) -> str:
        challenge = b64url(hashlib.sha256(self.verifier.encode()).digest())
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "state": self.state,
                "code_challenge_method": "SHA-256",
                "scope": "openid",
                "redirect_uri": self.redirect_uri,
            }
        )
        return f"{self.endpoint}/v1/authorize?{query}&code_challenge={challenge}"

    def proof(self, htu: str | None = None, iat: int | None = None, jti: str | None = None, der: bool = False,
              key: Any = None, htm: str = "POST", tamper: bool = False) -> str:
        key = key or self.key
        numbers = key.public_key().public_numbers()
        jwk = {"kty": "EC", "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big")),
               "crv": "P-256"}
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}
        claims = {"htm": htm, "htu": htu or f"{self.endpoint}/v1/token",
                  "iat": int(double_now(self.endpoint)) if iat is None else iat, "jti": jti or str(uuid.uuid4())}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        if not der:
            r, s = decode_dss_signature(signature)
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if tamper:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        return f"{signing_input}.{b64url(signature)}"

    def token(self, body: dict[str, Any], proof: str | None = None) -> tuple[int, dict[str, str], dict[str, Any]]:
        headers = {"Content-Type": "application/json", "DPoP": proof or self.proof()}
        url = f"{self.endpoint}/v1/token"
        status, response_headers, text = request("POST", url, json.dumps(body).encode(), headers)
        return status, response_headers, json.loads(text)

    def exchange(self, code: str, verifier: str | None = None, proof: str | None = None) -> Any:
        return self.token(
            {"clientId": self.client_id, "grantType": "authorization_code", "code": code,
             "codeVerifier": verifier or self.verifier, "redirectUri": self.redirect_uri},
            proof,
        )

    def refresh(self, refresh_token: str, proof: str | None = None) -> Any:
        return self.token({"clientId": self.client_id, "refreshToken": refresh_token, "grantType": "refresh_token"},
                          proof)

    def sign_in(self, user_name: str, password: str = PASSWORD, mfa_code: str | None = None) -> dict[str, str]:
        """What the person does in the browser; returns the query of the final redirect."""
        status, _, page = request("GET", self.authorize_url())
        assert status == 200, page
        request_id = re.search(r"name='request' value='([^']+)'", page).group(1)  # type: ignore[union-attr]
        form = urllib.parse.urlencode({"request": request_id, "username": user_name, "password": password,
                                       "action": "signin"}).encode()
        form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, headers, page = request("POST", f"{self.endpoint}/v1/authorize", form, form_headers)
        if status == 200 and "mfa_code" in page:
            assert mfa_code is not None, "the user has MFA: the page asks for a code"
            form = urllib.parse.urlencode({"request": request_id, "mfa_code": mfa_code}).encode()
            status, headers, page = request("POST", f"{self.endpoint}/v1/authorize/mfa", form, form_headers)
        assert status == 302, page
        location = headers["Location"]
        assert location.startswith(self.redirect_uri + "?")
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))

    def login(self, user_name: str, **kwargs: Any) -> dict[str, Any]:
        redirect = self.sign_in(user_name, **kwargs)
        assert redirect["state"] == self.state
        status, _, answer = self.exchange(redirect["code"])
        assert status == 200, answer
        return answer


def refused(result: tuple[int, dict[str, str], dict[str, Any]], status: int, shape: str, error: str) -> str:
    got_status, headers, body = result
    assert (got_status, headers.get("x-amzn-ErrorType"), body.get("error")) == (status, shape, error), body
    return str(body["message"])


def sec1_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


# --- botocore's real LoginProvider ------------------------------------------------------------


def test_botocore_login_provider_refreshes_against_the_double(double: str, tmp_path: Path, monkeypatch: Any) -> None:
    user = create_console_user(double, "ada", PASSWORD)
    login = Login(double)
    answer = login.login("ada")
    claims = json.loads(base64.urlsafe_b64decode(answer["idToken"].split(".")[1] + "=="))
    assert claims["sub"] == user["arn"]
    cache = tmp_path / "login-cache"
    cache.mkdir()
    cache_file = cache / (hashlib.sha256(user["arn"].encode()).hexdigest() + ".json")
    expired = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    cache_file.write_text(json.dumps({
        "accessToken": {**answer["accessToken"], "accountId": user["account_id"], "expiresAt": expired},
        "tokenType": "aws_sigv4", "clientId": SAME_DEVICE, "refreshToken": answer["refreshToken"],
        "idToken": answer["idToken"], "dpopKey": sec1_pem(login.key),
    }))
    config = tmp_path / "config"
    config.write_text(f"[profile console]\nlogin_session = {user['arn']}\nregion = us-east-1\n")
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing"))
    monkeypatch.setenv("AWS_LOGIN_CACHE_DIRECTORY", str(cache))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", double)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", double)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    before = calls(double).get("signin:CreateOAuth2Token", 0)

    session = boto3.Session(profile_name="console")
    identity = session.client("sts").get_caller_identity()  # signature checking is on

    assert session.get_credentials().method == "login"
    assert identity["Arn"] == user["arn"] and identity["UserId"] == user["user_id"]
    assert calls(double).get("signin:CreateOAuth2Token", 0) == before + 1
    rewritten = json.loads(cache_file.read_text())
    assert rewritten["refreshToken"] != answer["refreshToken"]  # rotated
    assert rewritten["accessToken"]["accessKeyId"] != answer["accessToken"]["accessKeyId"]
    assert rewritten["dpopKey"] == sec1_pem(login.key) and rewritten["idToken"] == answer["idToken"]
    # The token botocore gave up no longer works; the one it saved does.
    refused(login.refresh(answer["refreshToken"]), 401, "AccessDeniedException", "TOKEN_EXPIRED")
    status, _, again = login.refresh(rewritten["refreshToken"])
    assert status == 200 and "idToken" not in again


def test_a_proof_resent_after_a_server_error_is_accepted(double: str) -> None:
    """botocore builds the proof once per call and resends it on retry (see PROTOCOL.md): the double
    must not spend a jti on a failed attempt. boto3's signin client retries; the hook adds one proof."""
    create_console_user(double, "ada", PASSWORD)
    login = Login(double)
    answer = login.login("ada")
    add_fault(double, "signin:CreateOAuth2Token", status=500)
    signin = boto3.Session(region_name="us-east-1").client(
        "signin", endpoint_url=double, config=Config(signature_version=UNSIGNED)
    )
    proof = login.proof()
    signin.meta.events.register("before-sign.signin.*", lambda request, **_: request.headers.__setitem__("DPoP", proof))
    result = signin.create_o_auth2_token(
        tokenInput={"clientId": SAME_DEVICE, "grantType": "refresh_token", "refreshToken": answer["refreshToken"]}
    )
    assert result["ResponseMetadata"]["RetryAttempts"] == 1
    assert result["tokenOutput"]["refreshToken"] != answer["refreshToken"]
    assert calls(double)["signin:CreateOAuth2Token"] == 3  # exchange, failed attempt, retry


# --- browser pages ----------------------------------------------------------------------------


def test_credentials_belong_to_the_user_and_expire_in_15_minutes(double: str) -> None:
    user = create_console_user(double, "ada", PASSWORD)
    answer = Login(double).login("ada")
    assert answer["tokenType"] == "aws_sigv4" and answer["expiresIn"] == 900
    keys = answer["accessToken"]
    sts = client(double, "sts", keys["accessKeyId"], keys["secretAccessKey"], keys["sessionToken"])
    assert sts.get_caller_identity()["Arn"] == user["arn"]
    (record,) = [s for s in sessions(double) if s["access_key_id"] == keys["accessKeyId"]]
    assert (record["kind"], record["mfa_authenticated"]) == ("login", False)
    advance_clock(double, 901)
    with pytest.raises(Exception, match="ExpiredToken"):
        sts.get_caller_identity()


def test_wrong_password_and_cancel(double: str) -> None:
    create_console_user(double, "ada", PASSWORD)
    login = Login(double)
    with pytest.raises(AssertionError, match="authentication information is incorrect"):
        login.sign_in("ada", password="wrong")
    status, _, page = request("GET", login.authorize_url())
    request_id = re.search(r"name='request' value='([^']+)'", page).group(1)  # type: ignore[union-attr]
    form = urllib.parse.urlencode({"request": request_id, "action": "deny"}).encode()
    status, headers, _ = request(
        "POST", f"{double}/v1/authorize", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 302
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query))
    assert query == {"error": "access_denied", "state": login.state}


def test_authorize_checks_the_request(double: str) -> None:
    login = Login(double)
    url = login.authorize_url()
    evil = urllib.parse.quote("https://evil.example/cb", safe="")
    callback = urllib.parse.quote(CALLBACK, safe="")
    for broken in (url.replace("SHA-256", "S256"), url.replace("scope=openid", "scope=email"),
                   url.replace("same-device", "other-device"), url.replace(callback, evil)):
        assert broken != url
        status, headers, page = request("GET", broken)
        assert status == 400 and "Location" not in headers and "problems" in page


def test_mfa_user_needs_a_valid_code_and_gets_mfa_sessions(double: str) -> None:
    user = create_console_user(double, "grace", PASSWORD, mfa=True)
    set_auth(double, False)
    put_boundary(double, "grace", MFA_BOUNDARY_POLICY)
    set_auth(double, True)
    login = Login(double)
    with pytest.raises(AssertionError, match="MFA code is not valid"):
        login.sign_in("grace", mfa_code=wrong_code(user["mfa_seed"], double_now(double)))
    answer = login.login("grace", mfa_code=next_unused_code(double, user["mfa_serial"]))
    keys = answer["accessToken"]
    iam = client(double, "iam", keys["accessKeyId"], keys["secretAccessKey"], keys["sessionToken"])
    assert "Users" in iam.list_users()  # the boundary allows everything only with MFA
    (record,) = [s for s in sessions(double) if s["access_key_id"] == keys["accessKeyId"]]
    assert record["mfa_authenticated"] and record["mfa_serial"] == user["mfa_serial"]
    status, _, refreshed = login.refresh(answer["refreshToken"])
    assert status == 200
    keys = refreshed["accessToken"]
    iam = client(double, "iam", keys["accessKeyId"], keys["secretAccessKey"], keys["sessionToken"])
    assert "Users" in iam.list_users()  # refreshed sessions keep the sign-in's MFA


def test_cross_device_confirmation_page_shows_the_code(double: str) -> None:
    create_console_user(double, "ada", PASSWORD)
    login = Login(double, CROSS_DEVICE, f"{double}/v1/sessions/confirmation")
    redirect = login.sign_in("ada")
    status, _, page = request("GET", f"{double}/v1/sessions/confirmation?{urllib.parse.urlencode(redirect)}")
    shown = re.search(r"<pre id='authorization-code'>([^<]+)</pre>", page).group(1)  # type: ignore[union-attr]
    pasted = dict(urllib.parse.parse_qsl(base64.b64decode(shown).decode()))
    assert pasted["state"] == login.state
    status, _, answer = login.exchange(pasted["code"])
    assert status == 200 and answer["refreshToken"]


# --- token endpoint checks --------------------------------------------------------------------


def signed_in(double: str) -> tuple[Login, str]:
    create_console_user(double, "ada", PASSWORD)
    login = Login(double)
    return login, login.sign_in("ada")["code"]


def test_bad_pkce_verifier_is_refused_and_burns_the_code(double: str) -> None:
    login, code = signed_in(double)
    other = "A" * 64
    message = refused(login.exchange(code, verifier=other), 400, "ValidationException", "INVALID_REQUEST")
    assert "codeVerifier" in message
    refused(login.exchange(code), 401, "AccessDeniedException", "AUTHCODE_EXPIRED")


def test_a_code_is_single_use_and_expires(double: str) -> None:
    login, code = signed_in(double)
    assert login.exchange(code)[0] == 200
    refused(login.exchange(code), 401, "AccessDeniedException", "AUTHCODE_EXPIRED")
    late = login.sign_in("ada")["code"]
    advance_clock(double, 301)
    refused(login.exchange(late), 401, "AccessDeniedException", "AUTHCODE_EXPIRED")


def test_the_admin_knob_shortens_expires_in_until_reset(double: str) -> None:
    login, code = signed_in(double)
    admin(double, "POST", "signin/expires-in", {"seconds": 330})
    status, _, answer = login.exchange(code)
    assert status == 200 and answer["expiresIn"] == 330
    admin(double, "POST", "signin/expires-in", {"seconds": None})
    assert login.refresh(answer["refreshToken"])[2]["expiresIn"] == 900
    with pytest.raises(urllib.error.HTTPError):
        admin(double, "POST", "signin/expires-in", {"seconds": 901})


@pytest.mark.parametrize("spoil, message", [("used", "already used"), ("expired", "expired")])
def test_the_admin_knob_spoils_only_the_next_code(double: str, spoil: str, message: str) -> None:
    login, _ = signed_in(double)
    admin(double, "POST", "signin/next-code", {"spoil": spoil})
    assert admin(double, "GET", "signin")["spoil_next_code"] == spoil
    spoiled = login.sign_in("ada")["code"]
    assert admin(double, "GET", "signin")["spoil_next_code"] is None
    assert message in refused(login.exchange(spoiled), 401, "AccessDeniedException", "AUTHCODE_EXPIRED")
    assert login.exchange(login.sign_in("ada")["code"])[0] == 200  # one code only


@pytest.mark.parametrize(
    "knob, expected",
    [
        ({"tamper": True}, "signature does not verify"),
        ({"der": True}, "64-byte"),
        ({"htu": "http://127.0.0.1:1/v1/token"}, "htu"),
        ({"htm": "GET"}, "htm"),
        ({"iat": 1_000_000_000}, "iat"),
    ],
)
def test_bad_dpop_proofs_are_refused(double: str, knob: dict[str, Any], expected: str) -> None:
    login, code = signed_in(double)
    message = refused(login.exchange(code, proof=login.proof(**knob)), 400, "ValidationException", "INVALID_REQUEST")
    assert expected in message


def test_stale_iat_counts_on_the_doubles_clock(double: str) -> None:
    login, code = signed_in(double)
    proof = login.proof()  # iat = the double's now
    advance_clock(double, 301)
    refused(login.exchange(code, proof=proof), 400, "ValidationException", "INVALID_REQUEST")


def test_a_proof_that_bought_tokens_cannot_be_replayed(double: str) -> None:
    login, code = signed_in(double)
    proof = login.proof()
    status, _, answer = login.exchange(code, proof=proof)
    assert status == 200
    message = refused(login.refresh(answer["refreshToken"], proof=proof), 400, "ValidationException", "INVALID_REQUEST")
    assert "jti" in message


def test_refresh_tokens_rotate_are_key_bound_and_revocable(double: str) -> None:
    login, code = signed_in(double)
    answer = login.exchange(code)[2]
    thief = ec.generate_private_key(ec.SECP256R1())
    refused(login.refresh(answer["refreshToken"], proof=login.proof(key=thief)), 400, "ValidationException",
            "INVALID_REQUEST")
    status, _, second = login.refresh(answer["refreshToken"])  # the thief's attempt did not burn it
    assert status == 200 and second["refreshToken"] != answer["refreshToken"]
    refused(login.refresh(answer["refreshToken"]), 401, "AccessDeniedException", "TOKEN_EXPIRED")
    assert admin(double, "POST", "signin/revoke", {"user_name": "ada"}) == {"revoked": 1}
    refused(login.refresh(second["refreshToken"]), 401, "AccessDeniedException", "TOKEN_EXPIRED")


def test_the_session_ends_12_hours_after_sign_in(double: str) -> None:
    login, code = signed_in(double)
    token = login.exchange(code)[2]["refreshToken"]
    for _ in range(3):  # 11 h 50 min of refreshes keep working
        advance_clock(double, 4 * 3600 - 200)
        status, _, answer = login.refresh(token)
        assert status == 200
        token = answer["refreshToken"]
    advance_clock(double, 601)
    message = refused(login.refresh(token), 401, "AccessDeniedException", "TOKEN_EXPIRED")
    assert "12-hour" in message


def test_password_change_ends_the_session(double: str) -> None:
    login, code = signed_in(double)
    token = login.exchange(code)[2]["refreshToken"]
    set_auth(double, False)
    client(double, "iam").update_login_profile(UserName="ada", Password="a new password 2!")
    set_auth(double, True)
    refused(login.refresh(token), 403, "AccessDeniedException", "USER_CREDENTIALS_CHANGED")


def test_without_signin_permission_the_token_is_refused(double: str) -> None:
    login, code = signed_in(double)
    set_auth(double, False)
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "signin:*", "Resource": "*"}]}
    client(double, "iam").put_user_policy(UserName="ada", PolicyName="no-signin", PolicyDocument=json.dumps(deny))
    set_auth(double, True)
    message = refused(login.exchange(code), 403, "AccessDeniedException", "INSUFFICIENT_PERMISSIONS")
    assert "signin:CreateOAuth2Token" in message
