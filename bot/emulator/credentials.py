"""The apps and tokens X knows: OAuth 1.0a consumer apps, access tokens, OAuth 2.0 bearers.

Mixed into ``EmulatorState``: uses its lock, ``_save`` and the ``apps``/``tokens``/
``bearer_tokens``/``refresh_tokens`` maps it owns.
"""

from __future__ import annotations

import threading

from bot.emulator.records import AccessToken, App


class Credentials:
    _lock: threading.RLock
    apps: dict[str, App]
    tokens: dict[str, AccessToken]
    bearer_tokens: dict[str, str]
    refresh_tokens: dict[str, str]

    def _save(self) -> None:
        raise NotImplementedError

    def add_app(self, app: App) -> App:
        with self._lock:
            self.apps[app.consumer_key] = app
            self._save()
            return app

    def app_by_client_id(self, client_id: str) -> App | None:
        return next((a for a in self.apps.values() if a.client_id == client_id), None)

    def add_access_token(self, user_id: str, token: str, secret: str) -> AccessToken:
        if not token.startswith(f"{user_id}-"):
            raise ValueError("X access tokens start with '<user id>-'")
        with self._lock:
            self.tokens[token] = AccessToken(token=token, secret=secret, user_id=user_id)
            self._save()
            return self.tokens[token]

    def issue_bearer(self, user_id: str, token: str, refresh: str | None) -> None:
        with self._lock:
            self.bearer_tokens[token] = user_id
            if refresh:
                self.refresh_tokens[refresh] = user_id
            self._save()
