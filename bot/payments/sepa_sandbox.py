"""A sandbox SEPA payout provider that behaves like a real one, with documented test IBANs.

| IBAN                          | holder name check           | what happens                    |
|-------------------------------|-----------------------------|---------------------------------|
| DE41 3704 0044 0000 0007 77   | "Carol Martin" is on file   | settles                         |
| DE57 3704 0044 0000 0001 01   | any name matches            | returned AC01 (wrong account)   |
| DE73 3704 0044 0000 0001 04   | any name matches            | returned AC04 (closed account)  |
| DE24 3704 0044 0000 0004 04   | any name matches            | returned AM04 (insufficient     |
|                               |                             | funds at the bank)              |
| DE35 3704 0044 0000 0003 03   | any name matches            | returned MS03 (not specified)   |
| DE13 3704 0044 0000 0004 08   | any name matches            | the first submission times out  |
|                               |                             | (recorded here, answer lost)    |
| any other valid IBAN          | any name matches            | settles                         |

The name check of a holder on file: the same name (case, accents and spacing aside) is a
``match``; a near one (the same words in another order, a typo) a ``close_match`` with the
name on file; anything else ``no_match``.

SEPA Instant settles (or is returned) ``INSTANT_SECONDS`` after submission; a standard
transfer at 08:00 UTC on the next TARGET2 business day (weekends, 1 January, Good Friday,
Easter Monday, 1 May, 25 and 26 December are not). Time is the injected clock plus an offset
kept in the state file, so ``advance()`` (``tweetpay payouts sandbox-advance``) moves the
sandbox's day forward without touching the machine's clock.

Submissions are idempotent on their key (the same key and content return the same payout;
the same key with other content is refused ``idempotency_key_reused``). Every change of
state queues a signed status notification (``drain_notifications``); notifications can be
delivered late, twice or out of order, as real ones are. Faults for tests: ``lose_answers(n)``
records the next n payouts but raises ``PayoutTimeout`` (the answer is lost on the way back),
``fail_before(n)`` raises ``PayoutTimeout`` before recording anything.

State lives in memory, optionally in a JSON file in the data dir (written atomically).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import secrets
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from bot.payments.payouts import (
    PayeeCheck,
    PayoutError,
    PayoutRequest,
    PayoutState,
    PayoutTimeout,
    WebhookEvent,
    sign,
    state_from_json,
    state_to_json,
    verify,
)
from handlers.money import Money

Clock = Callable[[], dt.datetime]
INSTANT_SECONDS = 5
SETTLE_HOUR_UTC = 8
HOLDERS_ON_FILE = {"DE41370400440000000777": "Carol Martin"}
RETURNING = {
    "DE57370400440000000101": "AC01",
    "DE73370400440000000104": "AC04",
    "DE24370400440000000404": "AM04",
    "DE35370400440000000303": "MS03",
}
TIMING_OUT = frozenset({"DE13370400440000000408"})
SANDBOX_WEBHOOK_SECRET = b"tweetpay-sandbox-payout-webhooks"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return dt.date(year, month, day + 1)


def is_business_day(day: dt.date) -> bool:
    """A TARGET2 business day: SEPA credit transfers settle only on these."""
    if day.weekday() >= 5 or (day.month, day.day) in ((1, 1), (5, 1), (12, 25), (12, 26)):
        return False
    easter = _easter(day.year)
    return day not in (easter - dt.timedelta(days=2), easter + dt.timedelta(days=1))


def next_business_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def name_check(given: str, on_file: str) -> PayeeCheck:
    a, b = _fold(given), _fold(on_file)
    if a == b:
        return PayeeCheck("match")
    if sorted(a.split()) == sorted(b.split()) or difflib.SequenceMatcher(None, a, b).ratio() >= 0.8:
        return PayeeCheck("close_match", on_file)
    return PayeeCheck("no_match")


class SandboxSepaProvider:
    """``PayoutProvider`` for the sandbox and the tests."""

    name = "sandbox_sepa"

    def __init__(self, *, clock: Clock = _utcnow, state_file: Path | None = None,
                 webhook_secret: bytes = SANDBOX_WEBHOOK_SECRET) -> None:
        self._clock = clock
        self._file = state_file
        self._secret = webhook_secret
        self._lock = threading.Lock()
        self._payouts: dict[str, dict[str, Any]] = {}
        self._by_key: dict[str, str] = {}
        self._notifications: list[dict[str, Any]] = []
        self._offset = 0.0
        self._lose_answers = 0
        self._fail_before = 0
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # -- the port ---------------------------------------------------------------------------

    def check_payee(self, iban: str, name: str) -> PayeeCheck:
        on_file = HOLDERS_ON_FILE.get(self._iban(iban))
        return PayeeCheck("match") if on_file is None else name_check(name, on_file)

    def submit(self, request: PayoutRequest) -> PayoutState:
        if not isinstance(request.amount, Money) or request.amount.cents <= 0:
            raise PayoutError("a payout is a positive amount", code="invalid_amount")
        if not request.idempotency_key:
            raise PayoutError("an idempotency key is required", code="missing_idempotency_key")
        if request.scheme not in ("instant", "standard"):
            raise PayoutError("scheme is instant or standard", code="invalid_scheme")
        iban = self._iban(request.iban)
        with self._lock:
            self._refresh()
            if self._fail_before:
                self._fail_before -= 1
                self._save()
                raise PayoutTimeout("no answer from the provider")
            payout_id = self._by_key.get(request.idempotency_key)
            if payout_id is not None:
                p = self._payouts[payout_id]
                if (p["iban"], p["amount_cents"], p["scheme"]) != (
                        iban, request.amount.cents, request.scheme):
                    raise PayoutError("this idempotency key was used for another payout",
                                      code="idempotency_key_reused")
                self._advance_all()
                return self._state(payout_id)
            now = self.now()
            payout_id = "po_" + secrets.token_hex(12)
            self._payouts[payout_id] = {
                "key": request.idempotency_key, "iban": iban, "name": request.holder_name,
                "amount_cents": request.amount.cents, "scheme": request.scheme,
                "reference": request.reference, "status": "pending",
                "return_code": RETURNING.get(iban), "created_at": now.isoformat(),
                "due_at": self._due(request.scheme, now).isoformat(),
                "updated_at": now.isoformat(),
            }
            self._by_key[request.idempotency_key] = payout_id
            self._notify(payout_id)
            lose = self._lose_answers > 0 or (iban in TIMING_OUT and not any(
                p["iban"] == iban for pid, p in self._payouts.items() if pid != payout_id))
            if self._lose_answers:
                self._lose_answers -= 1
            self._save()
            if lose:
                raise PayoutTimeout("the provider did not answer in time")
            return self._state(payout_id)

    def status(self, idempotency_key: str) -> PayoutState | None:
        with self._lock:
            self._refresh()
            self._advance_all()
            payout_id = self._by_key.get(idempotency_key)
            return None if payout_id is None else self._state(payout_id)

    def payouts(self, since: dt.datetime | None = None) -> list[PayoutState]:
        with self._lock:
            self._refresh()
            self._advance_all()
            return [self._state(pid) for pid, p in self._payouts.items()
                    if since is None or dt.datetime.fromisoformat(p["created_at"]) >= since]

    def verify_webhook(self, body: bytes, signature: str, now: dt.datetime) -> WebhookEvent:
        data = verify(self._secret, body, signature, now)
        return WebhookEvent(str(data.get("event_id", "")), state_from_json(data.get("payout")))

    # -- sandbox controls (tests, `tweetpay payouts sandbox-advance`) -----------------------

    def now(self) -> dt.datetime:
        return self._clock() + dt.timedelta(seconds=self._offset)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        with self._lock:
            self._refresh()
            self._offset += delta.total_seconds()
            self._advance_all()
            self._save()
            return self.now()

    def lose_answers(self, count: int = 1) -> None:
        with self._lock:
            self._refresh()
            self._lose_answers += count
            self._save()

    def fail_before(self, count: int = 1) -> None:
        with self._lock:
            self._refresh()
            self._fail_before += count
            self._save()

    def submissions(self, idempotency_key: str) -> int:
        """How many payouts exist for this key (never more than one)."""
        with self._lock:
            self._refresh()
            return sum(1 for p in self._payouts.values() if p["key"] == idempotency_key)

    def drain_notifications(self) -> list[tuple[bytes, str]]:
        """The signed status notifications queued so far (body, signature header)."""
        with self._lock:
            self._refresh()
            self._advance_all()
            queued, self._notifications = self._notifications, []
            self._save()
        return [self.signed(n) for n in queued]

    def signed(self, notification: dict[str, Any], at: dt.datetime | None = None
               ) -> tuple[bytes, str]:
        body = json.dumps(notification, sort_keys=True).encode()
        return body, sign(self._secret, body, at or self.now())

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _iban(raw: str) -> str:
        try:
            return IBAN(raw).compact
        except SchwiftyException as exc:
            raise PayoutError("not a valid IBAN", code="invalid_iban") from exc

    @staticmethod
    def _due(scheme: str, now: dt.datetime) -> dt.datetime:
        if scheme == "instant":
            return now + dt.timedelta(seconds=INSTANT_SECONDS)
        day = next_business_day(now.astimezone(dt.UTC).date())
        return dt.datetime.combine(day, dt.time(SETTLE_HOUR_UTC), dt.UTC)

    def _advance_all(self) -> None:
        now = self.now()
        changed = False
        for payout_id, p in self._payouts.items():
            due = dt.datetime.fromisoformat(p["due_at"])
            if p["status"] == "pending" and now >= due:
                p["status"] = "returned" if p["return_code"] else "settled"
                p["updated_at"] = due.isoformat()
                self._notify(payout_id)
                changed = True
        if changed:
            self._save()

    def _notify(self, payout_id: str) -> None:
        self._notifications.append({"event_id": "evt_" + secrets.token_hex(10),
                                    "payout": state_to_json(self._state(payout_id))})

    def _state(self, payout_id: str) -> PayoutState:
        p = self._payouts[payout_id]
        return PayoutState(payout_id, p["key"], p["status"], Money(p["amount_cents"]),
                           p["scheme"], p["return_code"] if p["status"] == "returned" else None,
                           dt.datetime.fromisoformat(p["updated_at"]))

    def _save(self) -> None:
        if self._file is None:
            return
        data = {"payouts": self._payouts, "by_key": self._by_key, "offset": self._offset,
                "notifications": self._notifications, "lose_answers": self._lose_answers,
                "fail_before": self._fail_before}
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_name(self._file.name + ".tmp")
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, self._file)

    def _refresh(self) -> None:
        # Another process (the CLI's sandbox-advance, the web app) may have written the file.
        if self._file is not None and self._file.exists():
            self._load(self._file)

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self._payouts = data.get("payouts", {})
        self._by_key = data.get("by_key", {})
        self._offset = float(data.get("offset", 0.0))
        self._notifications = data.get("notifications", [])
        self._lose_answers = int(data.get("lose_answers", 0))
        self._fail_before = int(data.get("fail_before", 0))


def make_payout_provider(settings: Any, clock: Clock = _utcnow) -> SandboxSepaProvider:
    """The payout provider the settings name (only the sandbox exists yet)."""
    secret = settings.payout_webhook_secret.get_secret_value().encode()
    return SandboxSepaProvider(clock=clock, webhook_secret=secret,
                               state_file=Path(settings.data_dir) / "payouts-sandbox.json")
