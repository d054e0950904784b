"""A memo passed on to someone else carries no link and mentions no one.

A memo is what the author typed after a command. Shown back to its author it stays as written;
relayed to another user (the payer of a ``#demander``, the recipient's notice, the payment page
of a request) it loses its URLs (a link from a stranger next to a payment is phishing bait) and
its @mentions (X would notify whoever is named). ``relayable`` says whether it removed
anything, so that the page can tell the reader.
"""

from __future__ import annotations

import re

from twitter_text import extract_urls_with_indices

from handlers.entities import extract_mentions
from handlers.money import Lang
from handlers.texts import render

# Whatever has a scheme is a link to us, even when X would not make it one (unknown TLD).
_SCHEMED = re.compile(r"[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE)


def relayable(memo: str) -> tuple[str, bool]:
    """``memo`` without its URLs and @mentions (spaces tidied), and whether any was removed."""
    text = memo
    # Removing one thing can make another (``bob@x.com`` → ``bob x.com``, a link): until stable.
    for _ in range(4):
        cleaner = _strip_once(text)
        if cleaner == text:
            break
        text = cleaner
    return text, text != memo


def _strip_once(memo: str) -> str:
    spans = [(u["indices"][0], u["indices"][1]) for u in extract_urls_with_indices(memo)]
    spans += [(m.start(), m.end()) for m in _SCHEMED.finditer(memo)]
    spans += [(m.start, m.end) for m in extract_mentions(memo)]
    if not spans and "@" not in memo and "＠" not in memo:
        return memo
    kept: list[str] = []
    last = 0
    for start, end in sorted(spans):
        if start >= last:
            kept.append(memo[last:start])
        last = max(last, end)
    kept.append(memo[last:])
    # Any "@" left (``bob@x.com``) goes too: X's rules for what notifies are not ours to guess.
    return " ".join("".join(kept).replace("@", " ").replace("＠", " ").split())


def quoted(memo: str, lang: Lang, *, relayed: bool) -> str:
    """The memo as a text quotes it (`` (« resto »)``), empty when there is none; ``relayed``:
    shown to someone other than its author, so without links and mentions."""
    text = relayable(memo)[0] if relayed else memo
    return render("memo_quote", lang, memo=text) if text else ""
