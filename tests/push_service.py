"""A stand-in for a Web Push service (FCM, Mozilla autopush...), over real HTTP on loopback.

It plays both ends a real push service joins: it makes subscriptions the way a browser does
(a P-256 key pair and a 16-byte auth secret, kept here, the public halves handed out), and it
receives what our sender POSTs to an endpoint, checks the VAPID header and decrypts the body
(RFC 8291, ``aes128gcm``) with the subscription's private key, as the browser would.

``answer(sub, *statuses)`` queues HTTP statuses for an endpoint (an outage: 503, a dead
subscription: 410); once the queue is empty it answers 201 Created.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    subscription: str
    payload: dict[str, Any]
    headers: dict[str, str]
    vapid_key: str  # the k= of the Authorization header: our application server key
    audience: str


@dataclass
class PushServiceStandIn:
    host: str = "127.0.0.1"
    keys: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    answers: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    posts: int = 0

    def __post_init__(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                stand_in.posts += 1
                sub = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                queued = stand_in.answers[sub]
                status = queued.popleft() if queued else 201
                if status == 201:
                    if sub not in stand_in.keys:
                        status = 404
                    else:
                        stand_in.receive(sub, body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def subscribe(self) -> dict[str, Any]:
        """A new subscription, as ``pushManager.subscribe()`` returns it (``toJSON()``)."""
        sub = _b64(os.urandom(12))
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.keys[sub] = (key, auth)
        public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": f"{self.base_url}/push/{sub}",
                "keys": {"p256dh": _b64(public), "auth": _b64(auth)}}

    @staticmethod
    def name(subscription: dict[str, Any]) -> str:
        return str(subscription["endpoint"]).rsplit("/", 1)[-1]

    def answer(self, subscription: dict[str, Any], *statuses: int) -> None:
        self.answers[self.name(subscription)].extend(statuses)

    def receive(self, sub: str, body: bytes, headers: dict[str, str]) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        assert lower.get("content-encoding") == "aes128gcm", lower
        key, auth = self.keys[sub]
        clear = http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm")
        scheme, _, params = lower["authorization"].partition(" ")
        assert scheme == "vapid", lower["authorization"]
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        claims = json.loads(_unb64(parts["t"].split(".")[1]))
        self.received.append(Received(sub, json.loads(clear), lower, parts["k"],
                                      str(claims["aud"])))

    def for_(self, subscription: dict[str, Any]) -> list[dict[str, Any]]:
        name = self.name(subscription)
        return [r.payload for r in self.received if r.subscription == name]
