"""The payout provider port: money out by SEPA credit transfer, beside the card port.

``PayoutProvider`` is what the withdrawal service (``bot.services.withdraw``) talks to;
``SandboxSepaProvider`` (``bot.payments.sepa_sandbox``) is the embedded default and the fake
of the tests. A licensed partner's API goes behind the same methods:

- ``check_payee(iban, name)``: Verification of Payee (EU Instant Payments Regulation):
  ``match``, ``close_match`` (with the name the bank holds) or ``no_match``;
- ``submit(request)``: send one transfer; idempotent on ``request.idempotency_key`` (our
  withdrawal id): the same key returns the same payout, never a second one;
- ``status(idempotency_key)``: what became of it (``None``: the provider never received it);
- ``payouts(since)``: every payout the provider holds, for reconciliation;
- ``verify_webhook(body, signature, now)``: a signed status notification, or ``WebhookRefused``.

Errors (all ``BusinessError``)::

    PayoutError          the provider refused the request (``code`` says why)
    PayoutTimeout        no answer in time: the payout may or may not exist (ask ``status``)
    WebhookRefused       a forged, stale or malformed status notification

A returned transfer is not an error: its state is ``returned`` with an ISO 20022 reason code
(``AC01`` wrong account number, ``AC04`` closed account, ``AM04`` insufficient funds at the
bank, ``MS03`` reason not specified).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from handlers.errors import BusinessError
from handlers.money import Money

Scheme = Literal["instant", "standard"]
PayoutStatus = Literal["pending", "settled", "returned"]
PayeeMatch = Literal["match", "close_match", "no_match"]
RETURN_CODES = ("AC01", "AC04", "AM04", "MS03")
SIGNATURE_TOLERANCE = dt.timedelta(minutes=5)


class PayoutError(BusinessError):
    """The provider refused the request; ``code`` is its machine-readable reason."""

    code = "payout_error"


class PayoutTimeout(PayoutError):
    """No answer in time. The provider may have recorded the payout: ask ``status``."""

    code = "timeout"


class WebhookRefused(PayoutError):
    """``bad_signature``, ``stale`` (outside the tolerance: a replay) or ``malformed``."""

    code = "webhook_refused"


@dataclass(frozen=True, slots=True)
class PayeeCheck:
    result: PayeeMatch
    suggested_name: str | None = None  # for close_match: the name the bank holds


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    idempotency_key: str
    iban: str
    holder_name: str
    amount: Money
    scheme: Scheme
    reference: str  # the remittance information the holder's bank shows

    def __repr__(self) -> str:  # an IBAN is personal data: keep it out of logs
        return f"PayoutRequest(key={self.idempotency_key!r}, amount={self.amount})"


@dataclass(frozen=True, slots=True)
class PayoutState:
    """The provider's view of one payout."""

    payout_id: str
    idempotency_key: str
    status: PayoutStatus
    amount: Money
    scheme: Scheme
    return_code: str | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    event_id: str
    state: PayoutState


class PayoutProvider(Protocol):
    name: str

    def check_payee(self, iban: str, name: str) -> PayeeCheck: ...

    def submit(self, request: PayoutRequest) -> PayoutState: ...

    def status(self, idempotency_key: str) -> PayoutState | None: ...

    def payouts(self, since: dt.datetime | None = None) -> list[PayoutState]: ...

    def verify_webhook(self, body: bytes, signature: str, now: dt.datetime) -> WebhookEvent: ...


# -- signed notifications (the scheme real providers use: HMAC over "timestamp.body") ---------


def sign(secret: bytes, body: bytes, at: dt.datetime) -> str:
    stamp = int(at.timestamp())
    mac = hmac.new(secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def verify(secret: bytes, body: bytes, signature: str, now: dt.datetime,
           tolerance: dt.timedelta = SIGNATURE_TOLERANCE) -> dict[str, Any]:
    """The notification's JSON if the signature is ours and fresh, else ``WebhookRefused``.

    The MAC is compared in constant time; a notification older (or newer) than ``tolerance``
    is refused even with a good MAC, so a captured one cannot be replayed later.
    """
    parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
    stamp, mac = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isascii() or not stamp.isdigit() or not mac:
        raise WebhookRefused("malformed signature header", code="malformed")
    expected = hmac.new(secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        raise WebhookRefused("bad signature", code="bad_signature")
    at = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
    if abs(now - at) > tolerance:
        raise WebhookRefused("signature outside the tolerance", code="stale")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise WebhookRefused("body is not JSON", code="malformed") from exc
    if not isinstance(data, dict):
        raise WebhookRefused("body is not an object", code="malformed")
    return data


def state_to_json(state: PayoutState) -> dict[str, Any]:
    return {"payout_id": state.payout_id, "idempotency_key": state.idempotency_key,
            "status": state.status, "amount_cents": state.amount.cents, "scheme": state.scheme,
            "return_code": state.return_code,
            "updated_at": state.updated_at.isoformat() if state.updated_at else None}


def state_from_json(data: Any) -> PayoutState:
    try:
        status, scheme = data["status"], data["scheme"]
        if status not in ("pending", "settled", "returned") or scheme not in ("instant",
                                                                               "standard"):
            raise ValueError(status)
        code = data.get("return_code")
        if code is not None and code not in RETURN_CODES:
            raise ValueError(code)
        cents = data["amount_cents"]
        if type(cents) is not int or cents <= 0:
            raise ValueError(cents)
        updated = data.get("updated_at")
        return PayoutState(str(data["payout_id"]), str(data["idempotency_key"]), status,
                           Money(cents), scheme, code,
                           dt.datetime.fromisoformat(updated) if updated else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise WebhookRefused("not a payout state", code="malformed") from exc


__all__ = [
    "RETURN_CODES",
    "PayeeCheck",
    "PayeeMatch",
    "PayoutError",
    "PayoutProvider",
    "PayoutRequest",
    "PayoutState",
    "PayoutStatus",
    "PayoutTimeout",
    "Scheme",
    "WebhookEvent",
    "WebhookRefused",
    "sign",
    "verify",
]
