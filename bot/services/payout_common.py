"""What the money-out services share: their collaborators, the limits, strong
authentication, and the business error they raise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.payments.payouts import PayoutProvider
from bot.security import PinHasher
from bot.services import login
from bot.services.step_up import StepUp
from handlers.binding import WITHDRAW_LABEL
from handlers.confirmation import PinPolicy
from handlers.errors import BusinessError
from handlers.money import Money
from storage import sessions as web_sessions
from storage.models import User
from storage.sealing import Sealer
from storage.sessions import PinCheck, PinResult
from storage.uow import UnitOfWork

Clock = Callable[[], dt.datetime]
LINK_TTL = dt.timedelta(minutes=10)
_MIN, _MAX, _PER_DAY = Money(1), Money(100_000), Money(200_000)  # the settings' defaults


class WithdrawRefused(BusinessError):
    """Refused before any money moves: ``no_bank_account``, ``amount_too_small``,
    ``amount_too_large``, ``daily_limit``, ``insufficient_funds``, ``empty_balance``,
    ``account_inactive``. ``limit`` is the amount the refusal names, if any."""

    code = "withdraw_refused"

    def __init__(self, message: str, *, code: str, limit: Money | None = None) -> None:
        super().__init__(message, code=code)
        self.limit = limit


@dataclass(frozen=True, slots=True)
class PayoutPolicy:
    minimum: Money = _MIN
    maximum: Money = _MAX
    per_day: Money = _PER_DAY
    cooling_off: dt.timedelta = dt.timedelta(hours=24)
    link_ttl: dt.timedelta = LINK_TTL
    recovery_grace: dt.timedelta = dt.timedelta(seconds=30)
    timezone: str = "Europe/Paris"  # the users' zone: the dates the notices write

    @classmethod
    def from_settings(cls, settings: Any) -> PayoutPolicy:
        return cls(minimum=Money(settings.min_amount), maximum=Money(settings.payout_max),
                   per_day=Money(settings.payout_limit_24h),
                   cooling_off=dt.timedelta(hours=settings.payout_cooling_off_hours),
                   link_ttl=dt.timedelta(seconds=settings.confirmation_ttl_seconds),
                   recovery_grace=dt.timedelta(seconds=settings.payout_recovery_grace_seconds),
                   timezone=settings.timezone)


@dataclass(frozen=True, slots=True)
class PinProof:
    """The holder typed their PIN."""

    pin: str


@dataclass
class PasskeyProof:
    """A passkey assertion instead of the PIN (``bot.services.step_up``): over the one-time
    step-up challenge of ``action`` (a bank account change), or over ``expected``, the
    challenge derived from what it authorises (a withdrawal: ``withdrawal_challenge``).
    ``verified`` keeps the first check's result for this request (one assertion is
    verified once; a second count in another transaction reuses it)."""

    assertion: str
    action: str = ""
    expected: bytes | None = None
    verified: bool | None = None


# Strong authentication (docs/design.md): every withdrawal and every bank-account change needs
# the PIN *or a passkey* at that moment.
Proof = PinProof | PasskeyProof


def withdrawal_challenge(sealer: Sealer, withdrawal_id: int, amount_cents: int,
                         bank_account_id: int) -> bytes:
    """The WebAuthn challenge of a withdrawal: bound to its amount and bank account."""
    return sealer.mac_bytes(WITHDRAW_LABEL, withdrawal_id, amount_cents, bank_account_id)


@dataclass
class PayoutDeps:
    sessions: sessionmaker[Session]
    sealer: Sealer
    pins: PinHasher
    pin_policy: PinPolicy
    provider: PayoutProvider
    policy: PayoutPolicy
    clock: Clock
    step_up: StepUp | None = None  # passkeys (the web app sets it)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def verify_outside(self, user_id: int, proof: Proof) -> tuple[str | None, bool]:
        """Argon2id (~25 ms) outside any write transaction; re-checked under the lock."""
        if isinstance(proof, PasskeyProof):
            return None, False  # checked under the lock, in ``authenticate``
        with self.sessions() as session:
            pin_hash = web_sessions.pin_hash_of(session, user_id)
        return pin_hash, pin_hash is not None and self.pins.verify(pin_hash, proof.pin)

    def authenticate(self, uow: UnitOfWork, user_id: int, proof: Proof,
                     checked: tuple[str | None, bool]) -> PinResult:
        """Inside the caller's transaction: counts failures, locks the account at the limit
        (with its alert DM) and keeps the user row locked until the caller commits."""
        if isinstance(proof, PasskeyProof):
            now = self.clock()
            user = web_sessions.lock_user(uow, user_id)
            if user.locked_until is not None and user.locked_until > now:
                return PinResult(PinCheck.LOCKED, locked_until=user.locked_until)
            if proof.verified is None:
                proof.verified = self.step_up is not None and self.step_up.passkey_ok(
                    uow.session.connection(), user_id, proof.assertion, now,
                    action=proof.action, expected=proof.expected)
            return login.count_check(uow, self.sealer, self.pin_policy, self.pins, user,
                                            "", (user.pin_hash, proof.verified), now)
        return login.check_pin(uow, self.sealer, self.pin_policy, self.pins,
                                      user_id=user_id, pin=proof.pin, checked=checked,
                                      now=self.clock())


def active_user(uow: UnitOfWork, user_id: int) -> User:
    user = uow.session.get(User, user_id)
    if user is None or user.status != "active":
        raise WithdrawRefused("this account is not active", code="account_inactive")
    return user


def deps_from_settings(settings: Any, sessions: sessionmaker[Session], sealer: Sealer,
                       clock: Clock, *, provider: PayoutProvider | None = None,
                       pins: PinHasher | None = None) -> PayoutDeps:
    """The money-out collaborators the settings name (the sandbox SEPA provider by default)."""
    if provider is None:
        from bot.payments.sepa_sandbox import make_payout_provider

        provider = make_payout_provider(settings, clock)
    return PayoutDeps(sessions=sessions, sealer=sealer,
                      pins=pins or PinHasher(settings.pin_pepper.get_secret_value()),
                      pin_policy=PinPolicy.from_settings(settings), provider=provider,
                      policy=PayoutPolicy.from_settings(settings), clock=clock)
