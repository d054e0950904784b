"""What a confirmation authorises, as the parts a server key signs (PSD2 "dynamic linking").

An intent's amount, payee and memo are frozen at creation. Two values are derived from them
with a server key (``storage.sealing.Sealer.mac``), never stored in clear anywhere a user can
change them:

- the intent's **binding MAC** (``INTENT_LABEL``), written when the intent is created and
  checked by every confirmation, under the row locks: an intent whose amount, payee, payer,
  memo or expiry changed since then no longer matches its MAC and is refused;
- the **WebAuthn challenge** (``CHALLENGE_LABEL``) a passkey signs to confirm the intent:
  derived from the same values, so an assertion made for one intent, or for the same intent
  with another amount, payee or memo, verifies against nothing else.

Pure: the values in, the parts out; the caller holds the key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

INTENT_LABEL = "intent-v1"
CHALLENGE_LABEL = "webauthn-intent-v1"
WITHDRAW_LABEL = "webauthn-withdraw-v1"  # a withdrawal: id, amount, bank account id


class BoundIntent(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def payer_x_user_id(self) -> int: ...
    @property
    def payee_x_user_id(self) -> int: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def memo(self) -> str: ...
    @property
    def expires_at(self) -> dt.datetime: ...


def intent_parts(intent: BoundIntent) -> tuple[Any, ...]:
    """The frozen values, in a fixed order. The expiry in whole seconds: both engines give
    back exactly what was stored at that precision."""
    return (
        int(intent.id),
        str(intent.kind),
        int(intent.payer_x_user_id),
        int(intent.payee_x_user_id),
        int(intent.amount_cents),
        str(intent.memo or ""),
        int(intent.expires_at.timestamp()),
    )
