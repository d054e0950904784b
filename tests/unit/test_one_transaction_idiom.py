"""One transaction idiom in bot/: the unit of work (``storage.uow.UnitOfWork``), which rolls
back unless ``commit()`` is called. A ``sessions.begin()`` block commits on any exit, an
early ``return`` included, so the two read alike and behave oppositely: keeping one means a
reader never has to ask which one a block is."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NOT_YET: set[str] = set()  # files still to convert (none left)


def _begin_calls(source: str) -> list[int]:
    """The lines of every ``<anything>.begin()`` call (a session's or an engine's)."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "begin" and not node.args and not node.keywords]


def test_bot_opens_transactions_only_through_the_unit_of_work() -> None:
    found = [f"{name}:{line}"
             for path in sorted((ROOT / "bot").rglob("*.py"))
             if (name := path.relative_to(ROOT).as_posix()) not in NOT_YET
             for line in _begin_calls(path.read_text(encoding="utf-8"))]
    assert found == [], "use `with UnitOfWork(sessions) as uow: ...; uow.commit()`"


def test_the_scan_finds_begin_blocks_and_nothing_else() -> None:
    source = ("def f(sessions, engine, uow):\n"
              "    with sessions.begin() as session:\n"
              "        session.begin_nested()\n"
              "    with engine.begin() as conn:\n"
              "        conn.execute(begin())\n"
              "    with UnitOfWork(sessions) as uow:\n"
              "        uow.commit()\n")
    assert _begin_calls(source) == [2, 4]
