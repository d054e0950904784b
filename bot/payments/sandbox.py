"""A sandbox card acquirer that behaves like a real one, with published-style test cards.

| number                | tokenize | charge                                  |
|-----------------------|----------|-----------------------------------------|
| 4242 4242 4242 4242   | ok       | succeeded (Visa)                        |
| 5555 5555 5555 4444   | ok       | succeeded (Mastercard)                  |
| 4000 0000 0000 0002   | ok       | declined ``generic_decline``            |
| 4000 0000 0000 9995   | ok       | declined ``insufficient_funds``         |
| 4000 0000 0000 0069   | ok       | declined ``expired_card``               |
| 4000 0000 0000 0127   | ok       | declined ``incorrect_cvc``              |
| 4000 0027 6000 3184   | ok       | 3-D Secure always; succeeds if the payer approves |
| 4000 0084 0000 1629   | ok       | 3-D Secure always; the issuer fails it  |
| 4000 0000 0000 3220   | ok       | 3-D Secure always; the issuer times out |
| any other number      | refused: ``incorrect_number`` if the Luhn check fails, else      |
|                       | ``card_not_supported`` (a real card number in the sandbox)        |

3-D Secure: a charge asked with ``authenticate=True`` (or on a card above that always asks)
comes back ``requires_action`` with the sandbox issuer's challenge page
(``/sandbox/3ds/<id>``, ``bot.web.three_ds_pages``); nothing is captured until
``complete_authentication`` receives the result that page signed, once, within 10 minutes.

Tokenization also refuses a past expiry (``expired_card``, against the injected clock; a card
is valid until the end of its expiry month), a month outside 1–12, a year beyond 20 years, and
a CVC that is not 3 digits (4 for American Express). Charges are idempotent on their key: the
same key returns the same charge; the same key with another token or amount is refused
(``idempotency_key_reused``), as real acquirers do. Refunds never exceed what was charged.

State lives in memory, optionally in a JSON file (the sandbox keeps it in the data dir) so a
restart still knows its tokens and charges. Thread-safe: the web app calls it from a pool.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.payments import (
    CardRefused,
    CardToken,
    ChargeRecord,
    ChargeResult,
    PaymentError,
    RefundResult,
)
from bot.payments.sandbox_issuer import SandboxIssuer
from handlers.money import Money

Clock = Callable[[], dt.datetime]

# number → (brand, decline code at charge time or None)
TEST_CARDS: dict[str, tuple[str, str | None]] = {
    "4242424242424242": ("visa", None),
    "5555555555554444": ("mastercard", None),
    "4000000000000002": ("visa", "generic_decline"),
    "4000000000009995": ("visa", "insufficient_funds"),
    "4000000000000069": ("visa", "expired_card"),
    "4000000000000127": ("visa", "incorrect_cvc"),
    "4000002760003184": ("visa", None),
    "4000008400001629": ("visa", None),
    "4000000000003220": ("visa", None),
}
# number → what the issuer does with its 3-D Secure challenge (it asks for every charge).
THREE_DS_CARDS = {
    "4000002760003184": "succeeds",
    "4000008400001629": "fails",
    "4000000000003220": "times_out",
}
_SEPARATORS = re.compile(r"[ \-]")
_MAX_YEARS_AHEAD = 20


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check every card number carries in its last digit."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in ("34", "37"):
        return "amex"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    return "unknown"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SandboxProvider:
    """``PaymentProvider`` for the sandbox and the tests."""

    name = "sandbox"

    def __init__(self, *, clock: Clock = _utcnow, state_file: Path | None = None) -> None:
        self._clock = clock
        self._file = state_file
        self._lock = threading.Lock()
        # token → brand, last4, expiry and the test card's behaviour; never the number.
        self._tokens: dict[str, dict[str, Any]] = {}
        self._charges: dict[str, dict[str, Any]] = {}
        self._by_key: dict[str, str] = {}
        self._refunds: dict[str, dict[str, Any]] = {}
        self.issuer = SandboxIssuer(clock, self._lock, self._save)
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # -- the port ---------------------------------------------------------------------------

    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str) -> CardToken:
        digits = _SEPARATORS.sub("", number or "")
        if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise CardRefused("invalid_number", "the card number must be 12 to 19 digits")
        if not luhn_ok(digits):
            raise CardRefused("incorrect_number", "the card number is incorrect")
        month, year = self._expiry(exp_month, exp_year)
        brand = brand_of(digits)
        cvc_length = 4 if brand == "amex" else 3
        if not (isinstance(cvc, str) and cvc.isascii() and cvc.isdigit()
                and len(cvc) == cvc_length):
            raise CardRefused("invalid_cvc", f"the security code must be {cvc_length} digits")
        known = TEST_CARDS.get(digits)
        if known is None:
            raise CardRefused(
                "card_not_supported", "the sandbox accepts only its test cards (see README)"
            )
        token = "tok_" + secrets.token_hex(12)
        with self._lock:
            self._tokens[token] = {
                "brand": known[0], "last4": digits[-4:], "exp_month": month, "exp_year": year,
                "decline_code": known[1], "issuer": THREE_DS_CARDS.get(digits),
            }
            self._save()
        return CardToken(token, digits[-4:], month, year, known[0])

    def charge(self, token: str, amount: Money, idempotency_key: str, *,
               authenticate: bool = False, return_url: str = "") -> ChargeResult:
        if not isinstance(amount, Money) or amount.cents <= 0:
            raise PaymentError("a charge is a positive amount", code="invalid_amount")
        if not idempotency_key:
            raise PaymentError("an idempotency key is required", code="missing_idempotency_key")
        with self._lock:
            charge_id = self._by_key.get(idempotency_key)
            if charge_id is not None:
                charge = self._charges[charge_id]
                if (charge["token"], charge["amount_cents"]) != (token, amount.cents):
                    raise PaymentError(
                        "this idempotency key was used for another charge",
                        code="idempotency_key_reused",
                    )
                return self._result(charge_id)
            card = self._tokens.get(token)
            if card is None:
                raise PaymentError("no such card token", code="resource_missing")
            decline = card["decline_code"]
            if decline is None and self._past_expiry(card["exp_month"], card["exp_year"]):
                decline = "expired_card"  # the card expired after it was saved
            charge_id = "ch_" + secrets.token_hex(12)
            self._charges[charge_id] = {
                "token": token, "amount_cents": amount.cents,
                "status": "declined" if decline else "succeeded", "decline_code": decline,
                "refunded_cents": 0, "created_at": self._clock().isoformat(),
            }
            if decline is None and (authenticate or card.get("issuer")):
                # Authorised, not captured: the issuer's challenge decides.
                self._charges[charge_id] |= {"status": "requires_action"}
                self.issuer.open(charge_id, card.get("issuer") or "succeeds", return_url,
                                 amount_cents=amount.cents, last4=card["last4"])
            self._by_key[idempotency_key] = charge_id
            self._save()
            return self._result(charge_id)

    def complete_authentication(self, charge_id: str, result: str) -> ChargeResult:
        with self._lock:
            charge = self._charges.get(charge_id)
            if charge is None:
                raise PaymentError("no such charge", code="resource_missing")
            outcome = self.issuer.redeem(charge_id, result)  # raises on a replay or forgery
            if charge["status"] == "requires_action":
                if outcome == "authenticated":
                    charge |= {"status": "succeeded", "three_ds": outcome}
                else:
                    code = ("authentication_timed_out" if outcome == "timed_out"
                            else "authentication_failed")
                    charge |= {"status": "declined", "decline_code": code, "three_ds": outcome}
            self._save()
            return self._result(charge_id)

    def refund(self, charge_id: str, amount: Money) -> RefundResult:
        if not isinstance(amount, Money) or amount.cents <= 0:
            raise PaymentError("a refund is a positive amount", code="invalid_amount")
        with self._lock:
            charge = self._charges.get(charge_id)
            if charge is None:
                raise PaymentError("no such charge", code="resource_missing")
            if charge["status"] != "succeeded":
                raise PaymentError("a declined charge cannot be refunded",
                                   code="charge_not_refundable")
            left = charge["amount_cents"] - charge["refunded_cents"]
            if amount.cents > left:
                raise PaymentError(f"at most {Money(left)} can still be refunded",
                                   code="amount_too_large")
            charge["refunded_cents"] += amount.cents
            refund_id = "re_" + secrets.token_hex(12)
            self._refunds[refund_id] = {"charge_id": charge_id, "amount_cents": amount.cents}
            self._save()
            return RefundResult(refund_id, charge_id, amount)

    def charges(self) -> list[ChargeRecord]:
        with self._lock:
            return [ChargeRecord(cid, c["status"], Money(c["amount_cents"]),
                                 Money(c["refunded_cents"]), c["created_at"])
                    for cid, c in self._charges.items()]

    # -- inspection (tests, sandbox) ---------------------------------------------------------

    def charge_count(self) -> int:
        with self._lock:
            return len(self._charges)

    def refunded(self, charge_id: str) -> Money:
        with self._lock:
            return Money(self._charges[charge_id]["refunded_cents"])

    # -- internals --------------------------------------------------------------------------

    def _expiry(self, exp_month: int, exp_year: int) -> tuple[int, int]:
        if type(exp_month) is not int or not 1 <= exp_month <= 12:
            raise CardRefused("invalid_expiry_month", "the expiry month must be 1 to 12")
        if type(exp_year) is not int or exp_year < 0:
            raise CardRefused("invalid_expiry_year", "the expiry year is not a year")
        year = exp_year + 2000 if exp_year < 100 else exp_year
        if year > self._clock().year + _MAX_YEARS_AHEAD:
            raise CardRefused("invalid_expiry_year", "the expiry year is too far ahead")
        if self._past_expiry(exp_month, year):
            raise CardRefused("expired_card", "the card has expired")
        return exp_month, year

    def _past_expiry(self, month: int, year: int) -> bool:
        now = self._clock().astimezone(dt.UTC)
        return (year, month) < (now.year, now.month)  # valid through its expiry month

    def _result(self, charge_id: str) -> ChargeResult:
        c = self._charges[charge_id]
        url = self.issuer.url_for(charge_id) if c["status"] == "requires_action" else None
        return ChargeResult(charge_id, c["status"], Money(c["amount_cents"]), c["decline_code"],
                            challenge_url=url, three_ds=c.get("three_ds"))

    def _save(self) -> None:
        if self._file is None:
            return
        data = {"tokens": self._tokens, "charges": self._charges, "by_key": self._by_key,
                "refunds": self._refunds, "issuer": self.issuer.state()}
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_name(self._file.name + ".tmp")
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, self._file)  # atomic: a crash leaves the old or the new state

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self._tokens = data.get("tokens", {})
        self._charges = data.get("charges", {})
        self._by_key = data.get("by_key", {})
        self._refunds = data.get("refunds", {})
        self.issuer.load(data.get("issuer", {}))


def make_provider(settings: Any, clock: Clock = _utcnow) -> SandboxProvider:
    """The provider the settings name (only the sandbox exists yet), state in the data dir."""
    state_file = Path(settings.data_dir) / "payments-sandbox.json"
    return SandboxProvider(clock=clock, state_file=state_file)
