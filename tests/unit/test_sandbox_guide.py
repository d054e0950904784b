"""The guide ``make run`` prints: its curl commands work when pasted into a shell."""

from __future__ import annotations

import json
import shlex

from bot.sandbox import SandboxUser, instructions
from handlers.money import Money

USERS = [SandboxUser(11, "alice", "personal", "482916", Money(10_000)),
         SandboxUser(12, "bob", "personal", "739251", Money(5_000))]


def _shell_lines(text: str) -> list[str]:
    """The guide as a shell reads it: a backslash at the end of a line continues it."""
    return text.replace("\\\n", " ").splitlines()


def test_every_posted_command_carries_its_json_body() -> None:
    guide = instructions("http://127.0.0.1:8765", "http://127.0.0.1:8000", USERS)
    posts = [shlex.split(line.strip()) for line in _shell_lines(guide)
             if line.strip().startswith("curl") and "-X POST" in line]
    assert len(posts) >= 3
    for words in posts:
        assert "-d" in words, " ".join(words)  # a lost backslash left -d on a line of its own
        body = json.loads(words[words.index("-d") + 1])
        assert body.get("text", "").startswith(("@Smoney", "#"))
