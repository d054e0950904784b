"""A hashtag one typo away from a command (``#envoye``, ``#paye``, ``#sned``): which command
the user probably meant, to answer "did you mean #envoyer?" instead of "no command".

Typos are counted as X users make them: one letter missing, added, changed, or two neighbours
swapped (optimal string alignment distance ≤ 1), on the case- and accent-folded tag. Tags of
fewer than four letters are too short to guess from (``#don`` is one letter from ``#on``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from handlers.money import Lang

MIN_LENGTH = 4

# What the suggestion names, per command and language: the first spelling users are taught.
CANONICAL: dict[tuple[str, Lang | None], str] = {
    ("send", "fr"): "#envoyer", ("send", "en"): "#send",
    ("donate", "fr"): "#don", ("donate", "en"): "#donate",
    ("request", "fr"): "#demander", ("request", "en"): "#request",
    ("balance", "fr"): "#solde", ("balance", "en"): "#balance",
    ("history", "fr"): "#historique", ("history", "en"): "#history",
    ("cancel", "fr"): "#annuler", ("cancel", "en"): "#cancel",
    ("help", "fr"): "#aide", ("help", "en"): "#help",
    ("signup", "fr"): "#inscription", ("signup", "en"): "#signup",
    ("account", "fr"): "#compte", ("account", "en"): "#account",
    ("stop", None): "#stop",
    ("withdraw", "fr"): "#retirer", ("withdraw", "en"): "#withdraw",
}


def _within_one(a: str, b: str) -> bool:
    """Optimal string alignment distance of ``a`` and ``b`` is at most 1."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        return (len(diff) == 2 and diff[1] == diff[0] + 1
                and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def near_miss(folded_tags: Iterable[str],
              commands: Mapping[str, tuple[str, Lang | None]]) -> tuple[str, Lang | None] | None:
    """The command hashtag (``"#envoyer"``) and its language for the first tag one typo away
    from a command spelling in ``commands`` (folded spelling → (kind, language)), if any."""
    for tag in folded_tags:
        if len(tag) < MIN_LENGTH:
            continue
        for spelling, (kind, lang) in commands.items():
            if len(spelling) >= MIN_LENGTH and _within_one(tag, spelling):
                return CANONICAL.get((kind, lang), "#" + spelling), lang
    return None
