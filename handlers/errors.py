"""Every error tweetpay raises on purpose, in one tree (tests/unit/test_errors.py checks this
drawing against the classes as they are; the module is named where a class lives elsewhere,
beside the code that raises it).

    TweetpayError
    ├── BusinessError                a known refusal: becomes a reply or a page, never a crash
    │   ├── GrammarError             the text is not a command we can act on (handlers.grammar)
    │   ├── LedgerError
    │   │   ├── InsufficientFunds    the debit account would go below zero
    │   │   ├── IdempotencyConflict  same idempotency key, different content
    │   │   └── UnknownAccount
    │   ├── BankDetailsError         an IBAN or holder name we refuse (handlers.bank_details)
    │   ├── TopUpRefused             refused before the card provider sees it (storage.topups)
    │   ├── ProRefused               a Pro account we cannot create (storage.pro)
    │   ├── WithdrawRefused          refused before any money moves (bot.services.payout_common)
    │   ├── PaymentError             the card provider refused (bot.payments)
    │   │   └── CardRefused          the card itself: number, expiry, CVC
    │   └── PayoutError              the payout provider refused (bot.payments.payouts)
    │       ├── PayoutTimeout        no answer in time: the transfer's fate is unknown
    │       └── WebhookRefused       a payout webhook we do not trust
    ├── TransitionLost               another process moved the row first (storage.transitions):
    │                                transient, the work is done again from fresh facts
    └── GatewayError                 talking to X failed (bot.gateway)
        ├── RateLimited              429; carries the reset time
        ├── Forbidden                403 (duplicate tweet, DMs closed…)
        ├── NotFound                 404
        └── Transient                5xx, no connection: X did nothing, retry later
            └── AnswerLost           connection lost, malformed answer: X may have acted
                └── TimedOut         no answer within the gateway's timeout

Bugs are not in this tree: they propagate and are logged with their context.
"""

from __future__ import annotations

import datetime as dt


class TweetpayError(Exception):
    """Base of every error raised on purpose."""


class BusinessError(TweetpayError):
    """A known refusal, with a machine-readable ``code`` that maps to a user-facing text."""

    code: str = "business_error"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message or self.code)
        if code is not None:
            self.code = code


class GrammarError(BusinessError):
    """The text is not a command we can act on.

    ``handlers.grammar.parse`` *returns* it (so no caller can forget it) with ``code`` (stable,
    for logs and tests), ``lang`` (that of the message) and ``text``, the reply to send, which
    fits in a post.
    """

    code = "grammar_error"

    def __init__(self, code: str, lang: str, text: str) -> None:
        super().__init__(text, code=code)
        self.lang = lang
        self.text = text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GrammarError):
            return NotImplemented
        return (self.code, self.lang, self.text) == (other.code, other.lang, other.text)

    def __hash__(self) -> int:
        return hash((self.code, self.lang, self.text))

    def __repr__(self) -> str:
        return f"GrammarError({self.code!r}, {self.lang!r})"


class LedgerError(BusinessError):
    code = "ledger_error"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"


class UnknownAccount(LedgerError):
    code = "unknown_account"


class TransitionLost(TweetpayError):
    """A guarded state change found the row already moved by someone else: nothing was
    written for it; the caller rolls back and handles its input again."""


class GatewayError(TweetpayError):
    """Talking to the X API failed."""


class RateLimited(GatewayError):
    def __init__(self, message: str, reset_at: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class Forbidden(GatewayError):
    pass


class NotFound(GatewayError):
    pass


class Transient(GatewayError):
    pass


class AnswerLost(Transient):
    """The request may have reached X but no usable answer came back (connection reset,
    malformed body): X may have acted. A write is then in doubt, like after a crash."""


class TimedOut(AnswerLost):
    pass
