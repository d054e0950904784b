"""Every text a user sees, French and English side by side, and the one lookup: ``render``.

The catalogue is one dictionary ``TEXTS`` (key → ``{"fr": …, "en": …}``) assembled from five
families, each in its own module so that none grows past a screenful of review:

- ``messages``: what the bot posts in public and sends by DM (public texts carry no URL and
  mention no one: docs/design.md, docs/x-platform.md);
- ``grammar``: why the grammar refused a command (quotes nothing the user wrote);
- ``pages``: the confirmation pages;
- ``account``: the sign-up, login and account pages (PIN rules included);
- ``payouts``: money out (bank account, withdrawals, returns) and the wind-down;
- ``app_messages``, ``app_pages`` (``handlers.texts.app``): what the bot says about the
  tweetpay app, its Web Push notices, and the app's pages.

A key lives in exactly one family (``TEXTS`` refuses a duplicate at import). ``render`` formats
``Money`` values for the language; pages get ``translator(lang)``, the same lookup with the
language bound (Jinja templates call it as ``t('key', **params)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from handlers.money import Lang, Money
from handlers.texts.account import ACCOUNT
from handlers.texts.app import APP_MESSAGES, APP_PAGES
from handlers.texts.grammar import EXAMPLES, GRAMMAR
from handlers.texts.messages import MESSAGES
from handlers.texts.pages import PAGES
from handlers.texts.payouts import PAYOUTS
from handlers.texts.security import SECURITY

LANGS: tuple[Lang, ...] = ("fr", "en")

FAMILIES: dict[str, Mapping[str, Mapping[Lang, str]]] = {
    "messages": MESSAGES,
    "grammar": GRAMMAR,
    "pages": PAGES,
    "account": ACCOUNT,
    "security": SECURITY,
    "payouts": PAYOUTS,
    "app_messages": APP_MESSAGES,
    "app_pages": APP_PAGES,
}


def _merge() -> dict[str, Mapping[Lang, str]]:
    merged: dict[str, Mapping[Lang, str]] = {}
    for family in FAMILIES.values():
        for key, texts in family.items():
            if key in merged:
                raise ValueError(f"text key {key!r} is defined twice")
            merged[key] = texts
    return merged


TEXTS: dict[str, Mapping[Lang, str]] = _merge()


def lang_of(value: str | None) -> Lang:
    """A stored or guessed language code as a ``Lang``: English if it says so, else French."""
    return "en" if (value or "").strip().lower()[:2] == "en" else "fr"


def render(key: str, lang: Lang | str, **params: Any) -> str:
    """The text ``key`` in ``lang`` with its placeholders filled; ``Money`` values are
    formatted for the language (``12,50 €`` / ``€12.50``)."""
    lang = lang_of(lang)
    template = TEXTS[key][lang]
    values = {k: v.format(lang) if isinstance(v, Money) else v for k, v in params.items()}
    return template.format(**values)


def plural(key: str, count: int) -> str:
    """The key for ``count`` things: ``<key>_one`` for exactly one, when the catalogue has it
    ("Votre dernière opération", not "Vos 1 dernières opérations")."""
    return f"{key}_one" if count == 1 and f"{key}_one" in TEXTS else key


def translator(lang: Lang) -> Callable[..., str]:
    """``render`` with the language bound: the ``t`` of the page templates."""

    def t(key: str, **params: Any) -> str:
        return render(key, lang, **params)

    return t


__all__ = [
    "EXAMPLES", "FAMILIES", "LANGS", "TEXTS", "lang_of", "plural", "render", "translator",
]
