"""Bank details as a holder types them: an IBAN and the account holder's name. Pure.

``read_bank_details(iban, name)`` returns ``BankDetails`` or raises ``BankDetailsError``
whose ``code`` says what is wrong. The IBAN is read by schwifty (country, length, the
country's BBAN format, the mod-97 check digits; spaces and lower case are fine) and the BIC
is derived from its bank registry where it knows the bank. The name refuses control,
zero-width and bidi characters rather than cleaning them: what the bank will compare must be
exactly what the holder saw.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from schwifty import IBAN
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    InvalidStructure,
    SchwiftyException,
)

from handlers.errors import BusinessError

NAME_MAX = 70  # SEPA's limit for a creditor name
# Countries of the SEPA scheme (EPC list): an IBAN elsewhere cannot receive a SEPA transfer.
SEPA_COUNTRIES = frozenset((
    "AD", "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GI",
    "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MT", "NL", "NO", "PL",
    "PT", "RO", "SE", "SI", "SK", "SM", "VA",
))


class BankDetailsError(BusinessError):
    """``iban_empty``, ``iban_country``, ``iban_length``, ``iban_checksum``,
    ``iban_format``, ``iban_not_sepa``, ``name_empty``, ``name_too_long``,
    ``name_control``."""

    code = "bank_details"


@dataclass(frozen=True, slots=True)
class BankDetails:
    iban: str  # compact, upper case
    holder_name: str
    bic: str | None

    @property
    def masked(self) -> str:
        return mask(self.iban)

    def __repr__(self) -> str:  # personal data: never in logs
        return f"BankDetails({self.masked})"


def mask(iban: str) -> str:
    """``FR76 •••• 0189``: the country and check digits, then the last four (short enough
    for one line on a phone, enough for the holder to recognise their account)."""
    return f"{iban[:4]} •••• {iban[-4:]}"


def read_iban(raw: str) -> tuple[str, str | None]:
    text = "".join((raw or "").split())
    if not text:
        raise BankDetailsError("no IBAN", code="iban_empty")
    if not text.isascii() or not text.isalnum():
        raise BankDetailsError("an IBAN is letters and digits", code="iban_format")
    try:
        iban = IBAN(text)
    except InvalidCountryCode as exc:
        raise BankDetailsError(str(exc), code="iban_country") from exc
    except InvalidLength as exc:
        raise BankDetailsError(str(exc), code="iban_length") from exc
    except (InvalidChecksumDigits, InvalidBBANChecksum) as exc:
        raise BankDetailsError(str(exc), code="iban_checksum") from exc
    except (InvalidStructure, SchwiftyException) as exc:
        raise BankDetailsError(str(exc), code="iban_format") from exc
    if iban.country_code not in SEPA_COUNTRIES:
        raise BankDetailsError("not a SEPA country", code="iban_not_sepa")
    bic = iban.bic
    return iban.compact, str(bic) if bic is not None else None


def read_holder_name(raw: str) -> str:
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for ch in raw or ""):
        raise BankDetailsError("control characters in the name", code="name_control")
    name = " ".join(unicodedata.normalize("NFC", raw or "").split())
    if not name:
        raise BankDetailsError("no holder name", code="name_empty")
    if len(name) > NAME_MAX:
        raise BankDetailsError(f"at most {NAME_MAX} characters", code="name_too_long")
    return name


def read_bank_details(iban: str, holder_name: str) -> BankDetails:
    compact, bic = read_iban(iban)
    return BankDetails(compact, read_holder_name(holder_name), bic)
