"""The gateway's rate-limit book: a 429 means no budget until the reset, whatever the
``x-rate-limit-remaining`` header of that answer says."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from bot.gateway.budgets import Budgets
from handlers.errors import RateLimited

NOW = 1_800_000_000.0


def answer(**headers: str) -> requests.Response:
    response = requests.Response()
    response.headers.update(headers)
    return response


def test_a_429_spends_the_budget_even_if_the_header_says_some_is_left() -> None:
    budgets = Budgets(lambda: NOW)
    budgets.record("send_dm", answer(**{"x-rate-limit-remaining": "7", "x-rate-limit-limit": "15",
                                        "x-rate-limit-reset": str(int(NOW) + 300)}), limited=True)
    with pytest.raises(RateLimited) as caught:
        budgets.check("send_dm")
    assert caught.value.reset_at == dt.datetime.fromtimestamp(int(NOW) + 300, dt.UTC)


def test_a_429_without_headers_waits_a_minute() -> None:
    clock = [NOW]
    budgets = Budgets(lambda: clock[0])
    budgets.record("user_by_username", answer(), limited=True)
    with pytest.raises(RateLimited):
        budgets.check("user_by_username")
    clock[0] += 61
    budgets.check("user_by_username")


def test_an_ordinary_answer_keeps_what_the_headers_say() -> None:
    budgets = Budgets(lambda: NOW)
    budgets.record("send_dm", answer(**{"x-rate-limit-remaining": "7", "x-rate-limit-limit": "15",
                                        "x-rate-limit-reset": str(int(NOW) + 300)}))
    budgets.check("send_dm")
    budget = budgets.get("send_dm")
    assert budget is not None and (budget.remaining, budget.limit) == (7, 15)
    budgets.record("send_dm", answer())  # no headers: nothing learnt, nothing forgotten
    assert budgets.get("send_dm") == budget
