"""Tweet text as X sends it, back to what the author wrote. Pure.

X HTML-escapes three characters in a tweet's ``text`` (``&`` → ``&amp;``, ``<`` → ``&lt;``,
``>`` → ``&gt;``) and computes the entities' offsets on that escaped text. The grammar and the
memo need the text the author typed, so ingest unescapes it here and moves every entity offset
to the same place in the unescaped text. Only those three are undone: X escapes every ``&``,
so any other ``&name;`` in the escaped text is something the author typed literally.
"""

from __future__ import annotations

import re
from typing import Any

_ESCAPED = re.compile(r"&(amp|lt|gt);")
_PLAIN = {"amp": "&", "lt": "<", "gt": ">"}


def unescape_tweet(text: str, entities: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """(unescaped text, entities with offsets into it). Offsets are in code points."""
    parts: list[str] = []
    # new_at[i] = where escaped offset i lands in the unescaped text (i in 0..len(text)).
    new_at: list[int] = []
    pos = out = 0
    for match in _ESCAPED.finditer(text):
        for _ in range(pos, match.start()):
            new_at.append(out)
            out += 1
        parts.append(text[pos:match.start()])
        # Every offset inside an escape (only a broken entity would point there) snaps to it.
        new_at.extend([out] * (match.end() - match.start()))
        parts.append(_PLAIN[match[1]])
        out += 1
        pos = match.end()
    for _ in range(pos, len(text) + 1):
        new_at.append(out)
        out += 1
    parts.append(text[pos:])

    def move(offset: Any) -> Any:
        if isinstance(offset, int) and 0 <= offset < len(new_at):
            return new_at[offset]
        return offset

    moved: dict[str, Any] = {}
    for kind, items in (entities or {}).items():
        if not isinstance(items, list):
            moved[kind] = items
            continue
        moved[kind] = [
            {**item, "start": move(item.get("start")), "end": move(item.get("end"))}
            if isinstance(item, dict) else item
            for item in items
        ]
    return "".join(parts), moved

