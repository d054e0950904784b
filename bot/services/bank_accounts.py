"""Add or change the bank account money is withdrawn to.

1. read the IBAN and the holder's name (``handlers.bank_details``: ``BankDetailsError``);
2. strong authentication (PIN now, a passkey later: ``payout_common.Proof``), its failures
   counted and committed on their own: nobody reaches the provider without the PIN;
3. the provider's payee name check (Verification of Payee), outside any transaction;
4. ONE transaction: the new account (sealed, the previous one retired) usable from
   now + the cooling-off period, and the notice telling the holder an IBAN was added (a Web
   Push when they have the app, else a DM).

``confirm_payee`` records that the holder saw the name check's answer and still wants to be
paid there; the first withdrawal to the account needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.logging import get_logger
from bot.services.payout_common import PayoutDeps, Proof, active_user
from handlers.bank_details import read_bank_details
from handlers.money import Lang
from handlers.payout_texts import iban_added
from handlers.times import datetime_text
from storage import devices, outbox, payouts
from storage.payouts import BankAccountView
from storage.sessions import PinCheck, PinResult

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Added:
    account: BankAccountView | None  # None: the PIN check refused (see ``pin``)
    pin: PinResult


def add_bank_account(deps: PayoutDeps, *, user_id: int, iban: str, holder_name: str,
                     proof: Proof, lang: Lang) -> Added:
    details = read_bank_details(iban, holder_name)  # before any PIN attempt is spent
    checked = deps.verify_outside(user_id, proof)
    with deps.uow() as uow:
        active_user(uow, user_id)
        result = deps.authenticate(uow, user_id, proof, checked)
        uow.commit()
    if result.check is not PinCheck.OK:
        return Added(None, result)
    check = deps.provider.check_payee(details.iban, details.holder_name)
    now = deps.clock()
    with deps.uow() as uow:
        user = active_user(uow, user_id)
        row = payouts.replace_bank_account(
            uow.session, user_id=user_id, provider=deps.provider.name,
            sealed=payouts.seal_details(deps.sealer, details, check.suggested_name),
            payee_check=check.result, now=now, usable_from=now + deps.policy.cooling_off)
        until = datetime_text(row.usable_from, lang, deps.policy.timezone)
        app = devices.has_app(uow.session, user.x_user_id, now)  # push first, else a DM
        outbox.enqueue(uow.session, deps.sealer,
                       [iban_added(user.x_user_id, row.id, details.masked, until, lang,
                                   app=app)], now)
        view = payouts.view(deps.sealer, row)
        uow.commit()
    log.info("bank_account_added", user_id=user_id, bank_account_id=view.id,
             payee_check=check.result)
    return Added(view, result)


def current(deps: PayoutDeps, user_id: int) -> BankAccountView | None:
    with deps.sessions() as session:
        row = payouts.current_bank_account(session, user_id)
        return payouts.view(deps.sealer, row) if row is not None else None


def confirm_payee(deps: PayoutDeps, *, user_id: int, bank_account_id: int) -> bool:
    with deps.uow() as uow:
        row = payouts.current_bank_account(uow.session, user_id)
        if row is None or row.id != bank_account_id:
            return False
        done = payouts.confirm_payee(uow.session, row.id, deps.clock())
        uow.commit()
        return done or row.payee_confirmed_at is not None
