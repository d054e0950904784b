"""The one-time link paths, in one list: ``/<prefix>/<token>`` where the token is a capability.

Log redaction (``bot.logging``) masks the token of every path listed here, and a test checks
that every web route taking a ``{token}`` is listed: a new kind of link is added here first.
"""

from __future__ import annotations

ONE_TIME_PATHS: dict[str, str] = {
    "c": "confirm a payment",
    "s": "sign up",
    "l": "log in to the account page",
    "w": "confirm a withdrawal",
}
