"""The rules a new secret code (PIN) must pass: pure, no I/O.

A PIN is exactly six ASCII digits (``"٤٥٦٧٨٩"`` or full-width digits are refused: the
page, the DM and the hash must all see the same characters). Six digits give a million
values, but people pick a few of them far more often than the rest, and an attacker tries
those first (Wang et al., "Understanding Human-Chosen PINs", IEEE S&P 2017; the DataGenetics
PIN study). So we refuse, each with its own message:

- ``ALL_SAME``: one digit six times (``000000``, ``777777``);
- ``SEQUENCE``: each digit one more, or one less, than the one before, wrapping 9→0
  (``123456``, ``987654``, ``890123``);
- ``REPEATED``: a block of two or three digits repeated (``121212``, ``123123``);
- ``COMMON``: a PIN from the short list of the most chosen ones (``COMMON_PINS``);
- ``MISMATCH``: the second entry differs from the first.

``check_new_pin(pin, again)`` returns the first problem found, or None.
"""

from __future__ import annotations

import enum
import itertools
import re

PIN_LENGTH = 6
_SIX_ASCII_DIGITS = re.compile(r"[0-9]{6}")  # [0-9], not \d: \d matches every script's digits

# The most chosen 6-digit PINs in published leaks and studies, beyond the patterns the other
# rules already catch (all-same digits, sequences, repeated blocks of 2 or 3).
COMMON_PINS = frozenset(
    {
        "112233", "123321", "654456", "123654", "147258", "147852", "159357", "159753",
        "258258", "258456", "369369", "456123", "456654", "520520", "520131", "131420",
        "696969", "741852", "753951", "789456", "789123", "852456", "963852", "102030",
        "010203", "121314", "100200", "112358", "314159", "110110", "123000", "100000",
        "200000", "102938", "147369", "321654", "987123", "332211", "445566", "778899",
        "998877", "135790", "246810", "111222", "222333", "000111", "007007", "147147",
        "101010", "123412", "696996", "789789", "456456", "999000", "199000", "123987",
    }
)


class PinProblem(enum.StrEnum):
    FORMAT = "format"
    ALL_SAME = "all_same"
    SEQUENCE = "sequence"
    REPEATED = "repeated"
    COMMON = "common"
    MISMATCH = "mismatch"
    SAME_AS_OLD = "same_as_old"


def _steps(pin: str) -> set[int]:
    return {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}


def weakness(pin: str) -> PinProblem | None:
    """Why ``pin`` may not be chosen, or None when it is acceptable."""
    if not _SIX_ASCII_DIGITS.fullmatch(pin):
        return PinProblem.FORMAT
    if len(set(pin)) == 1:
        return PinProblem.ALL_SAME
    if _steps(pin) in ({1}, {9}):
        return PinProblem.SEQUENCE
    if pin[:2] * 3 == pin or pin[:3] * 2 == pin:
        return PinProblem.REPEATED
    if pin in COMMON_PINS:
        return PinProblem.COMMON
    return None


def check_new_pin(pin: str, again: str) -> PinProblem | None:
    """The first problem with a new PIN typed twice (``pin`` then ``again``), or None."""
    return weakness(pin) or (PinProblem.MISMATCH if pin != again else None)

