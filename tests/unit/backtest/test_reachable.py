"""The bars a backtest reads: from each signal's bar until its time limit has surely passed, merged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from backend.backtest.engine import reachable
from backend.models.enums import Side
from backend.trading.replay import ReplaySignal

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=10)
LIMIT = timedelta(hours=72)


def _signal(token: str, hours: float) -> ReplaySignal:
    return ReplaySignal(START + timedelta(hours=hours), token, Side.LONG, Decimal("0.5"))


def test_a_span_runs_from_the_signals_bar_to_an_hour_past_the_limit():
    spans = reachable([_signal("BTC", 5.1)], START, END, LIMIT)
    at = START + timedelta(hours=5.1)
    assert spans == {"BTC": [(START + timedelta(hours=5), at + LIMIT + timedelta(hours=1))]}


def test_overlapping_spans_merge_and_markets_stay_apart():
    signals = [_signal("BTC", 0), _signal("ETH", 1), _signal("BTC", 50), _signal("BTC", 200)]
    spans = reachable(signals, START, END, LIMIT)
    assert spans["BTC"] == [
        (START, START + timedelta(hours=50 + 73)),
        (START + timedelta(hours=200), END),  # cut at the end
    ]
    assert spans["ETH"] == [(START + timedelta(hours=1), START + timedelta(hours=74))]


def test_without_a_time_limit_a_position_can_reach_the_end():
    spans = reachable([_signal("BTC", 30), _signal("BTC", 90)], START, END, None)
    assert spans == {"BTC": [(START + timedelta(hours=30), END)]}


def test_a_signal_at_the_end_reads_no_bars_but_keeps_its_market():
    assert reachable([_signal("BTC", 240)], START, END, LIMIT) == {"BTC": []}


def test_spans_less_than_a_day_apart_are_read_as_one():
    spans = reachable([_signal("BTC", 0), _signal("BTC", 73 + 20)], START, END, LIMIT)
    assert spans == {"BTC": [(START, START + timedelta(hours=93 + 73))]}
