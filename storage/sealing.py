"""Encryption at rest for sensitive fields (one-time links in the outbox, card tokens).

MultiFernet over the configured keys: the first key encrypts, every key decrypts, so a key is
rotated by putting the new one first and calling ``rotate`` on stored values.

The same keys also sign: ``mac`` is an HMAC-SHA256 under a key derived from the newest data
key (a separate derived key, never the encryption key itself), and ``mac_ok`` accepts a MAC
made under any configured key, so rotation does not break what was signed just before it.
Payment intents carry such a MAC over their amount, payee and memo (PSD2 dynamic linking:
``handlers.binding``); passkey challenges are derived the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

_MAC_LABEL = b"tweetpay-mac-v1"


class SealError(ValueError):
    """A sealed value that no configured key opens."""


class Sealer:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        # One MAC key per data key, derived so a MAC never reveals anything about the key
        # that encrypts (Fernet's own signing half stays its own).
        self._mac_keys = [
            hmac.new(base64.urlsafe_b64decode(key.encode()), _MAC_LABEL, hashlib.sha256).digest()
            for key in keys
        ]

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SealError("no configured key opens this value") from exc

    def rotate(self, sealed: str) -> str:
        """Re-encrypt with the newest key."""
        return self._fernet.rotate(sealed.encode()).decode()

    # -- MACs -----------------------------------------------------------------------------------

    @staticmethod
    def _message(label: str, parts: Sequence[Any]) -> bytes:
        # JSON: an unambiguous encoding of the parts, whatever characters a memo holds.
        return json.dumps([label, *parts], ensure_ascii=False, separators=(",", ":")).encode()

    def mac_bytes(self, label: str, *parts: Any) -> bytes:
        """HMAC-SHA256 (32 bytes) of ``label`` and ``parts`` under the newest key."""
        return hmac.new(self._mac_keys[0], self._message(label, parts), hashlib.sha256).digest()

    def mac_candidates(self, label: str, *parts: Any) -> list[bytes]:
        """The MAC under every configured key, newest first (what ``mac_ok`` accepts)."""
        message = self._message(label, parts)
        return [hmac.new(key, message, hashlib.sha256).digest() for key in self._mac_keys]

    def mac(self, label: str, *parts: Any) -> str:
        return self.mac_bytes(label, *parts).hex()

    def mac_ok(self, mac: str | None, label: str, *parts: Any) -> bool:
        """Constant-time: was ``mac`` made over exactly these parts under one of our keys?"""
        if not mac:
            return False
        given = mac.encode()
        found = False
        for candidate in self.mac_candidates(label, *parts):
            found |= hmac.compare_digest(candidate.hex().encode(), given)
        return found
