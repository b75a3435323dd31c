"""A double of AWS Sign-In's OAuth service for developer tools (`aws login`, `login_session`).

Served by the latchkey double next to moto (clients find it through `AWS_ENDPOINT_URL_SIGNIN`):

- `GET /v1/authorize?...` checks the authorization request (PKCE with method `SHA-256`, the two
  devtools client ids, `state`, a loopback or confirmation `redirect_uri`) and shows a real HTML
  sign-in form; `POST /v1/authorize` checks the IAM user's console password (its login profile),
  then `POST /v1/authorize/mfa` the TOTP code of the user's virtual MFA device when the user has
  one (as the console does). Success: 302 to `redirect_uri?code=C&state=S`; "Cancel": `?error=access_denied`.
- `GET /v1/sessions/confirmation?code=C&state=S` shows the cross-device code, base64(`state=S&code=C`).
- `POST /v1/token` (`CreateOAuth2Token`): bare JSON body, DPoP proof checked (ES256 signature as raw
  r||s over the JWK in its header, `typ`, `htm`, `htu`, `iat` within 5 minutes, `jti` not spent);
  `authorization_code` (single use, 5 minutes, PKCE, redirect URI, client id) and `refresh_token`
  (bound to the proof key's RFC 7638 thumbprint, rotated on every use, refused 12 hours after the
  browser sign-in or once the password changed). Credentials: real temporary keys of the IAM user
  (15 minutes), with MFA present when the sign-in used MFA; `expiresIn` is 900 unless a test set a
  shorter one (admin `signin/expires-in`), so clients refresh sooner.

Errors: `x-amzn-ErrorType: <shape>` and `{"error": <OAuth2ErrorCode>, "message": ...}`, statuses per
the model (ValidationException 400 INVALID_REQUEST, AccessDeniedException 401 TOKEN_EXPIRED /
AUTHCODE_EXPIRED, 403 USER_CREDENTIALS_CHANGED / INSUFFICIENT_PERMISSIONS, TooManyRequestsError 429,
InternalServerException 500 server_error).

A proof's `jti` is spent only when its request got tokens: botocore resends the same proof when it
retries after a 5xx, which a real server must accept too.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from werkzeug.wrappers import Request, Response

SIGNIN_PATHS = {"/v1/authorize", "/v1/authorize/mfa", "/v1/sessions/confirmation", "/v1/token"}
CLIENT_IDS = {"arn:aws:signin:::devtools/same-device", "arn:aws:signin:::devtools/cross-device"}
CODE_LIFETIME = 300
CREDENTIALS_LIFETIME = 900
SESSION_LIMIT = 12 * 3600
IAT_WINDOW = 300
PENDING_LIFETIME = 600
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
LOOPBACK_REDIRECT = re.compile(r"http://(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}/oauth/callback")


@dataclass
class Person:
    """What the sign-in service needs to know about an IAM user (looked up in moto)."""

    account_id: str
    partition: str
    user_name: str
    arn: str
    password: str | None
    mfa: tuple[str, str] | None  # (serial, seed) of the enabled virtual MFA device, if any


@dataclass
class Directory:
    """Callbacks into the double: users, MFA codes, credentials, policy evaluation."""

    find_user: Callable[[str, str], Person | None]  # (account or "", user name)
    accept_code: Callable[[str, str, str], bool]  # (serial, seed, code), one-time use
    unused_code: Callable[[str, str], str | None]  # for the autofill of test browsers
    issue_credentials: Callable[[Person, bool], dict[str, Any]]  # (person, mfa) -> keys + expiration
    may_create_token: Callable[[Person, bool, str], bool]  # (person, mfa, resource ARN)
    take_fault: Callable[[str], Any]  # counts the call; returns an injected fault or None


@dataclass
class AuthRequest:
    client_id: str
    state: str
    challenge: str
    redirect_uri: str
    expires_at: float
    person: Person | None = None  # set once the password was right (MFA step pending)


@dataclass
class Grant:
    """A sign-in: what codes and refresh tokens lead back to."""

    person: Person
    client_id: str
    mfa: bool
    signed_in_at: float
    password: str | None


@dataclass
class Code:
    grant: Grant
    challenge: str
    redirect_uri: str
    expires_at: float


@dataclass
class RefreshToken:
    grant: Grant
    thumbprint: str


@dataclass
class SigninState:
    pending: dict[str, AuthRequest] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    spent_jtis: set[str] = field(default_factory=set)
    spent_codes: set[str] = field(default_factory=set)  # redeemed (or burned by a failed exchange)
    autofill: dict[str, Any] | None = None
    spoil_next_code: str | None = None  # "used" | "expired": what happens to the next code granted
    expires_in: int = CREDENTIALS_LIFETIME  # the `expiresIn` answered (AWS: 1-900 seconds)


class TokenError(Exception):
    STATUS = {
        "ValidationException": 400,
        "TooManyRequestsError": 429,
        "InternalServerException": 500,
    }

    def __init__(self, shape: str, error: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.shape, self.error, self.message = shape, error, message
        expired = error in ("TOKEN_EXPIRED", "AUTHCODE_EXPIRED")
        self.status = status or self.STATUS.get(shape) or (401 if expired else 403)

    def response(self) -> Response:
        body = json.dumps({"error": self.error, "message": self.message})
        headers = {"x-amzn-ErrorType": self.shape, "x-amzn-RequestId": secrets.token_hex(16)}
        return Response(body, status=self.status, content_type="application/json", headers=headers)


def invalid(message: str) -> TokenError:
    return TokenError("ValidationException", "INVALID_REQUEST", message)


def denied(error: str, message: str) -> TokenError:
    return TokenError("AccessDeniedException", error, message)


def b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_challenge(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


class SigninService:
    def __init__(self, now: Callable[[], float], directory: Directory) -> None:
        self.now = now
        self.directory = directory
        self.lock = threading.Lock()
        self.state = SigninState()
        self.id_token_key = ec.generate_private_key(ec.SECP256R1())

    def reset(self) -> None:
        with self.lock:
            self.state = SigninState()

    def handles(self, path: str) -> bool:
        return path in SIGNIN_PATHS

    def __call__(self, request: Request) -> Response:
        if request.path == "/v1/token":
            if request.method != "POST":
                return invalid("CreateOAuth2Token is POST /v1/token.").response()
            return self.token(request)
        if request.path == "/v1/sessions/confirmation":
            return self.confirmation(request)
        if request.path == "/v1/authorize/mfa" and request.method == "POST":
            return self.submit_mfa(request)
        if request.path == "/v1/authorize" and request.method == "GET":
            return self.authorize(request)
        if request.path == "/v1/authorize" and request.method == "POST":
            return self.submit_password(request)
        return page("Not found", "<p>No such page.</p>", 404)

    # --- admin -------------------------------------------------------------------------------

    def set_autofill(self, autofill: dict[str, Any] | None) -> None:
        """What a test browser types: {"user_name", "password", "account"?, "mfa": "auto"|code, "deny"}."""
        with self.lock:
            self.state.autofill = autofill or None

    def spoil_next_code(self, how: str | None) -> None:
        """The next code the pages grant is already redeemed ("used", as if another client exchanged
        it first) or already past its 5 minutes ("expired"); None: normal codes again."""
        if how not in (None, "used", "expired"):
            raise ValueError("spoil must be used, expired or null")
        with self.lock:
            self.state.spoil_next_code = how

    def set_expires_in(self, seconds: int | None) -> None:
        """The `expiresIn` of the next token answers (1-900, as the model allows); None: 900 again."""
        if seconds is None:
            seconds = CREDENTIALS_LIFETIME
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= CREDENTIALS_LIFETIME:
            raise ValueError("seconds must be an integer from 1 to 900, or null")
        with self.lock:
            self.state.expires_in = seconds

    def revoke(self, user_name: str) -> int:
        with self.lock:
            dead = [t for t, r in self.state.refresh_tokens.items() if r.grant.person.user_name == user_name]
            for token in dead:
                del self.state.refresh_tokens[token]
        return len(dead)

    def public(self) -> dict[str, Any]:
        with self.lock:
            return {
                "pending": len(self.state.pending),
                "codes": len(self.state.codes),
                "refresh_tokens": [
                    {"user_arn": r.grant.person.arn, "client_id": r.grant.client_id, "mfa": r.grant.mfa,
                     "signed_in_at": r.grant.signed_in_at, "thumbprint": r.thumbprint}
                    for r in self.state.refresh_tokens.values()
                ],
                "autofill": self.state.autofill is not None,
                "spoil_next_code": self.state.spoil_next_code,
                "expires_in": self.state.expires_in,
            }

    # --- browser pages -----------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        args = request.args
        problems = []
        if args.get("response_type") != "code":
            problems.append("response_type must be code")
        client_id = args.get("client_id", "")
        if client_id not in CLIENT_IDS:
            problems.append("client_id is not a devtools client")
        if args.get("code_challenge_method") != "SHA-256":
            problems.append("code_challenge_method must be SHA-256")
        if args.get("scope") != "openid":
            problems.append("scope must be openid")
        state = args.get("state", "")
        if not state:
            problems.append("state is missing")
        challenge = args.get("code_challenge", "")
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge):
            problems.append("code_challenge must be 43 base64url characters")
        redirect_uri = args.get("redirect_uri", "")
        confirmation = f"{request.host_url.rstrip('/')}/v1/sessions/confirmation"
        if client_id.endswith("same-device") and not LOOPBACK_REDIRECT.fullmatch(redirect_uri):
            problems.append("redirect_uri must be http://127.0.0.1:PORT/oauth/callback")
        if client_id.endswith("cross-device") and redirect_uri != confirmation:
            problems.append(f"redirect_uri must be {confirmation}")
        if problems:  # never redirect to an unchecked redirect_uri
            items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
            return page("Invalid request", f"<p>The sign-in request is invalid:</p><ul id='problems'>{items}</ul>", 400)
        request_id = secrets.token_urlsafe(24)
        with self.lock:
            self.state.pending[request_id] = AuthRequest(
                client_id, state, challenge, redirect_uri, self.now() + PENDING_LIFETIME
            )
        return self.password_form(request_id)

    def password_form(self, request_id: str, error: str = "") -> Response:
        fill = self.state.autofill or {}

        def prefill(name: str) -> str:
            return html.escape(str(fill.get(name, "")))

        auto = bool(fill)
        script = ""
        if auto:
            button = "deny" if fill.get("deny") else "allow"
            script = f"<script>document.getElementById('{button}').click();</script>"
        body = (
            (f"<p id='error' class='error'>{html.escape(error)}</p>" if error else "")
            + "<form id='signin' method='post' action='/v1/authorize'>"
            f"<input type='hidden' name='request' value='{html.escape(request_id)}'>"
            f"<label>Account ID (optional) <input name='account' value='{prefill('account')}'></label>"
            f"<label>IAM user name <input name='username' value='{prefill('user_name')}'></label>"
            f"<label>Password <input type='password' name='password' value='{prefill('password')}'></label>"
            "<button id='allow' type='submit' name='action' value='signin'>Sign in</button>"
            "<button id='deny' type='submit' name='action' value='deny'>Cancel</button>"
            "</form>" + script
        )
        return page("Sign in to AWS", body, 401 if error else 200)

    def mfa_form(self, request_id: str, error: str = "", person: Person | None = None) -> Response:
        fill = self.state.autofill or {}
        code = ""
        script = ""
        if fill and person is not None and person.mfa is not None:
            code = str(fill.get("mfa", "auto"))
            if code == "auto":
                code = self.directory.unused_code(*person.mfa) or ""
            script = "<script>document.getElementById('verify').click();</script>"
        body = (
            (f"<p id='error' class='error'>{html.escape(error)}</p>" if error else "")
            + "<form id='mfa' method='post' action='/v1/authorize/mfa'>"
            f"<input type='hidden' name='request' value='{html.escape(request_id)}'>"
            f"<label>MFA code <input name='mfa_code' inputmode='numeric' value='{html.escape(code)}'></label>"
            "<button id='verify' type='submit'>Verify</button></form>" + script
        )
        return page("Multi-factor authentication", body, 401 if error else 200)

    def pending_request(self, request: Request) -> AuthRequest | None:
        request_id = request.form.get("request", "")
        with self.lock:
            pending = self.state.pending.get(request_id)
            if pending is not None and self.now() >= pending.expires_at:
                del self.state.pending[request_id]
                return None
            return pending

    def submit_password(self, request: Request) -> Response:
        request_id = request.form.get("request", "")
        pending = self.pending_request(request)
        if pending is None:
            return page("Expired", "<p>This sign-in request expired; start again from the CLI.</p>", 400)
        if request.form.get("action") == "deny":
            with self.lock:
                self.state.pending.pop(request_id, None)
            return redirect(pending.redirect_uri, {"error": "access_denied", "state": pending.state})
        person = self.directory.find_user(request.form.get("account", ""), request.form.get("username", ""))
        password = request.form.get("password", "")
        if person is None or person.password is None or not secrets.compare_digest(person.password, password):
            with self.lock:
                self.state.autofill = None  # a wrong autofill must not loop forever
            return self.password_form(request_id, "Your authentication information is incorrect. Please try again.")
        if person.mfa is not None:
            with self.lock:
                pending.person = person
            return self.mfa_form(request_id, person=person)
        return self.grant(request_id, pending, person, mfa=False)

    def submit_mfa(self, request: Request) -> Response:
        request_id = request.form.get("request", "")
        pending = self.pending_request(request)
        if pending is None or pending.person is None or pending.person.mfa is None:
            return page("Expired", "<p>This sign-in request expired; start again from the CLI.</p>", 400)
        serial, seed = pending.person.mfa
        code = request.form.get("mfa_code", "")
        if not re.fullmatch(r"[0-9]{6}", code) or not self.directory.accept_code(serial, seed, code):
            with self.lock:
                self.state.autofill = None
            return self.mfa_form(request_id, "The MFA code is not valid. Please try again.")
        return self.grant(request_id, pending, pending.person, mfa=True)

    def grant(self, request_id: str, pending: AuthRequest, person: Person, mfa: bool) -> Response:
        code = secrets.token_urlsafe(32)
        grant = Grant(person, pending.client_id, mfa, self.now(), person.password)
        with self.lock:
            self.state.pending.pop(request_id, None)
            spoil, self.state.spoil_next_code = self.state.spoil_next_code, None
            expires_at = self.now() + (0 if spoil == "expired" else CODE_LIFETIME)
            if spoil == "used":
                self.state.spent_codes.add(code)
            else:
                self.state.codes[code] = Code(grant, pending.challenge, pending.redirect_uri, expires_at)
        return redirect(pending.redirect_uri, {"code": code, "state": pending.state})

    def confirmation(self, request: Request) -> Response:
        code, state = request.args.get("code", ""), request.args.get("state", "")
        if not code or not state:
            return page("Invalid request", "<p>Nothing to confirm.</p>", 400)
        shown = base64.b64encode(urllib.parse.urlencode({"state": state, "code": code}).encode()).decode()
        body = (
            "<p>Copy this code and paste it where the CLI asks for it:</p>"
            f"<pre id='authorization-code'>{html.escape(shown)}</pre>"
        )
        return page("Authorization code", body)

    # --- CreateOAuth2Token --------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        fault = self.directory.take_fault("signin:CreateOAuth2Token")
        if fault is not None and fault.status is not None:
            shape = {429: "TooManyRequestsError"}.get(fault.status, "InternalServerException")
            if fault.status < 500 and fault.status != 429:
                shape = "AccessDeniedException" if fault.status in (401, 403) else "ValidationException"
            error = fault.code or ("INVALID_REQUEST" if fault.status < 500 else "server_error")
            return TokenError(shape, error, fault.message or "Injected fault.", fault.status).response()
        try:
            return self.create_token(request)
        except TokenError as error:
            return error.response()

    def create_token(self, request: Request) -> Response:
        if request.mimetype != "application/json":
            raise invalid("The body must be application/json.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise invalid("The body must be a JSON object.")
        htu = f"{request.host_url.rstrip('/')}/v1/token"
        jwk, jti = self.check_proof(request, htu)
        thumbprint = jwk_thumbprint(jwk)
        client_id = body.get("clientId")
        if client_id not in CLIENT_IDS:
            raise invalid("clientId must be a devtools client ARN.")
        grant_type = body.get("grantType")
        if grant_type == "authorization_code":
            answer = self.redeem_code(body, thumbprint)
        elif grant_type == "refresh_token":
            answer = self.refresh(body, thumbprint)
        else:
            raise invalid("grantType must be authorization_code or refresh_token.")
        with self.lock:
            self.state.spent_jtis.add(jti)
        return Response(json.dumps(answer), status=200, content_type="application/json")

    def check_proof(self, request: Request, htu: str) -> tuple[dict[str, Any], str]:
        proofs = request.headers.getlist("DPoP")
        if len(proofs) != 1:
            raise invalid("Exactly one DPoP header is required.")
        try:
            header_part, claims_part, signature_part = proofs[0].split(".")
            header = json.loads(b64url_decode(header_part))
            claims = json.loads(b64url_decode(claims_part))
            signature = b64url_decode(signature_part)
        except ValueError:
            raise invalid("The DPoP proof is not a compact JWS.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise invalid("The DPoP proof's header and claims must be JSON objects.")
        if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
            raise invalid("The DPoP proof must have typ dpop+jwt and alg ES256.")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
            raise invalid("The DPoP proof's jwk must be a public P-256 EC key.")
        try:
            x, y = b64url_decode(str(jwk["x"])), b64url_decode(str(jwk["y"]))
            if len(x) != 32 or len(y) != 32:
                raise ValueError("coordinate length")
            key = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            ).public_key()
        except (KeyError, ValueError):
            raise invalid("The DPoP proof's jwk is not a point on P-256.") from None
        if len(signature) != 64:  # JWS ES256 is raw r||s, never DER
            raise invalid("The DPoP proof's signature is not a 64-byte ES256 signature.")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            key.verify(der, f"{header_part}.{claims_part}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise invalid("The DPoP proof's signature does not verify.") from None
        if claims.get("htm") != request.method:
            raise invalid("The DPoP proof's htm does not match the request method.")
        if claims.get("htu") != htu:
            raise invalid("The DPoP proof's htu does not match the request URL.")
        iat = claims.get("iat")
        if not isinstance(iat, int) or isinstance(iat, bool) or abs(self.now() - iat) > IAT_WINDOW:
            raise invalid("The DPoP proof's iat is missing or not within 5 minutes of the server's time.")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise invalid("The DPoP proof has no jti.")
        with self.lock:
            if jti in self.state.spent_jtis:
                raise invalid("The DPoP proof's jti was already used.")
        return jwk, jti

    def redeem_code(self, body: dict[str, Any], thumbprint: str) -> dict[str, Any]:
        for name in ("code", "codeVerifier", "redirectUri"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise invalid(f"{name} is required for grantType authorization_code.")
        with self.lock:
            code = self.state.codes.pop(body["code"], None)  # single use, even when the rest is wrong
            reused = code is None and body["code"] in self.state.spent_codes
            self.state.spent_codes.add(body["code"])
        if reused:
            raise denied("AUTHCODE_EXPIRED", "The authorization code was already used.")
        if code is None or self.now() >= code.expires_at:
            raise denied("AUTHCODE_EXPIRED", "The authorization code is expired or was already used.")
        if code.grant.client_id != body["clientId"]:
            raise invalid("clientId does not match the authorization request.")
        if code.redirect_uri != body["redirectUri"]:
            raise invalid("redirectUri does not match the authorization request.")
        verifier = body["codeVerifier"]
        if not VERIFIER.fullmatch(verifier) or not secrets.compare_digest(pkce_challenge(verifier), code.challenge):
            raise invalid("codeVerifier does not match the code challenge.")
        answer = self.issue(code.grant, thumbprint)
        answer["idToken"] = self.id_token(code.grant)
        return answer

    def refresh(self, body: dict[str, Any], thumbprint: str) -> dict[str, Any]:
        token = body.get("refreshToken")
        if not isinstance(token, str) or not token:
            raise invalid("refreshToken is required for grantType refresh_token.")
        with self.lock:
            record = self.state.refresh_tokens.get(token)
            if record is not None and record.thumbprint == thumbprint and record.grant.client_id == body["clientId"]:
                del self.state.refresh_tokens[token]  # rotation: a refresh token works once
        if record is None:
            raise denied("TOKEN_EXPIRED", "The refresh token is expired, revoked or was already used.")
        if record.thumbprint != thumbprint:
            raise invalid("The DPoP proof's key is not the key this refresh token is bound to.")
        if record.grant.client_id != body["clientId"]:
            raise invalid("clientId does not match the refresh token.")
        grant = record.grant
        if self.now() >= grant.signed_in_at + SESSION_LIMIT:
            raise denied("TOKEN_EXPIRED", "The session has reached its 12-hour limit.")
        current = self.directory.find_user(grant.person.account_id, grant.person.user_name)
        if current is None or current.password != grant.password:
            raise denied("USER_CREDENTIALS_CHANGED", "The user's credentials have changed.")
        return self.issue(grant, thumbprint)

    def issue(self, grant: Grant, thumbprint: str) -> dict[str, Any]:
        person = grant.person
        resource = f"arn:{person.partition}:signin:us-east-1:{person.account_id}:oauth2/public-client/localhost"
        if not self.directory.may_create_token(grant.person, grant.mfa, resource):
            raise denied(
                "INSUFFICIENT_PERMISSIONS",
                f"User: {grant.person.arn} is not authorized to perform: signin:CreateOAuth2Token",
            )
        credentials = self.directory.issue_credentials(grant.person, grant.mfa)
        refresh_token = "lkrt" + secrets.token_urlsafe(48)
        with self.lock:
            self.state.refresh_tokens[refresh_token] = RefreshToken(grant, thumbprint)
            expires_in = self.state.expires_in
        return {
            "accessToken": credentials,
            "tokenType": "aws_sigv4",
            "expiresIn": expires_in,
            "refreshToken": refresh_token,
        }

    def id_token(self, grant: Grant) -> str:
        now = int(self.now())
        header = {"kid": "latchkey-double", "typ": "JWT", "alg": "ES256"}
        claims = {
            "sub": grant.person.arn,
            "session_arn": grant.person.arn,
            "aud": grant.client_id,
            "iss": "https://signin.aws.amazon.com/signin",
            "iat": now,
            "exp": now + CREDENTIALS_LIFETIME,
        }
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.id_token_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def page(title: str, body: str, status: int = 200) -> Response:
    document = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(document, status=status, content_type="text/html; charset=utf-8")


def redirect(uri: str, query: dict[str, str]) -> Response:
    separator = "&" if "?" in uri else "?"
    return Response(status=302, headers={"Location": f"{uri}{separator}{urllib.parse.urlencode(query)}"})
