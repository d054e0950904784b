"""A small client for the control API, for tests, the sandbox and scripts (requests only)."""

from __future__ import annotations

from typing import Any

import requests

from bot.emulator.sandbox import BotCredentials


class ControlClient:
    """Drive an emulator over HTTP: ``ControlClient("http://127.0.0.1:8765").tweet(...)``."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.request(
            method, f"{self.base_url}/_control/{path}", json=body, timeout=self.timeout
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} /_control/{path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def credentials(self) -> BotCredentials:
        return BotCredentials(**self._call("GET", "credentials"))

    def users(self) -> list[dict[str, Any]]:
        return self._call("GET", "users")["users"]

    def create_user(self, username: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "users", {"username": username, **fields})

    def update_user(self, ref: str, **changes: Any) -> dict[str, Any]:
        return self._call("PATCH", f"users/{ref}", changes)

    def tweet(self, author: str, text: str = "", **links: Any) -> dict[str, Any]:
        """``links``: in_reply_to, quote_of, retweet_of (tweet ids)."""
        return self._call("POST", "tweets", {"author": author, "text": text, **links})

    def tweets(self) -> list[dict[str, Any]]:
        return self._call("GET", "tweets")["tweets"]

    def dm(self, sender: str, text: str, recipient: str | None = None) -> dict[str, Any]:
        return self._call("POST", "dms", {"sender": sender, "text": text, "recipient": recipient})

    def chat(self, sender: str, text: str, recipient: str | None = None) -> dict[str, Any]:
        """``sender``'s X app writes to the bot (or ``recipient``) in X Chat, encrypted."""
        return self._call("POST", "chats",
                          {"sender": sender, "text": text, "recipient": recipient})

    def chats(self, user: str) -> list[dict[str, Any]]:
        """``user``'s conversation with the bot, as their X app decrypts it."""
        return self._call("GET", f"chats/{user}")["messages"]

    def dms(self) -> list[dict[str, Any]]:
        return self._call("GET", "dms")["dms"]

    def bot_posts(self) -> dict[str, list[dict[str, Any]]]:
        return self._call("GET", "bot/posts")

    def fault(self, endpoint: str, kind: str, count: int = 1, delay: float = 5.0) -> dict[str, Any]:
        body = {"endpoint": endpoint, "kind": kind, "count": count, "delay": delay}
        return self._call("POST", "faults", body)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def rate_limit(self, endpoint: str, limit: int, window: int = 900) -> None:
        self._call("POST", "rate_limits", {"endpoint": endpoint, "limit": limit, "window": window})

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "clock", {"seconds": seconds})

    def reset(self, seed: bool = True) -> None:
        self._call("POST", "reset", {"seed": seed})

    # -- the X Activity API and the cost meter (bot/emulator/activity_control.py) --

    def usage(self) -> dict[str, Any]:
        return self._call("GET", "usage")

    def reset_usage(self) -> None:
        self._call("DELETE", "usage")

    def activity(self) -> dict[str, Any]:
        return self._call("GET", "activity")

    def set_activity(self, **settings: Any) -> dict[str, Any]:
        return self._call("POST", "activity", settings)

    def wait_deliveries(self, timeout: float = 10.0) -> bool:
        return bool(self._call("POST", "activity/wait", {"timeout": timeout})["idle"])

    def revoke(self, user: str) -> None:
        self._call("POST", "revoke", {"user": user})
