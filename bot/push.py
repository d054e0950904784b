"""The Web Push port and its adapter over pywebpush.

``PushService.send`` delivers one encrypted payload to one subscription and answers the push
service's HTTP status; a transport failure (connection refused, timeout) raises
``PushUnavailable`` so the caller retries later. pywebpush encrypts the payload as RFC 8291
says (``aes128gcm``) and signs a VAPID JWT (RFC 8292) with our key, from the settings.

VAPID keys: ``vapid_private_key`` is the raw 32-byte P-256 private value, urlsafe base64;
the browser needs the public point (``application_server_key``) to subscribe.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid
from pywebpush import WebPushException, webpush


class PushUnavailable(Exception):
    """The push service could not be reached: try again later."""


class PushService(Protocol):
    def send(self, subscription: dict[str, Any], payload: str, *, ttl: int,
             topic: str) -> int: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def private_key(raw_b64: str) -> ec.EllipticCurvePrivateKey:
    value = int.from_bytes(_unb64(raw_b64)[:32], "big")
    # Any 32 bytes make a key: reduce into [1, n-1] (the sandbox key is a hash).
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return ec.derive_private_key(value % (order - 1) + 1, ec.SECP256R1())


def application_server_key(raw_b64: str) -> str:
    """The public key the browser's ``pushManager.subscribe`` needs (uncompressed point)."""
    point = private_key(raw_b64).public_key().public_bytes(Encoding.X962,
                                                           PublicFormat.UncompressedPoint)
    return _b64(point)


def new_vapid_key() -> tuple[str, str]:
    """A fresh (private, public) VAPID pair, both urlsafe base64 (``tweetpay keys vapid``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return _b64(raw), application_server_key(_b64(raw))


class WebPushService:
    """Web Push over HTTP with pywebpush (``requests`` underneath, one pooled session)."""

    def __init__(self, vapid_private_key: str, subject: str, *, timeout: float = 10.0) -> None:
        key = private_key(vapid_private_key)
        raw = key.private_numbers().private_value.to_bytes(32, "big")
        self._vapid = Vapid.from_raw(_b64(raw).encode())
        self._subject = subject
        self._timeout = timeout
        self._http = requests.Session()

    def send(self, subscription: dict[str, Any], payload: str, *, ttl: int, topic: str) -> int:
        try:
            response = webpush(
                subscription, payload, vapid_private_key=self._vapid,
                vapid_claims={"sub": self._subject}, content_encoding="aes128gcm",
                timeout=self._timeout, ttl=ttl,
                # Urgency: a payment waits on it; Topic: a push service holding an undelivered
                # message with the same topic replaces it (a resend after a crash shows once).
                headers={"Urgency": "high", "Topic": topic},
                requests_session=self._http,
            )
        except WebPushException as exc:
            if exc.response is None:
                raise PushUnavailable(str(exc)) from exc
            return int(exc.response.status_code)
        except requests.RequestException as exc:
            raise PushUnavailable(type(exc).__name__) from exc
        return int(response.status_code)
