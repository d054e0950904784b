"""Reading an amount of euros as people write it in a tweet, without ever using a float.

Accepted (all read as digit strings, then ``int`` cents)::

    12  12,99  12.99  12,5 (= 12,50)  0,50  12€  12 €  €12,99  € 12.99  12€99  12 EUR
    12 euros  EUR 12  1 234,56 €  1\u202f234,56 €  1.234,56 €  1,234.56 €  1,234,567
    5 centimes  50 cts  5 ct  (whole cents: 0,05 € 0,50 € 0,05 €; ``0,5 ct`` is refused)

A unit or currency word right after a bare number (``5 %``, ``5 k€``, ``5 mille``, ``5 CAD``,
``5 BTC``, ``5sats``) is never ignored: ``unit_word`` / ``glued_unit`` name it and the grammar
refuses the command with that name (``UNIT_WORDS``), so ``5 k€`` never becomes a send of 5 €.

Separator rules, so that the bot never moves a different amount than the one meant:

- one kind of separator, once, followed by 1 or 2 digits: decimals (``12,5`` ``12.99``);
- followed by exactly 3 digits (``1.234``, ``12,500``): thousands *or* three decimals —
  **ambiguous**, refused with a question; unless it cannot be a thousands group (``0,125``,
  ``1234,567``), then it is too many decimals;
- two kinds (``1.234,56``, ``1,234.56``, ``1 234,56``): the last one, used once, is the decimal
  separator and the other groups thousands (groups of 3, a first group of 1–3);
- the same separator several times (``1,234,567``): thousands only;
- digits grouped by spaces with neither decimals nor a currency (``12 150``): ambiguous (one
  amount or two?);
- digits other than ASCII 0–9 (full-width ``１２``, Arabic-Indic ``١٢``…): refused, never
  converted, so that what the confirmation page shows is what the person typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from handlers.money import Money

AmountProblem = Literal[
    "non_ascii_digits", "exponent", "other_currency", "negative_amount", "bad_amount",
    "ambiguous_amount", "too_many_decimals", "zero_amount", "amount_too_large",
]

_SP = "[ \u00a0\u202f\u2009]"  # spaces people put inside amounts (French typography: NBSP, NNBSP)
_CURRENCY = (
    r"(?:€|\$|£|¥|₤|(?i:eur(?:os?)?|usd|gbp|chf|jpy|dollars?|pounds?|livres?|francs?|yen))"
)
AMOUNT = re.compile(
    rf"""
    (?P<sign>[-−+])?                           # a sign glued to what follows
    (?:(?P<pre>{_CURRENCY}){_SP}?(?P<sign2>[-−])?)?   # €12, EUR 12, $12, €-12
    (?P<num>\d+(?:(?:[.,]|{_SP}(?=\d{{3}}(?!\d)))\d+)*)   # digits; a space only before 3 digits
    (?P<exp>[eE][-+]?\d+)?                     # 1e3: refused, but recognised
    (?:
        €(?P<mid>\d{{1,2}})(?!\d)              # 12€99
      | {_SP}?(?P<cents>(?i:centimes?|cts?))(?!\w)   # 5 centimes, 50 cts, 5ct
      | {_SP}?(?P<post>{_CURRENCY})(?!\w)      # 12€, 12 €, 12 EUR, 12 euros, 12$
    )?
    """,
    re.VERBOSE,
)
_EURO_WORDS = frozenset({"€", "eur", "euro", "euros"})
_SPACES = frozenset(" \u00a0\u202f\u2009")
_MAX_UNIT_DIGITS = 12  # beyond any cap; also keeps int() far from its 4,300-digit limit


@dataclass(frozen=True, slots=True)
class AmountReading:
    """What an amount token says: ``money`` or the ``problem`` that stops us reading it."""

    money: Money | None
    problem: AmountProblem | None
    marked: bool  # a currency sign or word was written next to the number


def read_amount(match: re.Match[str]) -> AmountReading:
    """Interpret one ``AMOUNT`` match."""
    pre, post, mid = match["pre"], match["post"], match["mid"]
    marked = bool(pre or post or mid or match["cents"])
    num = match["num"]

    def problem(code: AmountProblem) -> AmountReading:
        return AmountReading(None, code, marked)

    if any(ch.isdigit() and not ch.isascii() for ch in num + (mid or "")):
        return problem("non_ascii_digits")
    if match["exp"]:
        return problem("exponent")
    if match["cents"]:
        # Cents are whole: ``50 cts`` is 0,50 €; a separator (``0,5 ct``, ``1 000 cts``) or a
        # currency before it (``€5 cts``) is not something we guess about.
        if pre or match["sign"] or match["sign2"] or not num.isdigit():
            return problem("bad_amount")
        cents = int(num.lstrip("0") or "0") if len(num) <= _MAX_UNIT_DIGITS else -1
        if cents < 0:
            return problem("amount_too_large")
        return AmountReading(Money(cents), None, True) if cents else problem("zero_amount")
    currencies = [c for c in (pre, post) if c] + (["€"] if mid else [])
    if any(c.lower() not in _EURO_WORDS for c in currencies):
        return problem("other_currency")
    if pre and (post or mid):
        return problem("bad_amount")
    if match["sign"] in ("-", "−") or match["sign2"]:
        return problem("negative_amount")
    split = split_number(num, marked=marked)
    if isinstance(split, str):
        return problem(split)
    units, decimals = split
    if mid is not None:
        if decimals:
            return problem("bad_amount")
        decimals = mid
    units = units.lstrip("0") or "0"
    if len(units) > _MAX_UNIT_DIGITS:
        return problem("amount_too_large")
    cents = int(units) * 100 + int(decimals.ljust(2, "0") or "0")
    if cents == 0:
        return problem("zero_amount")
    return AmountReading(Money(cents), None, marked)


def split_number(num: str, *, marked: bool) -> tuple[str, str] | AmountProblem:
    """Split ASCII ``num`` into (units, decimals) digit strings, or name the problem."""
    groups = re.split(r"[.,\u00a0\u202f\u2009 ]", num)
    seps = ["space" if c in _SPACES else c for c in num if not c.isdigit()]
    if not seps:
        return num, ""
    kinds = set(seps)
    if len(kinds) > 2:
        return "bad_amount"
    last = seps[-1]
    if len(kinds) == 2:
        if last == "space" or seps.count(last) != 1:
            return "bad_amount"
        if len(groups[-1]) > 2:
            return "too_many_decimals"
        if not _valid_grouping(groups[:-1]):
            return "bad_amount"
        return "".join(groups[:-1]), groups[-1]
    if last == "space":
        if not _valid_grouping(groups):
            return "bad_amount"
        return ("".join(groups), "") if marked else "ambiguous_amount"
    if len(seps) > 1:
        return ("".join(groups), "") if _valid_grouping(groups) else "bad_amount"
    units, decimals = groups
    if len(decimals) <= 2:
        return units, decimals
    if len(decimals) == 3 and _valid_grouping(groups):
        return "ambiguous_amount"
    return "too_many_decimals"


def _valid_grouping(groups: list[str]) -> bool:
    first, rest = groups[0], groups[1:]
    return (1 <= len(first) <= 3 and not (first.startswith("0"))
            and all(len(g) == 3 for g in rest))


# Words that, right after a bare number, change what it means: a percentage, a multiplier, a
# currency other than the euro, a crypto unit, a unit of measure. Keys are case-folded; values
# are how the refusal names them (our spelling, never the user's raw text).
UNIT_WORDS: dict[str, str] = {
    "%": "%", "pourcent": "%", "pourcents": "%", "percent": "%", "pct": "%",
    "k": "k", "k€": "k€", "keur": "k€", "k$": "k$",
    "m": "M", "m€": "M€", "meur": "M€", "md": "Md", "md€": "Md€", "mds": "Md", "bn": "bn",
    "mille": "mille", "milles": "mille", "millier": "millier", "milliers": "millier",
    "million": "million", "millions": "million", "milliard": "milliard",
    "milliards": "milliard", "thousand": "thousand", "thousands": "thousand",
    "billion": "billion", "billions": "billion",
    "cent": "cent", "cents": "cent", "penny": "penny", "pence": "pence",
    "$": "$", "£": "£", "¥": "¥", "₤": "₤", "₿": "₿", "₽": "₽", "₹": "₹", "₩": "₩", "₺": "₺",
    "fr": "fr", "chf": "CHF", "usd": "USD", "cad": "CAD", "aud": "AUD", "nzd": "NZD",
    "gbp": "GBP", "jpy": "JPY", "cny": "CNY", "rmb": "RMB", "inr": "INR", "brl": "BRL",
    "mxn": "MXN", "sek": "SEK", "nok": "NOK", "dkk": "DKK", "pln": "PLN", "czk": "CZK",
    "huf": "HUF", "ron": "RON", "rub": "RUB", "zar": "ZAR", "mad": "MAD",
    "dh": "DH", "dhs": "DH", "dzd": "DZD", "tnd": "TND", "xof": "XOF", "xaf": "XAF",
    "fcfa": "FCFA", "cfa": "FCFA", "hkd": "HKD", "sgd": "SGD", "krw": "KRW", "ils": "ILS",
    "aed": "AED", "sar": "SAR", "btc": "BTC", "xbt": "BTC", "eth": "ETH",
    "usdt": "USDT", "usdc": "USDC", "doge": "DOGE", "xrp": "XRP", "ltc": "LTC",
    "sat": "sats", "sats": "sats", "satoshi": "sats", "satoshis": "sats",
    "dollar": "dollar", "dollars": "dollar", "buck": "buck", "bucks": "buck",
    "balles": "balles", "boules": "boules", "pound": "pound", "pounds": "pound",
    "livre": "livre", "livres": "livre", "franc": "franc", "francs": "franc",
    "yen": "yen", "yuan": "yuan", "rouble": "rouble", "roubles": "rouble",
    "roupie": "roupie", "roupies": "roupie", "rupee": "rupee", "rupees": "rupee",
    "dirham": "dirham", "dirhams": "dirham", "dinar": "dinar", "dinars": "dinar",
    "peso": "peso", "pesos": "peso", "reais": "real", "lira": "lira",
    "zloty": "zloty", "couronne": "couronne", "couronnes": "couronne", "crown": "crown",
    "bitcoin": "bitcoin", "bitcoins": "bitcoin", "kg": "kg", "g": "g", "km": "km",
    "x": "x", "fois": "fois",
}
_GLUED = re.compile(r"[+]?\d+(?:[.,]\d+)?(?P<unit>\D.*)", re.DOTALL)
_STRIP = ".,;:!?)]}»\"'…"


def unit_word(raw: str) -> str | None:
    """How to name ``raw`` if it is a unit or currency word (``UNIT_WORDS``), else None."""
    return UNIT_WORDS.get(raw.rstrip(_STRIP).casefold())


def glued_unit(raw: str) -> str | None:
    """``5%``, ``5k€``, ``5BTC``: a number with a unit word stuck to it; the unit's name."""
    match = _GLUED.fullmatch(raw.rstrip(_STRIP))
    return UNIT_WORDS.get(match["unit"].casefold()) if match else None
