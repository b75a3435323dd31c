"""Stubs of the AWS endpoints that are not Query APIs, served by the latchkey double:

- the console sign-in federation endpoint (`GET /federation?Action=getSigninToken|login`),
- IAM Identity Center OIDC (`POST /client/register`, `/device_authorization`, `/token`),
- the IAM Identity Center portal (`GET /federation/credentials`, `/assignment/accounts`,
  `/assignment/roles`, `POST /logout`),

with the JSON and error shapes of botocore's `sso-oidc` and `sso` models. Time is the double's
clock; temporary credentials are looked up and issued through callbacks into the double.
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

SIGNIN_TOKEN_LIFETIME = 900  # AWS: a sign-in token must be used within 15 minutes
CONSOLE_DURATION_MIN, CONSOLE_DURATION_MAX = 900, 43200
DEVICE_CODE_LIFETIME = 600
POLL_INTERVAL = 1
ACCESS_TOKEN_LIFETIME = 28800
CLIENT_LIFETIME = 90 * 24 * 3600
ROLE_CREDENTIALS_LIFETIME = 3600
# Listings come in pages this small (unless max_result asks for smaller) so clients must follow nextToken.
PORTAL_PAGE_SIZE = 2
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
OIDC_PATHS = {"/client/register", "/device_authorization", "/token"}
# werkzeug's server drops headers with underscores; the double's request handler keeps this one here.
SSO_TOKEN_ENVIRON = "latchkey.sso_bearer_token"
PORTAL_PATHS = {"/federation/credentials", "/assignment/accounts", "/assignment/roles", "/logout"}


@dataclass
class Temporary:
    """What the sign-in endpoint needs to know about temporary credentials."""

    kind: str  # "session" (GetSessionToken), "federated" (GetFederationToken) or "role"
    secret_access_key: str
    session_token: str
    expiration: float  # epoch seconds
    arn: str


@dataclass
class DeviceAuthorization:
    client_id: str
    device_code: str
    user_code: str
    start_url: str
    expires_at: float
    approved: bool = False
    denied: bool = False
    redeemed: bool = False
    last_poll: float | None = None


@dataclass
class Assignment:
    account_id: str
    role_name: str
    account_name: str = ""
    email_address: str = ""


@dataclass
class PortalState:
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    devices: dict[str, DeviceAuthorization] = field(default_factory=dict)  # by device code
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> client id
    assignments: list[Assignment] = field(default_factory=list)
    signin_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry
    user_name: str = "sso-user@example.com"


class Portals:
    def __init__(
        self,
        now: Callable[[], float],
        lookup_temporary: Callable[[str], Temporary | None],
        issue_role_credentials: Callable[[str, str, str, int], dict[str, Any]],
    ) -> None:
        self.now = now
        self.lookup_temporary = lookup_temporary
        self.issue_role_credentials = issue_role_credentials
        self.lock = threading.Lock()
        self.state = PortalState()

    def reset(self) -> None:
        with self.lock:
            self.state = PortalState()

    def handles(self, path: str) -> bool:
        return path == "/federation" or path in OIDC_PATHS or path in PORTAL_PATHS

    def __call__(self, request: Request) -> Response:
        if request.path == "/federation":
            return self.signin(request)
        with self.lock:
            if request.path in OIDC_PATHS:
                return self.oidc(request)
            return self.portal(request)

    # --- admin -------------------------------------------------------------------------------

    def approve(self, user_code: str, deny: bool = False) -> bool:
        """What the person in the browser does: confirm (or deny) the code shown in the terminal."""
        with self.lock:
            for device in self.state.devices.values():
                if device.user_code == user_code and self.now() < device.expires_at:
                    device.approved, device.denied = not deny, deny
                    return True
        return False

    def assign(self, assignment: Assignment) -> None:
        with self.lock:
            self.state.assignments.append(assignment)

    def unassign(self, account_id: str, role_name: str) -> bool:
        """Takes a role in an account away from the SSO user (an account left with none disappears)."""
        with self.lock:
            kept = [a for a in self.state.assignments if (a.account_id, a.role_name) != (account_id, role_name)]
            removed = len(kept) != len(self.state.assignments)
            self.state.assignments = kept
            return removed

    def public(self) -> dict[str, Any]:
        with self.lock:
            return {
                "clients": len(self.state.clients),
                "devices": [
                    {"user_code": d.user_code, "approved": d.approved, "redeemed": d.redeemed}
                    for d in self.state.devices.values()
                ],
                "assignments": [a.__dict__ for a in self.state.assignments],
            }

    # --- console sign-in federation -----------------------------------------------------------

    def signin(self, request: Request) -> Response:
        action = request.args.get("Action", "")
        if action == "getSigninToken":
            return self.get_signin_token(request)
        if action == "login":
            token = request.args.get("SigninToken", "")
            destination = request.args.get("Destination", "")
            with self.lock:
                expiry = self.state.signin_tokens.pop(token, None)  # single use
            if expiry is None or self.now() >= expiry or not destination:
                return text_response("Invalid or expired SigninToken, or no Destination.", 400)
            return Response(status=302, headers={"Location": destination})
        return text_response(f"Unsupported Action {action!r}: use getSigninToken or login.", 400)

    def get_signin_token(self, request: Request) -> Response:
        try:
            session = json.loads(request.args.get("Session", ""))
            key_id, secret, token = session["sessionId"], session["sessionKey"], session["sessionToken"]
        except (ValueError, KeyError, TypeError):
            return text_response("Session must be JSON with sessionId, sessionKey and sessionToken.", 400)
        credential = self.lookup_temporary(str(key_id))
        if credential is None or credential.secret_access_key != secret or credential.session_token != token:
            return text_response("The session credentials are not valid temporary credentials.", 400)
        if self.now() >= credential.expiration:
            return text_response("The session credentials have expired.", 400)
        if credential.kind == "session":  # AWS: GetSessionToken credentials cannot sign in to the console
            return text_response("Credentials from GetSessionToken cannot be used to sign in.", 400)
        duration_text = request.args.get("SessionDuration")
        if duration_text is not None:
            if credential.kind == "federated":
                return text_response("SessionDuration is not allowed with GetFederationToken credentials.", 400)
            if not duration_text.isdigit() or not CONSOLE_DURATION_MIN <= int(duration_text) <= CONSOLE_DURATION_MAX:
                return text_response(
                    f"SessionDuration must be between {CONSOLE_DURATION_MIN} and {CONSOLE_DURATION_MAX} seconds.", 400
                )
        signin_token = secrets.token_urlsafe(48)
        with self.lock:
            self.state.signin_tokens[signin_token] = self.now() + SIGNIN_TOKEN_LIFETIME
        return json_response({"SigninToken": signin_token})

    # --- IAM Identity Center OIDC (sso-oidc) ---------------------------------------------------

    def oidc(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return oidc_error("InvalidRequestException", "invalid_request", "The request body must be JSON.")
        if request.path == "/client/register":
            return self.register_client(body)
        client = self.state.clients.get(str(body.get("clientId")))
        if client is None or client["clientSecret"] != body.get("clientSecret") or self.now() >= client["expires"]:
            return oidc_error("InvalidClientException", "invalid_client", "Invalid client credentials.")
        if request.path == "/device_authorization":
            return self.start_device_authorization(body)
        return self.create_token(body)

    def register_client(self, body: dict[str, Any]) -> Response:
        if not body.get("clientName") or body.get("clientType") != "public":
            return oidc_error(
                "InvalidClientMetadataException", "invalid_client_metadata", "clientType must be public."
            )
        now = self.now()
        client_id, client_secret = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
        self.state.clients[client_id] = {"clientSecret": client_secret, "expires": now + CLIENT_LIFETIME}
        return json_response(
            {
                "clientId": client_id,
                "clientSecret": client_secret,
                "clientIdIssuedAt": int(now),
                "clientSecretExpiresAt": int(now + CLIENT_LIFETIME),
            }
        )

    def start_device_authorization(self, body: dict[str, Any]) -> Response:
        start_url = str(body.get("startUrl") or "")
        if not start_url:
            return oidc_error("InvalidRequestException", "invalid_request", "startUrl is required.")
        device_code = secrets.token_urlsafe(32)
        alphabet = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "".join(secrets.choice(alphabet) for _ in range(4)) + "-"
        user_code += "".join(secrets.choice(alphabet) for _ in range(4))
        self.state.devices[device_code] = DeviceAuthorization(
            client_id=str(body["clientId"]),
            device_code=device_code,
            user_code=user_code,
            start_url=start_url,
            expires_at=self.now() + DEVICE_CODE_LIFETIME,
        )
        verification = "https://device.sso.us-east-1.amazonaws.com/"
        return json_response(
            {
                "deviceCode": device_code,
                "userCode": user_code,
                "verificationUri": verification,
                "verificationUriComplete": f"{verification}?user_code={user_code}",
                "expiresIn": DEVICE_CODE_LIFETIME,
                "interval": POLL_INTERVAL,
            }
        )

    def create_token(self, body: dict[str, Any]) -> Response:
        grant = body.get("grantType")
        if grant == DEVICE_CODE_GRANT:
            return self.redeem_device_code(body)
        if grant == "refresh_token":
            client_id = self.state.refresh_tokens.pop(str(body.get("refreshToken")), None)
            if client_id != body["clientId"]:
                return oidc_error("InvalidGrantException", "invalid_grant", "Invalid refresh token.")
            return self.tokens(str(body["clientId"]))
        return oidc_error("UnsupportedGrantTypeException", "unsupported_grant_type", f"Unsupported grant {grant}.")

    def redeem_device_code(self, body: dict[str, Any]) -> Response:
        device = self.state.devices.get(str(body.get("deviceCode")))
        if device is None or device.client_id != body["clientId"] or device.redeemed:
            return oidc_error("InvalidGrantException", "invalid_grant", "Invalid device code provided.")
        now = self.now()
        if now >= device.expires_at:
            return oidc_error("ExpiredTokenException", "expired_token", "The device code has expired.")
        too_fast = device.last_poll is not None and now - device.last_poll < POLL_INTERVAL
        device.last_poll = now
        if too_fast:
            return oidc_error("SlowDownException", "slow_down", "Client is polling too fast.")
        if device.denied:
            return oidc_error("AccessDeniedException", "access_denied", "The user denied the authorization.")
        if not device.approved:
            return oidc_error("AuthorizationPendingException", "authorization_pending", "Authorization is pending.")
        device.redeemed = True
        return self.tokens(device.client_id)

    def tokens(self, client_id: str) -> Response:
        access_token, refresh_token = "aoa" + secrets.token_urlsafe(48), "aor" + secrets.token_urlsafe(48)
        self.state.access_tokens[access_token] = self.now() + ACCESS_TOKEN_LIFETIME
        self.state.refresh_tokens[refresh_token] = client_id
        return json_response(
            {
                "accessToken": access_token,
                "tokenType": "Bearer",
                "expiresIn": ACCESS_TOKEN_LIFETIME,
                "refreshToken": refresh_token,
            }
        )

    # --- IAM Identity Center portal (sso) -----------------------------------------------------

    def portal(self, request: Request) -> Response:
        token = str(request.environ.get(SSO_TOKEN_ENVIRON, ""))
        expiry = self.state.access_tokens.get(token)
        if expiry is None or self.now() >= expiry:
            return portal_error("UnauthorizedException", 401, "Session token not found or invalid")
        if request.path == "/logout":
            if request.method != "POST":
                return portal_error("InvalidRequestException", 400, "Logout is a POST.")
            del self.state.access_tokens[token]
            return Response(status=200)
        if request.path == "/assignment/accounts":
            accounts: dict[str, dict[str, str]] = {}
            for a in self.state.assignments:
                accounts.setdefault(
                    a.account_id,
                    {"accountId": a.account_id, "accountName": a.account_name, "emailAddress": a.email_address},
                )
            return paged(request, "accountList", list(accounts.values()))
        account_id = request.args.get("account_id", "")
        if not account_id:
            return portal_error("InvalidRequestException", 400, "account_id is required.")
        roles = [a for a in self.state.assignments if a.account_id == account_id]
        if request.path == "/assignment/roles":
            return paged(request, "roleList", [{"roleName": a.role_name, "accountId": a.account_id} for a in roles])
        role_name = request.args.get("role_name", "")
        if not any(a.role_name == role_name for a in roles):
            return portal_error("ResourceNotFoundException", 404, "No access")
        credentials = self.issue_role_credentials(
            account_id, role_name, self.state.user_name, ROLE_CREDENTIALS_LIFETIME
        )
        return json_response({"roleCredentials": credentials})


def paged(request: Request, key: str, items: list[dict[str, str]]) -> Response:
    """One page of a portal listing: `max_result` items at most, `next_token` says where it starts."""
    token = request.args.get("next_token")
    size = request.args.get("max_result", str(PORTAL_PAGE_SIZE))
    if not size.isdigit() or int(size) < 1:
        return portal_error("InvalidRequestException", 400, "max_result must be a positive number.")
    start = 0
    if token is not None:
        if not token.startswith("page-") or not token[5:].isdigit():
            return portal_error("InvalidRequestException", 400, "The next_token is not valid.")
        start = int(token[5:])
    end = start + min(int(size), PORTAL_PAGE_SIZE)
    page: dict[str, Any] = {key: items[start:end]}
    if end < len(items):
        page["nextToken"] = f"page-{end}"
    return json_response(page)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json", headers=headers)


def text_response(message: str, status: int) -> Response:
    return Response(message, status=status, content_type="text/plain")


def oidc_error(shape: str, error: str, description: str) -> Response:
    status = 401 if shape == "InvalidClientException" else 400
    body = {"error": error, "error_description": description}
    return json_response(body, status, {"x-amzn-ErrorType": shape})


def portal_error(shape: str, status: int, message: str) -> Response:
    return json_response({"message": message}, status, {"x-amzn-ErrorType": shape})


def signin_url(endpoint: str, session: dict[str, str], duration: int | None = None) -> str:
    """The getSigninToken URL for `session` (sessionId, sessionKey, sessionToken); a test helper."""
    query = {"Action": "getSigninToken", "Session": json.dumps(session)}
    if duration is not None:
        query["SessionDuration"] = str(duration)
    return f"{endpoint}/federation?{urllib.parse.urlencode(query)}"
