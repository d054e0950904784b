"""The Pro account's donations CSV: exact content, CSV-injection safe, exact amounts."""

from __future__ import annotations

import csv
import datetime as dt
import io

from handlers.money import Money
from storage.pro import Donation, donations_csv, euros_text

PARIS = dt.timezone(dt.timedelta(hours=1))


def test_csv_content_is_exact() -> None:
    donations = [
        Donation(dt.datetime(2026, 11, 23, 12, 5, 7, tzinfo=dt.UTC), "K7M2QX", "alice", 1001,
                 Money(1250), "pour la cantine, merci"),
        Donation(dt.datetime(2026, 11, 23, 14, 0, tzinfo=PARIS), "=CMD", "bob", 1002,
                 Money(5), 'il a dit "bravo"'),
        Donation(dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC), "Z9Z9Z9", "carol", 1003,
                 Money(50_000), "=HYPERLINK(\"http://evil\")"),
        Donation(dt.datetime(2026, 11, 24, 9, 31, tzinfo=dt.UTC), "A2A2A2", "dave", 1004,
                 Money(100), "+1 -2 @3"),
        Donation(dt.datetime(2026, 11, 24, 9, 32, tzinfo=dt.UTC), "B3B3B3", "erin", 1005,
                 Money(199), ""),
    ]
    assert donations_csv(donations) == (
        "date,reference,donor_handle,donor_x_user_id,amount_eur,memo\r\n"
        '2026-11-23T12:05:07+00:00,K7M2QX,alice,1001,12.50,"pour la cantine, merci"\r\n'
        "2026-11-23T13:00:00+00:00,'=CMD,bob,1002,0.05,\"il a dit \"\"bravo\"\"\"\r\n"
        "2026-11-24T09:30:00+00:00,Z9Z9Z9,carol,1003,500.00,"
        "\"'=HYPERLINK(\"\"http://evil\"\")\"\r\n"
        "2026-11-24T09:31:00+00:00,A2A2A2,dave,1004,1.00,'+1 -2 @3\r\n"
        "2026-11-24T09:32:00+00:00,B3B3B3,erin,1005,1.99,\r\n"
    )


def test_csv_reads_back_with_the_quote_prefix_only_on_formulas() -> None:
    memos = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "a=b", "12,50 €", 'quote " inside', "é"]
    donations = [
        Donation(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), f"R{i}", "h", i, Money(1), memo)
        for i, memo in enumerate(memos)
    ]
    rows = list(csv.reader(io.StringIO(donations_csv(donations))))[1:]
    assert [row[5] for row in rows] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "a=b", "12,50 €", 'quote " inside', "é"
    ]
    assert all(len(row) == 6 for row in rows)


def test_header_only_when_nothing_was_received() -> None:
    assert donations_csv([]) == "date,reference,donor_handle,donor_x_user_id,amount_eur,memo\r\n"


def test_euros_text_is_exact() -> None:
    assert [euros_text(Money(c)) for c in (0, 1, 10, 99, 100, 1250, 123_456_789)] == [
        "0.00", "0.01", "0.10", "0.99", "1.00", "12.50", "1234567.89"
    ]
