"""Which language a page speaks, and what every page template gets.

Pages pick the language of what they show (the intent's, the account holder's), which
``?lang=fr|en`` overrides; pages about a link we cannot read (unknown token) use ``?lang=`` or
the browser's ``Accept-Language``. The strings themselves are in ``handlers.texts``.

A page shown with ``?lang=`` (the header's "English" / "Français" link) also leaves that choice
in a cookie (``LANG_COOKIE``, ``bot.web.page_base``), so the next page, form answer or live
update on this device speaks it too: without it, the app went back to French at the first
payment confirmed after choosing English.
"""

from __future__ import annotations

from typing import Any

from handlers.money import Lang
from handlers.texts import LANGS, translator


def supported_lang(value: str | None) -> Lang | None:
    """``value`` (``en``, ``EN-gb``…) as a language we speak, or None."""
    code = value.strip().lower()[:2] if value else ""
    if code not in LANGS:
        return None
    return "en" if code == "en" else "fr"


def pick_lang(*candidates: str | None) -> Lang:
    """The first supported language among the candidates; French by default."""
    for value in candidates:
        lang = supported_lang(value)
        if lang is not None:
            return lang
    return "fr"


LANG_COOKIE = "tp_lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600


def chosen_lang(request: Any) -> Lang | None:
    """The language asked for in this request's ``?lang=``, if it is one we speak."""
    return supported_lang(request.query_params.get("lang"))


def request_lang(request: Any, *preferred: str | None) -> Lang:
    """A page's language: ``?lang=`` first, then this device's last choice (the cookie), then
    what the caller knows of the user, then the browser's ``Accept-Language``, then French."""
    return pick_lang(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        *preferred,
        accept_language(request.headers.get("accept-language")),
    )


def accept_language(header: str | None) -> str | None:
    """The first language of an ``Accept-Language`` header we support, if any."""
    if not header:
        return None
    for part in header.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return None


def page_context(request: Any, lang: Lang, title: str, brand: str) -> dict[str, Any]:
    """What every page template gets: the language, its translator ``t``, the title, the brand
    and the link to the other language."""
    t = translator(lang)
    return {
        "lang": lang,
        "t": t,
        "title": t(title),
        "brand": brand,
        # A POST result cannot be re-rendered in another language without posting again.
        "other_lang_query": None if request.method == "POST" else ("en" if lang == "fr" else "fr"),
    }
