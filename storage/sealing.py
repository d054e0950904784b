"""Encryption at rest for sensitive fields (one-time links in the outbox, card tokens).

MultiFernet over the configured keys: the first key encrypts, every key decrypts, so a key is
rotated by putting the new one first and calling ``rotate`` on stored values.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealError(ValueError):
    """A sealed value that no configured key opens."""


class Sealer:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

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
