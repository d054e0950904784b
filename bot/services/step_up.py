"""Step-up: the PIN or a passkey, asked at the moment of a sensitive action (add a card, top
up from a saved card, change the PIN, add or remove a passkey, unlink, revoke devices, add an
IBAN, withdraw). A session alone is never enough (docs/design.md, strong authentication).

    step_up = StepUp(session_factory, pins=..., sealer=..., policy=..., passkeys=..., clock=...)
    options = step_up.options(user_id, "topup")     # for the page's passkey button, or None
    result = step_up.check(user_id, "topup", pin=form_pin, assertion=form_assertion)
    if result.check is PinCheck.OK: ...             # WRONG: attempts_left; LOCKED: locked_until

Both proofs count towards the same budget as the confirmation page: a wrong PIN or a refused
assertion is one more failure in a row on ``users.failed_pin_attempts``; at the limit the
account is locked, its sessions revoked and a DM alert queued (``storage.sessions``). A locked
account is refused before any check.

A passkey's step-up challenge is random, stored for 5 minutes, bound to the user and to the
action (``step_up:<action>``), and spent in the transaction that checks the assertion: an
assertion made for one action, or replayed, is refused.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker
from webauthn.helpers import bytes_to_base64url

from bot.passkeys import PasskeyRefused, parse_assertion
from bot.security import PinHasher
from bot.services import login
from bot.services.passkeys import CHALLENGE_TTL, Passkeys
from handlers.confirmation import PinPolicy
from storage import passkeys as repo
from storage import sessions as web_sessions
from storage.sealing import Sealer
from storage.sessions import PinCheck, PinResult
from storage.uow import UnitOfWork

Clock = Callable[[], dt.datetime]
ACTIONS = frozenset({
    "add_card", "topup", "change_pin", "add_passkey", "remove_passkey", "unlink",
    "revoke_devices", "add_iban", "withdraw",
})


class StepUp:
    def __init__(self, session_factory: sessionmaker[Session], *, pins: PinHasher,
                 sealer: Sealer, policy: PinPolicy, passkeys: Passkeys | None, clock: Clock
                 ) -> None:
        self._sessions = session_factory
        self._pins = pins
        self._sealer = sealer
        self._policy = policy
        self._passkeys = passkeys
        self._clock = clock

    def options(self, user_id: int, action: str) -> dict[str, Any] | None:
        """Assertion options with a fresh one-time challenge for ``action``; None when the
        user has no passkey (or passkeys are off): the PIN it is."""
        if action not in ACTIONS or self._passkeys is None or not self._passkeys.rp.enabled:
            return None
        challenge = secrets.token_bytes(32)
        now = self._clock()
        with UnitOfWork(self._sessions) as uow:
            ids = repo.credential_ids(uow.session, user_id)
            if not ids:
                return None
            repo.forget_old_challenges(uow.session, now - dt.timedelta(days=1))
            repo.new_challenge(uow.session, user_id=user_id, purpose=f"step_up:{action}",
                               challenge=bytes_to_base64url(challenge), now=now,
                               ttl=CHALLENGE_TTL)
            uow.commit()
        return self._passkeys.rp.assertion_options(challenge, ids)

    def check(self, user_id: int, action: str, *, pin: str = "", assertion: str = ""
              ) -> PinResult:
        """One proof, counted: a passkey ``assertion`` if given, else the ``pin``."""
        if action not in ACTIONS:
            raise ValueError(f"unknown step-up action {action!r}")
        if assertion:
            return self._check_passkey(user_id, action, assertion)
        return self._check_pin(user_id, pin)

    def _check_pin(self, user_id: int, pin: str) -> PinResult:
        with self._sessions() as session:
            pin_hash = web_sessions.pin_hash_of(session, user_id)
            locked = web_sessions.locked_until_of(session, user_id, self._clock())
        if locked is not None:  # no Argon2id for a locked account
            return PinResult(PinCheck.LOCKED, locked_until=locked)
        # Argon2id outside the write transaction; the count is re-checked under the lock.
        matched = bool(pin_hash) and self._pins.verify(pin_hash or "", pin)
        return self._count(user_id, pin, (pin_hash, matched))

    def _check_passkey(self, user_id: int, action: str, text: str) -> PinResult:
        now = self._clock()
        with UnitOfWork(self._sessions) as uow:
            user = web_sessions.lock_user(uow, user_id)
            if user.locked_until is not None and user.locked_until > now:
                return PinResult(PinCheck.LOCKED, locked_until=user.locked_until)
            ok = self.passkey_ok(uow.session.connection(), user_id, text, now, action=action)
            result = login.count_check(uow, self._sealer, self._policy, self._pins, user,
                                              "", (user.pin_hash, ok), now)
            uow.commit()
            return result

    def passkey_ok(self, conn: Connection, user_id: int, text: str, now: dt.datetime, *,
                   action: str = "", expected: bytes | None = None) -> bool:
        """In the caller's transaction (the user row locked): a valid assertion of one of
        this user's passkeys over ``expected`` (a challenge derived from what it authorises)
        or, without it, over a live one-time step-up challenge for ``action``, spent here.
        Counts nothing: the caller counts the result with the PIN's failures."""
        try:
            parsed = parse_assertion(text)
        except PasskeyRefused:
            return False
        if self._passkeys is None:
            return False
        if expected is not None:
            if not hmac.compare_digest(expected, parsed.challenge):
                return False
        elif not repo.spend_challenge(conn, user_id=user_id, purpose=f"step_up:{action}",
                                      challenge=bytes_to_base64url(parsed.challenge), now=now):
            return False
        return self._passkeys.use(conn, user_id, parsed, parsed.challenge, now)

    def _count(self, user_id: int, pin: str, checked: tuple[str | None, bool]) -> PinResult:
        with UnitOfWork(self._sessions) as uow:
            user = web_sessions.lock_user(uow, user_id)
            result = login.count_check(uow, self._sealer, self._policy, self._pins, user,
                                              pin, checked, self._clock())
            uow.commit()
            return result
