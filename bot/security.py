"""One-time tokens and PIN hashing.

Tokens: 256 bits from ``secrets``; only their SHA-256 is stored, so a copy of the database
gives no usable link. PINs: HMAC-SHA256 with a pepper kept outside the database, then
Argon2id: a stolen database alone cannot be brute-forced over the million 6-digit PINs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TOKEN_BYTES = 32  # 256 bits


def new_token() -> tuple[str, str]:
    """Return ``(token, sha256_hex)``: the token goes in the link, the hash in the database."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PinHasher:
    """Argon2id over a peppered PIN (OWASP parameters: m=19 MiB, t=2, p=1)."""

    def __init__(self, pepper: str, *, time_cost: int = 2, memory_kib: int = 19 * 1024) -> None:
        self._pepper = pepper.encode()
        self._argon = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)

    def _peppered(self, pin: str) -> str:
        return hmac.new(self._pepper, pin.encode(), hashlib.sha256).hexdigest()

    def hash(self, pin: str) -> str:
        return self._argon.hash(self._peppered(pin))

    def verify(self, pin_hash: str, pin: str) -> bool:
        """Constant-time check (argon2 compares in constant time); False on any mismatch."""
        try:
            return self._argon.verify(pin_hash, self._peppered(pin))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, pin_hash: str) -> bool:
        return self._argon.check_needs_rehash(pin_hash)
