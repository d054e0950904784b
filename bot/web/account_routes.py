"""The account family's routes: sign-up, Sign in with X, login links, the account page and
its actions. Kept apart from ``bot.web.accounts`` (what the pages share), which the pages
import: this module is the only one that knows every page, so no import goes in a circle."""

from __future__ import annotations

from starlette.routing import Route

from bot.web.account_pages import AccountPages
from bot.web.account_signup import SignupPages
from bot.web.accounts import AccountWeb
from bot.web.passkey_pages import passkey_routes
from bot.web.three_ds_pages import three_ds_routes


def account_routes(web: AccountWeb) -> list[Route]:
    """The sign-up, Sign in with X and account routes over ``web``."""
    signup = SignupPages(web)
    account = AccountPages(web)
    return [
        Route("/s/{token}", signup.show, methods=["GET"]),
        Route("/s/{token}", signup.submit, methods=["POST"]),
        Route("/auth/x", signup.x_start, methods=["GET"]),
        Route("/auth/x/callback", signup.x_callback, methods=["GET"]),
        Route("/l/{token}", account.login_show, methods=["GET"]),
        Route("/l/{token}", account.login_submit, methods=["POST"]),
        Route("/account", account.show, methods=["GET"]),
        Route("/account/cards", account.add_card, methods=["POST"]),
        Route("/account/topup", account.topup, methods=["POST"]),
        Route("/account/pin", account.change_pin, methods=["POST"]),
        Route("/account/unlink", account.unlink, methods=["POST"]),
        Route("/account/logout", account.logout, methods=["POST"]),
        Route("/account/donations.csv", account.donations_csv, methods=["GET"]),
        *passkey_routes(web, account),
        *three_ds_routes(web, account),
    ]
