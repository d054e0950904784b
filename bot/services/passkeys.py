"""Passkeys: register (after a step-up), list, remove (after a step-up), and confirm an
intent with one (the checker ``bot.services.confirm.ConfirmationService`` calls under its
row locks).

Registration is two requests: ``begin`` (the caller has just passed a step-up) stores a
one-time challenge and returns the creation options; ``finish`` spends that challenge in the
transaction that stores the credential, so a replayed or late registration stores nothing.
The WebAuthn user id (``user_handle``) is one per account, shared by its passkeys, derived
from the account id with the server key (no personal data in it).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from bot.passkeys import (
    Assertion,
    AssertionVerifier,
    PasskeyRefused,
    RelyingParty,
    StoredCredential,
)
from handlers.binding import CHALLENGE_LABEL, intent_parts
from storage import passkeys as repo
from storage.models import ConfirmationToken, PaymentIntent, User
from storage.sealing import Sealer
from storage.uow import UnitOfWork

Clock = Callable[[], dt.datetime]
CHALLENGE_TTL = dt.timedelta(minutes=5)
REGISTER = "register"
MAX_NAME = 40


class RegistrationRefused(Exception):
    """``code``: ``expired`` (challenge unknown, used or late), ``invalid`` (the credential
    does not verify), ``too_many`` (``storage.passkeys.MAX_PER_USER``), ``duplicate``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean_name(name: str, fallback: str) -> str:
    name = " ".join((name or "").split())[:MAX_NAME]
    return name or fallback


class Passkeys:
    def __init__(self, session_factory: sessionmaker[Session], *, rp: RelyingParty,
                 sealer: Sealer, clock: Clock, verifier: AssertionVerifier | None = None
                 ) -> None:
        self._sessions = session_factory
        self.rp = rp
        self._sealer = sealer
        self._clock = clock
        self.verifier: AssertionVerifier = verifier or rp

    # -- registration ----------------------------------------------------------------------

    def begin(self, user_id: int) -> dict[str, Any]:
        """Creation options with a fresh one-time challenge (call after a step-up)."""
        now = self._clock()
        challenge = secrets.token_bytes(32)
        with UnitOfWork(self._sessions) as uow:
            user = uow.session.get(User, user_id)
            assert user is not None
            if repo.count(uow.session, user_id) >= repo.MAX_PER_USER:
                raise RegistrationRefused("too_many")
            handle = self._handle(uow.session, user_id)
            repo.new_challenge(uow.session, user_id=user_id, purpose=REGISTER,
                               challenge=bytes_to_base64url(challenge), now=now,
                               ttl=CHALLENGE_TTL)
            existing = repo.credential_ids(uow.session, user_id)
            options = self.rp.registration_options(
                challenge=challenge, user_handle=handle, user_name=f"@{user.handle}",
                existing=existing)
            uow.commit()
        return options

    def finish(self, user_id: int, credential_json: str, name: str) -> int:
        """Verify the new credential against the challenge it answers and store it."""
        now = self._clock()
        try:
            challenge = _client_challenge(credential_json)
        except ValueError as exc:
            raise RegistrationRefused("invalid") from exc
        with UnitOfWork(self._sessions) as uow:
            if not repo.spend_challenge(uow.session, user_id=user_id, purpose=REGISTER,
                                        challenge=bytes_to_base64url(challenge), now=now):
                raise RegistrationRefused("expired")
            try:
                new = self.rp.verify_registration(credential_json, challenge)
            except PasskeyRefused as exc:
                raise RegistrationRefused("invalid") from exc
            if repo.for_update(uow.session.connection(), new.credential_id) is not None:
                raise RegistrationRefused("duplicate")
            if repo.count(uow.session, user_id) >= repo.MAX_PER_USER:
                raise RegistrationRefused("too_many")
            handle = self._handle(uow.session, user_id)
            passkey_id = repo.add(
                uow.session, user_id=user_id, credential_id=new.credential_id,
                public_key=new.public_key, sign_count=new.sign_count, user_handle=handle,
                name=clean_name(name, "Passkey"), now=now)
            uow.commit()
        return passkey_id

    def _handle(self, session: Session, user_id: int) -> str:
        """The account's WebAuthn user id: its passkeys' one, else derived with the server
        key (no personal data in it; ``begin`` and ``finish`` agree without storing it)."""
        return repo.user_handle_of(session, user_id) or bytes_to_base64url(
            self._sealer.mac_bytes("webauthn-user-v1", user_id)[:16])

    # -- the account page ------------------------------------------------------------------

    def listed(self, user_id: int) -> list[repo.PasskeyView]:
        with self._sessions() as session:
            return repo.listed(session, user_id)

    def remove(self, user_id: int, passkey_id: int) -> bool:
        """Remove one (call after a step-up); False if it is not this user's."""
        with UnitOfWork(self._sessions) as uow:
            done = repo.remove(uow.session, user_id=user_id, passkey_id=passkey_id)
            uow.commit()
        return done

    # -- confirming an intent --------------------------------------------------------------

    def intent_challenge(self, intent: Any) -> bytes:
        return self._sealer.mac_bytes(CHALLENGE_LABEL, *intent_parts(intent))

    def options_for_link(self, token_hash: str) -> dict[str, Any] | None:
        """GET of the link page: the assertion options for its intent, if the payer has a
        passkey (read only)."""
        if not self.rp.enabled:
            return None
        with self._sessions() as session:
            row = session.execute(
                select(PaymentIntent, User.id)
                .join(ConfirmationToken, ConfirmationToken.intent_id == PaymentIntent.id)
                .join(User, User.x_user_id == PaymentIntent.payer_x_user_id)
                .where(ConfirmationToken.token_hash == token_hash)
            ).first()
            if row is None:
                return None
            intent, user_id = row
            ids = repo.credential_ids(session, user_id)
            if not ids:
                return None
            return self.rp.assertion_options(self.intent_challenge(intent), ids)

    def options_for_intents(self, user_id: int, intent_ids: list[int]) -> dict[int, str]:
        """The app's "to confirm" list: each intent's assertion options (JSON), derived from
        the intent as stored; empty when the user has no passkey (read only)."""
        if not self.rp.enabled or not intent_ids:
            return {}
        with self._sessions() as session:
            ids = repo.credential_ids(session, user_id)
            if not ids:
                return {}
            rows = session.scalars(select(PaymentIntent).where(PaymentIntent.id.in_(intent_ids)))
            return {row.id: json.dumps(self.rp.assertion_options(self.intent_challenge(row), ids))
                    for row in rows}

    def verify_locked(self, row: repo.PasskeyRow | None, payer_user_id: int, intent: Any,
                      assertion: Any) -> repo.PasskeyUse | None:
        """``bot.services.confirm.PasskeyCheck``: the counter's move if ``assertion`` is of
        the payer's passkey ``row`` (locked with the confirmation's rows) and signs the
        challenge of this very intent (any of our keys: rotation), counter growing; None
        otherwise. Writes nothing: the confirmation moves the counter as it spends the
        link (``storage.confirmations.spend``), in the same transaction."""
        if not isinstance(assertion, Assertion):
            return None
        expected = [c for c in self._sealer.mac_candidates(CHALLENGE_LABEL, *intent_parts(intent))
                    if hmac.compare_digest(c, assertion.challenge)]
        if not expected:
            return None
        return self._verify(row, payer_user_id, assertion, expected[0])

    def use(self, conn: Connection, user_id: int, assertion: Assertion, challenge: bytes,
            now: dt.datetime) -> bool:
        """Verify ``assertion`` over ``challenge`` with this user's passkey and move its
        counter, in the caller's transaction."""
        used = self._verify(repo.for_update(conn, assertion.credential_id), user_id,
                            assertion, challenge)
        return used is not None and repo.record_use(conn, used, now)

    def _verify(self, row: repo.PasskeyRow | None, user_id: int, assertion: Assertion,
                challenge: bytes) -> repo.PasskeyUse | None:
        if row is None or row.user_id != user_id or row.credential_id != assertion.credential_id:
            return None
        stored = StoredCredential(row.id, row.user_id, row.public_key, row.sign_count,
                                  row.user_handle)
        try:
            return repo.PasskeyUse(row, self.verifier.verify(assertion, challenge, stored))
        except PasskeyRefused:
            return None


def _client_challenge(credential_json: str) -> bytes:
    try:
        data = json.loads(credential_json)
        client = json.loads(base64url_to_bytes(data["response"]["clientDataJSON"]))
        return base64url_to_bytes(str(client["challenge"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("not a credential") from exc
