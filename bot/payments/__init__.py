"""The payment provider port: tokenize a card, charge a token, refund a charge.

One small interface per outside service (docs/design.md): ``PaymentProvider`` is what the top-up
service (``storage.topups``) talks to; ``SandboxProvider`` (``bot.payments.sandbox``) is the
embedded default and the fake of the tests. A real acquirer goes behind the same three methods.

Errors (all ``BusinessError``: they become a page message, never a crash)::

    PaymentError            the provider refused the request (code says why)
    └── CardRefused         the card details are unusable (bad number, expired, bad CVC…)

A charge the issuer must authenticate (3-D Secure, strong customer authentication for
card-not-present payments in the EU) comes back ``requires_action`` with the challenge page's
URL; nothing is captured until ``complete_authentication`` accepts the issuer's signed result.

A *declined* charge is not an error: ``charge`` returns a ``ChargeResult`` whose status is
``"declined"`` with the provider's ``decline_code``, exactly as acquirers report it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from handlers.errors import BusinessError
from handlers.money import Money

ChargeStatus = Literal["succeeded", "declined", "requires_action"]


class PaymentError(BusinessError):
    """The provider refused the request; ``code`` is its machine-readable reason."""

    code = "payment_error"


class CardRefused(PaymentError):
    """Card details refused at tokenization: ``invalid_number``, ``incorrect_number`` (Luhn),
    ``invalid_expiry_month``, ``invalid_expiry_year``, ``expired_card``, ``invalid_cvc``,
    ``card_not_supported``."""

    code = "card_refused"

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code, code=code)


@dataclass(frozen=True, slots=True)
class CardToken:
    """What the provider gives back for a card: never the number, a token to charge."""

    token: str
    last4: str
    exp_month: int
    exp_year: int
    brand: str

    def __repr__(self) -> str:  # the token is a credential: keep it out of logs
        return f"CardToken(brand={self.brand!r}, last4={self.last4!r})"


@dataclass(frozen=True, slots=True)
class ChargeResult:
    id: str
    status: ChargeStatus
    amount: Money
    decline_code: str | None = None
    # requires_action: the issuer's 3-D Secure challenge page to send the payer to.
    challenge_url: str | None = None
    three_ds: str | None = None  # 'authenticated', 'failed', 'timed_out'; None: not asked


@dataclass(frozen=True, slots=True)
class RefundResult:
    id: str
    charge_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class ChargeRecord:
    """The provider's record of one charge and what was refunded of it (reconciliation)."""

    id: str
    status: ChargeStatus
    amount: Money
    refunded: Money
    created_at: str  # ISO 8601, as the provider stamped it


class PaymentProvider(Protocol):
    """A card acquirer. ``charge`` is idempotent on ``idempotency_key``: the same key returns
    the same charge (never a second one), whatever the number of retries."""

    name: str

    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str) -> CardToken:
        """Validate the card and return its token; raise ``CardRefused`` on bad input."""
        ...

    def charge(self, token: str, amount: Money, idempotency_key: str, *,
               authenticate: bool = False, return_url: str = "") -> ChargeResult:
        """``authenticate``: ask the issuer for 3-D Secure (the charge comes back
        ``requires_action`` with its ``challenge_url``; the issuer may ask on its own)."""
        ...

    def complete_authentication(self, charge_id: str, result: str) -> ChargeResult:
        """The issuer's signed challenge result: capture (succeeded) or decline. A result is
        accepted once; a replay raises ``PaymentError('challenge_replayed')``."""
        ...

    def refund(self, charge_id: str, amount: Money) -> RefundResult: ...

    def charges(self) -> list[ChargeRecord]:
        """Every charge the provider holds (``tweetpay reconcile`` compares them)."""
        ...


__all__ = [
    "CardRefused",
    "CardToken",
    "ChargeRecord",
    "ChargeResult",
    "ChargeStatus",
    "PaymentError",
    "PaymentProvider",
    "RefundResult",
]
