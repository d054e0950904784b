"""Money: an exact amount of euros, held as an integer number of cents.

No float ever touches an amount: construction refuses floats, arithmetic stays in ``int``
and parsing (here, for settings and forms; the tweet grammar has its own, stricter parser)
works on digit strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Lang = Literal["fr", "en"]

# Thin/no-break spaces are what French typography puts between thousands and before "€".
_NBSP = "\u00a0\u202f\u2009"
_PLAIN_AMOUNT = re.compile(
    r"""^\s*
    (?P<units>\d{1,9})            # whole euros, at most 9 digits
    (?:[.,](?P<cents>\d{1,2}))?   # optional decimals, one or two digits
    \s*(?:€|EUR)?\s*$             # an optional euro sign or code
    """,
    re.VERBOSE | re.IGNORECASE,
)


class AmountError(ValueError):
    """A text or value that is not a valid amount of money."""


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount in euro cents. May be negative (a ledger balance); never a float."""

    cents: int

    def __post_init__(self) -> None:
        # bool is an int subclass; a float is refused so that 0.1 + 0.2 never becomes money.
        if type(self.cents) is not int:
            raise AmountError(f"Money needs integer cents, got {type(self.cents).__name__}")

    @classmethod
    def euros(cls, units: int, cents: int = 0) -> Money:
        if type(units) is not int or type(cents) is not int or not 0 <= cents < 100:
            raise AmountError("euros(units, cents) takes integers, cents in 0..99")
        return cls(units * 100 + cents)

    @classmethod
    def parse(cls, text: str) -> Money:
        """Parse a plain amount such as ``250``, ``250,00``, ``12.5 €`` or ``0,50 EUR``.

        This is for settings and forms, where the writer is an operator. It accepts no
        thousands separators and no sign: anything it does not fully understand is refused.
        """
        cleaned = text.translate({ord(c): " " for c in _NBSP})
        match = _PLAIN_AMOUNT.match(cleaned)
        if not match:
            raise AmountError(f"not an amount: {text!r} (write e.g. 250 or 250,00)")
        cents_text = (match["cents"] or "0").ljust(2, "0")
        return cls(int(match["units"]) * 100 + int(cents_text))

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.cents + other.cents)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.cents - other.cents)

    def __neg__(self) -> Money:
        return Money(-self.cents)

    def __bool__(self) -> bool:
        return self.cents != 0

    @property
    def is_positive(self) -> bool:
        return self.cents > 0

    def format(self, lang: Lang = "fr") -> str:
        """``12,99 €`` in French (no-break space), ``€12.99`` in English; thousands grouped."""
        sign = "-" if self.cents < 0 else ""
        units, cents = divmod(abs(self.cents), 100)
        if lang == "fr":
            grouped = f"{units:,}".replace(",", "\u202f")
            return f"{sign}{grouped},{cents:02d}\u00a0€"
        return f"{sign}€{units:,}.{cents:02d}"

    def __str__(self) -> str:
        return self.format("fr")

    def __repr__(self) -> str:
        return f"Money({self.cents})"


ZERO = Money(0)
