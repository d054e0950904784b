"""Which language a page speaks, and what every page template gets.

Pages pick the language of what they show (the intent's, the account holder's), which
``?lang=fr|en`` overrides; pages about a link we cannot read (unknown token) use ``?lang=`` or
the browser's ``Accept-Language``. The strings themselves are in ``handlers.texts``.
"""

from __future__ import annotations

from typing import Any

from handlers.money import Lang
from handlers.texts import LANGS, translator


def pick_lang(*candidates: str | None) -> Lang:
    """The first supported language among the candidates; French by default."""
    for value in candidates:
        if value:
            code = value.strip().lower()[:2]
            if code in LANGS:
                return "en" if code == "en" else "fr"
    return "fr"


def request_lang(request: Any, *preferred: str | None) -> Lang:
    """A page's language: ``?lang=`` first, then what the caller knows of the user, then the
    browser's ``Accept-Language``, then French."""
    return pick_lang(
        request.query_params.get("lang"),
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
