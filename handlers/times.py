"""Times as a user reads them: in their time zone (setting ``timezone``, Europe/Paris by
default), written the way their language writes dates. Stored times stay UTC."""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

from handlers.money import Lang

DEFAULT_TIMEZONE = "Europe/Paris"

_DATETIME = {"fr": "%d/%m/%Y à %H:%M", "en": "%Y-%m-%d at %H:%M"}
_DATE = {"fr": "%d/%m/%Y", "en": "%Y-%m-%d"}
_DAY = {"fr": "%d/%m", "en": "%m/%d"}


@cache
def zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name (``Europe/Paris``); raises for an unknown name."""
    return ZoneInfo(name)


def local(when: dt.datetime, tz: str) -> dt.datetime:
    """``when`` (aware; naive is read as UTC, as the database stores it) in zone ``tz``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(zone(tz))


def datetime_text(when: dt.datetime, lang: Lang, tz: str) -> str:
    """``01/12/2026 à 15:05`` / ``2026-12-01 at 15:05``."""
    return local(when, tz).strftime(_DATETIME[lang])


def date_text(when: dt.datetime, lang: Lang, tz: str) -> str:
    return local(when, tz).strftime(_DATE[lang])


def day_text(when: dt.datetime, lang: Lang, tz: str) -> str:
    """Day and month only, for statement lines: ``01/12`` / ``12/01``."""
    return local(when, tz).strftime(_DAY[lang])


def clock_text(when: dt.datetime, tz: str) -> str:
    """``15:05``."""
    return local(when, tz).strftime("%H:%M")
