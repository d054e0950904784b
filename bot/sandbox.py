"""The sandbox: the embedded X API emulator, seeded users and accounts, and what to do next.

@alice and @bob have funded accounts and known sandbox PINs; @carol has none (she can only be
invited); @ACF is a Pro account (an NGO). Seeding is idempotent: a restart keeps the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.security import PinHasher
from config import Settings
from handlers.money import Money
from storage import accounts
from storage.models import User
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class SandboxUser:
    x_user_id: int
    handle: str
    kind: str
    pin: str | None
    funds: Money


class RemoteEmulator:
    """The part of the emulator's state the seeding uses, through its control API (an
    emulator in another process: the Procfile's ``emulator``)."""

    @dataclass(frozen=True, slots=True)
    class Found:
        id: str

    def __init__(self, base_url: str) -> None:
        from bot.emulator.client import ControlClient

        self._control = ControlClient(base_url)

    def set_rate_limit(self, endpoint: str, limit: int) -> None:
        self._control.rate_limit(endpoint, limit)

    def find_user(self, handle: str) -> RemoteEmulator.Found | None:
        for user in self._control.users():
            if str(user.get("username", "")).lower() == handle.lower():
                return RemoteEmulator.Found(str(user["id"]))
        return None


def sandbox_users(emulator_state: object) -> list[SandboxUser]:
    """The seeded account holders, with the ids the emulator gave them."""
    find = emulator_state.find_user  # type: ignore[attr-defined]
    plan = [("alice", "personal", "482916", Money(10_000)),
            ("bob", "personal", "739251", Money(5_000)),
            ("ACF", "pro", None, Money(0))]
    return [SandboxUser(int(find(handle).id), handle, kind, pin, funds)
            for handle, kind, pin, funds in plan]


def seed_accounts(sessions: object, settings: Settings, users: list[SandboxUser],
                  now: dt.datetime) -> None:
    hasher = PinHasher(settings.pin_pepper.get_secret_value())
    with UnitOfWork(sessions) as uow:  # type: ignore[arg-type]
        for u in users:
            existing = uow.session.query(User).filter_by(x_user_id=u.x_user_id).first()
            pin_hash = hasher.hash(u.pin) if u.pin and existing is None else None
            accounts.open_user(uow, x_user_id=u.x_user_id, handle=u.handle, now=now,
                               kind=u.kind, pin_hash=pin_hash,
                               display_name="Action contre la Faim" if u.kind == "pro" else "")
            if u.funds:
                accounts.top_up(uow, x_user_id=u.x_user_id, amount=u.funds,
                                charge_id=f"sandbox-seed-{u.handle}")
        uow.commit()


def instructions(emulator_url: str, web_url: str, users: list[SandboxUser]) -> str:
    pins = "\n".join(
        f"    @{u.handle:<6} id {u.x_user_id}  PIN {u.pin}  balance {u.funds.format('en')}"
        for u in users if u.pin
    )
    return f"""
tweetpay sandbox is running.
  X API emulator : {emulator_url}   (control API: {emulator_url}/_control/)
  web pages      : {web_url}
  account holders (sandbox only):
{pins}
  @carol has no account; @ACF is a Pro account (an NGO).

The easiest way in: open {web_url}/playground in a browser. Play any sandbox user there:
tweet or DM the bot as them, see its replies and DMs, open their tweetpay app (at {web_url}/).

Or, with curl, a payment from @alice to @bob:
  1. Tweet as alice:
     curl -s -X POST {emulator_url}/_control/tweets -H 'content-type: application/json' \\
       -d '{{"author": "alice", "text": "@Smoney #envoyer 12,99€ @bob merci pour le resto"}}'
  2. Within seconds the bot replies in the thread and DMs alice a one-time link:
     curl -s {emulator_url}/_control/bot/posts
     (look for the DM to alice; open its link in a browser)
  3. Enter alice's PIN on the page: the page is alice's receipt.
  4. See bob's DM ("you received 12,99 €…") with the same curl as in 2.
A newcomer (@carol, no account yet):
  5. alice pays carol (the money waits in escrow for carol's X account):
     curl -s -X POST {emulator_url}/_control/tweets -H 'content-type: application/json' \\
       -d '{{"author": "alice", "text": "@Smoney #envoyer 5€ @carol"}}'
     then confirm with alice's link and PIN as above.
  6. carol asks to sign up by DM, and gets a one-time sign-up link by DM:
     curl -s -X POST {emulator_url}/_control/dms -H 'content-type: application/json' \\
       -d '{{"sender": "carol", "text": "#inscription"}}'
  7. On that page she picks a PIN: the 5 € waiting for her arrive; her account page
     (#compte by DM gives a login link) tops up by card (test card 4242 4242 4242 4242).
  8. She gives to the NGO: #don 10€ @ACF (by DM or tweet), confirmed with her PIN.
Money out (docs/payouts.md): on her account page, "Virer mon argent vers ma banque", she
  adds the test IBAN DE41 3704 0044 0000 0007 77 ("Carol Martin") and withdraws once its
  one-minute security delay is over; `tweetpay payouts sandbox-advance` moves the sandbox
  bank to the next business day (standard transfers); DE57 3704 0044 0000 0001 01 returns.
Stop with Ctrl-C. Data lives in ./data (delete it to start afresh).
"""
