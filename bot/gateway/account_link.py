"""Account linking: prove which X account a person holds (OAuth 2.0 code flow with PKCE)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests
import tweepy

from bot.gateway.errors import translate, translate_transport
from bot.gateway.transport import TWEEPY_API_ORIGIN, TWEEPY_AUTHORIZE_URL, HostRedirect, redirects
from bot.gateway.values import XUser, parse_user
from handlers.errors import Forbidden


@dataclass(frozen=True)
class LinkStart:
    authorize_url: str  # send the user's browser here
    state: str  # keep both server-side until the callback
    code_verifier: str = field(repr=False)


class AccountLink:
    """Prove which X account a person holds: the PKCE flow, then ``GET /2/users/me``."""

    def __init__(
        self,
        settings: Any,
        *,
        redirect_uri: str,
        base_url: str | None = None,
        scopes: tuple[str, ...] = ("tweet.read", "users.read"),
        timeout: float | None = None,
    ) -> None:
        self._base_url = (base_url or settings.x_api_base_url).rstrip("/")
        self._client_id = settings.x_client_id
        self._client_secret = settings.x_client_secret.get_secret_value() or None
        self._redirect_uri = redirect_uri
        self._scopes = list(scopes)
        self._timeout = timeout or settings.x_timeout_seconds

    def _handler(self) -> tweepy.OAuth2UserHandler:
        handler = tweepy.OAuth2UserHandler(
            client_id=self._client_id,
            redirect_uri=self._redirect_uri,
            scope=self._scopes,
            client_secret=self._client_secret,
        )
        handler.mount(TWEEPY_API_ORIGIN, HostRedirect(self._base_url, self._timeout))
        return handler

    def start(self) -> LinkStart:
        handler = self._handler()
        url = handler.get_authorization_url()
        if redirects(self._base_url):
            url = self._base_url + "/i/oauth2/authorize" + url[len(TWEEPY_AUTHORIZE_URL) :]
        return LinkStart(url, handler._state, handler._client.code_verifier)

    def finish(self, callback_url: str, state: str, code_verifier: str) -> XUser:
        """Exchange the code in ``callback_url`` and return the account that approved."""
        handler = self._handler()
        handler._state = state
        handler._client.code_verifier = code_verifier
        # oauthlib refuses a plain-http callback; only its query (code, state) is read here.
        secure = "https://" + callback_url.split("://", 1)[-1]
        try:
            token = handler.fetch_token(secure)
        except requests.RequestException as exc:
            raise translate_transport("oauth2_token", exc) from exc
        except Exception as exc:  # oauthlib: state mismatch, access_denied, invalid_grant
            raise Forbidden(f"oauth2_token: {exc.__class__.__name__}") from exc
        client = tweepy.Client(bearer_token=token["access_token"], return_type=requests.Response)
        client.session.mount(TWEEPY_API_ORIGIN, HostRedirect(self._base_url, self._timeout))
        try:
            response = client.get_me(user_auth=False)
        except tweepy.HTTPException as exc:
            raise translate("users_me", exc) from exc
        except requests.RequestException as exc:
            raise translate_transport("users_me", exc) from exc
        return parse_user(response.json()["data"])
