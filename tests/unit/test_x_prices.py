"""The cost meter's arithmetic (bot.x_meter) and the benchmark's limits (benchmarks.x_cost)."""

from __future__ import annotations

import pytest

from benchmarks.x_cost import per_hour_and_day
from bot.x_meter import Meter, load_prices, post_operation, read_usage, usd

DAY = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_price_table_is_data_with_its_source_date() -> None:
    table = load_prices()
    assert table.as_of == "2026-08-13" and "X" in table.source
    assert table.price("owned_read").micro_usd == 1_000
    assert table.price("post_create_url").micro_usd == 200_000
    assert table.price("summoned_reply").micro_usd == 10_000
    assert table.price("dm_create").per == "request"
    assert table.price("not-an-operation").micro_usd == 0


def test_a_resource_is_billed_once_a_day_however_often_it_is_read() -> None:
    clock = Clock()
    meter = Meter(clock=clock)
    meter.record("dm_read", ["1", "2", "3"])
    meter.record("dm_read", ["2", "3", "4"])
    usage = meter.totals()["dm_read"]
    assert (usage.requests, usage.resources, usage.billed, usage.micro_usd) == (2, 6, 4, 40_000)
    clock.now += DAY
    meter.record("dm_read", ["1"])
    assert meter.totals()["dm_read"].billed == 5  # a new UTC day bills it again
    assert len(meter._seen) == 1  # and the old day's ids are forgotten


def test_requests_are_billed_each_time_and_includes_are_not_a_request() -> None:
    meter = Meter(clock=Clock())
    meter.record("dm_create")
    meter.record("dm_create")
    meter.record("user_read", ["7"], request=False)
    totals = meter.totals()
    assert (totals["dm_create"].billed, totals["dm_create"].micro_usd) == (2, 30_000)
    assert (totals["user_read"].requests, totals["user_read"].billed) == (0, 1)


@pytest.mark.parametrize(("text", "reply", "expected"), [
    ("Confirmez dans l'app, réf. K7Q2", True, "summoned_reply"),
    ("Lien : https://pay.example/c/abc", True, "post_create_url"),
    ("voir www.example.org", False, "post_create_url"),
    ("Bonjour", False, "post_create"),
])
def test_how_x_bills_a_post(text: str, reply: bool, expected: str) -> None:
    assert post_operation(text, in_reply_to=reply) == expected


def test_a_read_bills_its_data_and_the_users_that_came_with_it() -> None:
    body = {"data": [{"id": "10"}, {"id": "11"}], "includes": {"users": [{"id": "5"}]}}
    assert read_usage("mentions", body) == [("owned_read", ["10", "11"], True),
                                           ("user_read", ["5"], False)]
    assert read_usage("mentions", body, owned=False)[0][0] == "post_read"
    assert read_usage("users_me", {"data": {"id": "1"}}) == [("user_read", ["1"], True)]
    assert read_usage("dm_events", {"meta": {"result_count": 0}}) == [("dm_read", [], True)]


def test_usd_is_exact() -> None:
    assert usd(51_000) == "0.051" and usd(1) == "0.000001" and usd(0) == "0"


def test_payments_allowed_by_xs_write_limits() -> None:
    assert per_hour_and_day(2, 2) == (30, 720)  # the baseline: 15 DMs per 15 min, 2 each
    assert per_hour_and_day(1, 1) == (60, 1_440)
    hour, day = per_hour_and_day(0, 1)  # posts only: 100 per 15 min, 10,000 a day
    assert (hour, day) == (400, 9_600)
    assert per_hour_and_day(0, 0) == (float("inf"), float("inf"))
