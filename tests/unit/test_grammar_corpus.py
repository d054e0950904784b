"""The table: every corpus input gives exactly the expected command or error."""

from __future__ import annotations

import pytest

from handlers.errors import BusinessError, GrammarError
from handlers.grammar import parse
from handlers.text_length import fits_in_tweet

try:  # pytest puts tests/unit on sys.path (no __init__.py); a package layout would not
    from grammar_corpus import BOT_ID, CORPUS, Case, Err
except ImportError:  # pragma: no cover
    from tests.unit.grammar_corpus import BOT_ID, CORPUS, Case, Err


def _run(case: Case):
    return parse(case.text, case.entities(), bot_user_id=BOT_ID, author_id=case.author,
                 channel=case.channel, bot_username="Smoney", author_username="alice")


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 150
    assert len({c.text for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[repr(c.text[:60]) for c in CORPUS])
def test_corpus(case: Case) -> None:
    result = _run(case)
    if isinstance(case.expect, Err):
        assert isinstance(result, GrammarError), result
        assert isinstance(result, BusinessError)
        assert (result.code, result.lang) == (case.expect.code, case.expect.lang), result.text
        assert fits_in_tweet(result.text)
    else:
        assert result == case.expect
