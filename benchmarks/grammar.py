"""Commands parsed per second over the grammar's test corpus.

Run: ``python -m benchmarks.grammar``. Entities are built once (as X would send them); the
timed loop is ``handlers.grammar.parse`` alone. The baseline beside it, measured in the same
run, is ``handlers.entities.extract_entities`` over the same texts: the cost of only finding
the mentions and hashtags, which ``parse`` also has to do to check X's offsets.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "unit"))

from grammar_corpus import BOT_ID, CORPUS

from handlers.entities import extract_entities
from handlers.grammar import parse


def _rate(work, count: int, seconds: float = 2.0) -> float:
    rounds, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        work()
        rounds += 1
    return rounds * count / (time.perf_counter() - start)


def main() -> None:
    # The one 10,000-character DM would dominate; it is timed on its own below.
    cases = [(c.text, c.entities(), c.author, c.channel) for c in CORPUS if len(c.text) < 1000]
    long_cases = [(c.text, c.entities(), c.author, c.channel) for c in CORPUS
                  if len(c.text) >= 1000]

    def run_parse(batch=cases) -> None:
        for text, ents, author, channel in batch:
            parse(text, ents, bot_user_id=BOT_ID, author_id=author, channel=channel)

    def run_extract() -> None:
        for text, *_ in cases:
            extract_entities(text)

    parsed = _rate(run_parse, len(cases))
    extracted = _rate(run_extract, len(cases))
    long_rate = _rate(lambda: run_parse(long_cases), len(long_cases), 1.0)
    print(f"grammar corpus: {len(cases)} texts (+{len(long_cases)} of 1,000-10,000 chars)")
    print(f"parse():            {parsed:10,.0f} commands/s")
    print(f"extract_entities(): {extracted:10,.0f} texts/s (baseline, same run)")
    print(f"ratio parse/extract: {parsed / extracted:.2f}x")
    print(f"long DMs parse():   {long_rate:10,.0f} commands/s")


if __name__ == "__main__":
    main()
