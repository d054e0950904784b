"""The sandbox card issuer's 3-D Secure challenges (the bank's side of the sandbox acquirer).

A challenge belongs to one charge and lives 10 minutes. The payer answers it on the issuer's
page (``bot.web.three_ds_pages``): the page asks ``answer`` for a signed result (HMAC with the
issuer's key, over the challenge, the charge and the outcome), and the payer's browser carries
it back to the merchant, who hands it to the acquirer (``SandboxProvider
.complete_authentication`` → ``redeem``). ``redeem`` accepts a result once: a replayed or
forged result is refused, and an answer given after the deadline counts as timed out.

What the issuer does depends on the test card (``THREE_DS_CARDS``): ``succeeds`` (the payer
approves; refusing is a failure), ``fails`` (whatever the payer does), ``times_out`` (the
issuer never answers in time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from typing import Any

from bot.payments import PaymentError

TTL = dt.timedelta(minutes=10)
PATH = "/sandbox/3ds/"


class SandboxIssuer:
    def __init__(self, clock: Callable[[], dt.datetime], lock: threading.Lock,
                 save: Callable[[], None]) -> None:
        self._clock = clock
        self._lock = lock  # the provider's: callers hold it, or ``answer`` takes it
        self._save = save
        self._key = secrets.token_bytes(32)
        self._challenges: dict[str, dict[str, Any]] = {}
        self._by_charge: dict[str, str] = {}

    def state(self) -> dict[str, Any]:
        return {"key": self._key.hex(), "challenges": self._challenges}

    def load(self, data: dict[str, Any]) -> None:
        if data.get("key"):
            self._key = bytes.fromhex(data["key"])
        self._challenges = data.get("challenges", {})
        self._by_charge = {c["charge_id"]: cid for cid, c in self._challenges.items()}

    # -- the acquirer's side (called under the provider's lock) ----------------------------

    def open(self, charge_id: str, behaviour: str, return_url: str, *, amount_cents: int,
             last4: str) -> str:
        challenge_id = "3ds_" + secrets.token_hex(12)
        self._challenges[challenge_id] = {
            "charge_id": charge_id, "behaviour": behaviour, "return_url": return_url,
            "amount_cents": amount_cents, "last4": last4,
            "expires_at": (self._clock() + TTL).isoformat(), "redeemed": False,
        }
        self._by_charge[charge_id] = challenge_id
        return challenge_id

    def url_for(self, charge_id: str) -> str | None:
        challenge_id = self._by_charge.get(charge_id)
        return PATH + challenge_id if challenge_id else None

    def redeem(self, charge_id: str, result: str) -> str:
        """The outcome a genuine, unused result for this charge carries; else PaymentError."""
        challenge_id, outcome, mac = [*result.split("."), "", "", ""][:3]
        challenge = self._challenges.get(challenge_id)
        if (challenge is None or challenge["charge_id"] != charge_id
                or not hmac.compare_digest(mac, self._sign(challenge_id, charge_id, outcome))):
            raise PaymentError("this challenge result is not the issuer's",
                               code="challenge_invalid")
        if challenge["redeemed"]:
            raise PaymentError("this challenge result was already used",
                               code="challenge_replayed")
        challenge["redeemed"] = True
        if self._clock() >= dt.datetime.fromisoformat(challenge["expires_at"]):
            return "timed_out"
        return outcome

    # -- the issuer's page -----------------------------------------------------------------

    def view(self, challenge_id: str) -> dict[str, Any] | None:
        with self._lock:
            challenge = self._challenges.get(challenge_id)
            return dict(challenge, id=challenge_id) if challenge else None

    def answer(self, challenge_id: str, approve: bool) -> tuple[str, str, str]:
        """The payer's answer on the issuer's page: (return URL, charge id, signed result)."""
        with self._lock:
            challenge = self._challenges.get(challenge_id)
            if challenge is None:
                raise PaymentError("no such challenge", code="resource_missing")
            behaviour = challenge["behaviour"]
            if behaviour == "times_out":
                outcome = "timed_out"
            elif behaviour == "fails" or not approve:
                outcome = "failed"
            else:
                outcome = "authenticated"
            charge_id = challenge["charge_id"]
            signed = f"{challenge_id}.{outcome}.{self._sign(challenge_id, charge_id, outcome)}"
            self._save()
            return challenge["return_url"], charge_id, signed

    def _sign(self, challenge_id: str, charge_id: str, outcome: str) -> str:
        message = f"{challenge_id}|{charge_id}|{outcome}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
