"""Who is calling: OAuth 1.0a signatures, bearer tokens, and the OAuth 2.0 PKCE flow.

OAuth 1.0a: tweepy signs over ``https://api.twitter.com/...`` before the gateway's transport
adapter redirects the request here, so the signature base string is rebuilt with that origin
(``SIGNED_ORIGIN``), the request's own path and query, and verified with HMAC-SHA1 against the
consumer secret and the access token secret. A bad or missing signature is a 401 in X's format.

Bearer: an app-only token (allowed only where X allows it) or a user token issued by the
authorization-code-with-PKCE flow below (``/i/oauth2/authorize`` page, ``/2/oauth2/token``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlencode

from oauthlib.oauth1.rfc5849 import signature as oauth1_signature
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header, unescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bot.emulator.records import Refusal
from bot.emulator.state import EmulatorState

SIGNED_ORIGIN = "https://api.twitter.com"
CODE_TTL_SECONDS = 600
TOKEN_TTL_SECONDS = 7200

UNAUTHORIZED = Refusal(401, "Unauthorized", "Unauthorized")


def unsupported_authentication() -> Refusal:
    return Refusal(
        403,
        "Unsupported Authentication",
        "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
        "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
        "https://api.twitter.com/2/problems/unsupported-authentication",
    )


@dataclass(frozen=True)
class Principal:
    """The caller: a user (``user_id``) or the app alone (``user_id`` None)."""

    user_id: str | None
    subject: str  # rate-limit bucket: the user id, or "app:<key>"
    app_key: str = ""  # the calling app's consumer key (who owns webhooks, subscriptions)


def authenticate(state: EmulatorState, request: Request, *, user_context: bool) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "oauth":
        return _oauth1(state, request, header)
    if scheme.lower() == "bearer" and value:
        if value in state.bearer_tokens:
            user_id = state.bearer_tokens[value]
            first_app = next(iter(state.apps), "")
            return Principal(user_id=user_id, subject=user_id, app_key=first_app)
        app = next((a for a in state.apps.values() if a.bearer_token == value), None)
        if app is not None:
            if user_context:
                raise unsupported_authentication()
            return Principal(user_id=None, subject=f"app:{app.consumer_key}",
                             app_key=app.consumer_key)
    raise UNAUTHORIZED


def _oauth1(state: EmulatorState, request: Request, header: str) -> Principal:
    try:
        params = {k: unescape(v) for k, v in parse_authorization_header(header)}
    except ValueError:
        raise UNAUTHORIZED from None
    app = state.apps.get(params.get("oauth_consumer_key", ""))
    token = state.tokens.get(params.get("oauth_token", ""))
    if app is None or token is None or params.get("oauth_signature_method") != "HMAC-SHA1":
        raise UNAUTHORIZED
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"").decode("latin-1")
    collected = oauth1_signature.collect_parameters(
        uri_query=query, headers={"Authorization": header}, exclude_oauth_signature=True
    )
    base = oauth1_signature.signature_base_string(
        request.method,
        oauth1_signature.base_string_uri(SIGNED_ORIGIN + raw_path.decode("latin-1")),
        oauth1_signature.normalize_parameters(collected),
    )
    client = SimpleNamespace(client_secret=app.consumer_secret, resource_owner_secret=token.secret)
    expected = oauth1_signature.sign_hmac_sha1_with_client(base, client)
    if not secrets.compare_digest(expected, params.get("oauth_signature", "")):
        raise UNAUTHORIZED
    return Principal(user_id=token.user_id, subject=token.user_id, app_key=app.consumer_key)


# -- OAuth 2.0 authorization code with PKCE ----------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize app (X API emulator)</title></head>
<body>
<h1>Authorize {client} to use your account?</h1>
<p>Scopes: {scope}</p>
<form method="post" action="/i/oauth2/authorize">
{hidden}
<label>Sign in as @<input name="username" autocomplete="username" required></label>
<button name="decision" value="allow" type="submit">Authorize app</button>
<button name="decision" value="deny" type="submit" formnovalidate>Cancel</button>
</form>
</body></html>
"""
_FLOW_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def authorize_page(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    query = request.query_params
    if query.get("response_type") != "code" or not query.get("code_challenge"):
        return _oauth_error("invalid_request", "response_type=code and code_challenge are required")
    app = state.app_by_client_id(query.get("client_id", ""))
    if app is None or not query.get("redirect_uri"):
        return _oauth_error(
            "invalid_request", "Value passed for client_id or redirect_uri was invalid."
        )
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{html.escape(query.get(name, ""))}">'
        for name in _FLOW_FIELDS
    )
    page = _PAGE.format(
        client=html.escape(app.client_id), scope=html.escape(query.get("scope", "")), hidden=hidden
    )
    return HTMLResponse(page)


async def authorize_submit(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    form = await request.form()
    fields = {name: str(form.get(name, "")) for name in _FLOW_FIELDS}
    if state.app_by_client_id(fields["client_id"]) is None or not fields["redirect_uri"]:
        return _oauth_error(
            "invalid_request", "Value passed for client_id or redirect_uri was invalid."
        )
    separator = "&" if "?" in fields["redirect_uri"] else "?"
    if form.get("decision") != "allow":
        query = urlencode({"error": "access_denied", "state": fields["state"]})
        return RedirectResponse(fields["redirect_uri"] + separator + query, status_code=302)
    user = state.find_user(str(form.get("username", "")))
    if user is None:
        return HTMLResponse("<p>No such user in the emulator.</p>", status_code=400)
    code = secrets.token_urlsafe(32)
    state.auth_codes[code] = {
        **fields,
        "user_id": user.id,
        "expires": state.now() + CODE_TTL_SECONDS,
    }
    query = urlencode({"state": fields["state"], "code": code})
    return RedirectResponse(fields["redirect_uri"] + separator + query, status_code=302)


def _client_from(request: Request, form: dict[str, str]) -> tuple[str, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return "", None
        return client_id, secret
    return form.get("client_id", ""), None


async def token_endpoint(request: Request) -> Response:
    """``POST /2/oauth2/token``: authorization_code (with PKCE) and refresh_token grants."""
    state: EmulatorState = request.app.state.emulator
    form = {k: str(v) for k, v in (await request.form()).items()}
    client_id, client_secret = _client_from(request, form)
    app = state.app_by_client_id(client_id)
    if app is None or (client_secret is not None and client_secret != app.client_secret):
        return _oauth_error("unauthorized_client", "Missing valid authorization header", 401)
    grant = form.get("grant_type")
    if grant == "authorization_code":
        flow = state.auth_codes.pop(form.get("code", ""), None)
        if (
            flow is None
            or flow["expires"] < state.now()
            or flow["client_id"] != client_id
            or flow["redirect_uri"] != form.get("redirect_uri")
            or not _pkce_ok(flow, form.get("code_verifier", ""))
        ):
            return _oauth_error(
                "invalid_request", "Value passed for the authorization code was invalid."
            )
        user_id, scope = flow["user_id"], flow["scope"]
    elif grant == "refresh_token":
        user_id = state.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if user_id is None:
            return _oauth_error("invalid_request", "Value passed for the token was invalid.")
        scope = "offline.access"
    else:
        return _oauth_error("invalid_request", "Missing required parameter [grant_type].")
    access = secrets.token_urlsafe(32)
    refresh = secrets.token_urlsafe(32) if "offline.access" in scope.split() else None
    state.issue_bearer(user_id, access, refresh)
    body = {
        "token_type": "bearer",
        "expires_in": TOKEN_TTL_SECONDS,
        "access_token": access,
        "scope": scope,
    }
    if refresh:
        body["refresh_token"] = refresh
    return JSONResponse(body)


def _pkce_ok(flow: dict[str, str], verifier: str) -> bool:
    if not verifier:
        return False
    if flow.get("code_challenge_method", "plain") == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        computed = verifier
    return secrets.compare_digest(computed, flow["code_challenge"])
