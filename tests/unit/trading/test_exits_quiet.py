"""A quiet candle is one `evaluate_candle` would pass over: replays skip it, so it must never hide an exit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.trading.exits import (
    Candle,
    ExitRules,
    OpenPosition,
    candle_is_quiet,
    evaluate_candle,
    quiet_band,
)
from backend.trading.types import Side

T0 = datetime(2026, 6, 1, tzinfo=UTC)
RULES = ExitRules(stoploss=D("0.10"), take_profit=D("0.20"), time_limit=timedelta(hours=2))
prices = st.decimals(min_value=D("70"), max_value=D("130"), places=2)


@st.composite
def candles(draw: st.DrawFn) -> Candle:
    a, b, c, d = (draw(prices) for _ in range(4))
    return Candle(T0 + timedelta(minutes=draw(st.integers(0, 180))), a, max(a, b, c, d), min(a, b, c, d), d)


@settings(max_examples=500)
@given(
    side=st.sampled_from([Side.LONG, Side.SHORT]),
    best=prices,
    candle=candles(),
    take=st.none() | st.decimals(min_value=D("0.01"), max_value=D("0.3"), places=2),
    offset=st.decimals(min_value=D("0"), max_value=D("0.1"), places=3),
)
def test_a_quiet_candle_closes_nothing_and_keeps_the_best_price(side, best, candle, take, offset):
    rules = ExitRules(
        stoploss=D("0.10"),
        take_profit=take,
        trailing_stop_positive_offset=offset,
        time_limit=timedelta(hours=2),
    )
    best = max(best, D(100)) if side == Side.LONG else min(best, D(100))
    position = OpenPosition(side, D(100), T0, best)
    if candle_is_quiet(position, rules, candle):
        verdict = evaluate_candle(position, rules, candle)
        assert verdict.reason is None and verdict.best_price == best


@pytest.mark.parametrize(
    ("side", "candle", "quiet"),
    [
        (Side.LONG, Candle(T0, D(100), D(101), D(99), D(100)), True),
        (Side.LONG, Candle(T0, D(100), D(103), D(99), D(100)), False),  # a new best
        (Side.LONG, Candle(T0, D(100), D(101), D(90), D(100)), False),  # touches the stop
        (Side.SHORT, Candle(T0, D(100), D(101), D(99), D(100)), True),
        (Side.SHORT, Candle(T0, D(100), D(110), D(99), D(100)), False),
        (Side.SHORT, Candle(T0 + timedelta(hours=2), D(100), D(100), D(100), D(100)), False),  # time limit
    ],
)
def test_quiet_means_inside_every_line(side, candle, quiet):
    best = D(102) if side == Side.LONG else D(98)
    assert candle_is_quiet(OpenPosition(side, D(100), T0, best), RULES, candle) is quiet


def test_a_candle_reaching_the_target_is_not_quiet():
    position = OpenPosition(Side.LONG, D(100), T0, D(121))  # trailing at 119.79, target at 120
    assert candle_is_quiet(position, RULES, Candle(T0, D("119.9"), D("119.95"), D("119.9"), D("119.9")))
    assert not candle_is_quiet(position, RULES, Candle(T0, D("119.9"), D(120), D("119.9"), D("119.9")))


@settings(max_examples=800)
@given(
    side=st.sampled_from([Side.LONG, Side.SHORT]),
    best=prices,
    candle=candles(),
    take=st.none() | st.decimals(min_value=D("0.01"), max_value=D("0.3"), places=2),
    offset=st.decimals(min_value=D("0"), max_value=D("0.1"), places=3),
    limit=st.none() | st.integers(1, 180).map(lambda m: timedelta(minutes=m)),
)
def test_the_quiet_band_answers_exactly_as_candle_is_quiet(side, best, candle, take, offset, limit):
    rules = ExitRules(
        stoploss=D("0.10"), take_profit=take, trailing_stop_positive_offset=offset, time_limit=limit
    )
    best = max(best, D(100)) if side == Side.LONG else min(best, D(100))
    position = OpenPosition(side, D(100), T0, best)
    assert quiet_band(position, rules).holds(candle) is candle_is_quiet(position, rules, candle)
