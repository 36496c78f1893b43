"""A backtest's period: dates within 2000-01-01..today, and a window ending at the last closed bar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from backend.backtest.candles import BAR
from backend.backtest.schemas import EARLIEST, Period
from backend.models.common import utcnow

NOW = datetime(2026, 11, 1, 12, 7, 30, tzinfo=UTC)


def test_days_count_back_from_the_last_closed_bar():
    assert Period(days=7).window(NOW) == (
        datetime(2026, 10, 25, 12, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
    )
    # Anywhere within one bar, the same window; the next bar, the next one.
    bar = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert Period(days=30).window(bar) == Period(days=30).window(bar + BAR - timedelta(microseconds=1))
    assert Period(days=30).window(bar + BAR)[1] == bar + BAR


def test_dates_run_midnight_to_midnight_clipped_at_the_last_closed_bar():
    whole = Period(start=date(2026, 10, 1), end=date(2026, 10, 31))
    assert whole.window(NOW) == (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    today = Period(start=date(2026, 11, 1), end=date(2026, 11, 1))
    assert today.window(NOW) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, 12, tzinfo=UTC))
    # Minutes after midnight no bar of the day has closed: an empty window, never one that ends first.
    start, end = today.window(datetime(2026, 11, 1, 0, 7, tzinfo=UTC))
    assert start == end == datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (EARLIEST - timedelta(days=1), EARLIEST, "start"),
        (date(1, 1, 1), date(2026, 1, 5), "start"),
        (date(2026, 1, 1), date(9999, 12, 31), "end"),
    ],
)
def test_dates_outside_2000_to_today_are_refused_on_their_field(start, end, field):
    with pytest.raises(ValidationError) as refused:
        Period(start=start, end=end)
    assert [e["loc"] for e in refused.value.errors()] == [(field,)]


def test_a_start_two_days_ahead_is_refused_and_the_first_day_allowed_is_not():
    ahead = utcnow().date() + timedelta(days=2)  # two days: never today, whatever the hour
    with pytest.raises(ValidationError) as refused:
        Period(start=ahead, end=ahead)
    assert {e["loc"] for e in refused.value.errors()} == {("start",), ("end",)}
    assert "must not be after today" in str(refused.value)
    assert Period(start=EARLIEST, end=EARLIEST).start == EARLIEST
