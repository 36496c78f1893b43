"""Exit rules over arbitrary price paths and settings: what must hold whatever the market does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from decimal import Inexact, localcontext
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.models.enums import CloseReason, Side
from backend.trading.exits import Evaluation, ExitRules, OpenPosition, evaluate, price_move, stop_price

T0 = datetime(2026, 6, 1, tzinfo=UTC)
ENTRY = D("100")
STOPS = {CloseReason.STOP_LOSS, CloseReason.TRAILING_STOP}
thorough = settings(max_examples=300)  # paths are cheap; rare branches need the extra draws
sides = st.sampled_from([Side.LONG, Side.SHORT])


def fraction(low: str, high: str) -> st.SearchStrategy[D]:
    return st.decimals(min_value=D(low), max_value=D(high), places=3)


@st.composite
def exit_rules(
    draw: st.DrawFn, *, trailing: bool | None = None, only_offset: bool | None = None
) -> ExitRules:
    stoploss = draw(fraction("0.005", "0.5"))
    only = draw(st.booleans()) if only_offset is None else only_offset
    positive = draw(fraction("0.001", "0.2"))
    if not only:
        positive = min(positive, stoploss)  # wider would loosen the stop at the offset: refused
    hours = draw(st.none() | st.integers(1, 96))
    return ExitRules(
        stoploss=stoploss,
        take_profit=draw(st.none() | fraction("0.005", "0.8")),
        trailing_stop=draw(st.booleans()) if trailing is None else trailing,
        trailing_stop_positive=positive,
        trailing_stop_positive_offset=draw(fraction("0", "0.3")),
        trailing_only_offset_is_reached=only,
        time_limit=None if hours is None else timedelta(hours=hours),
    )


@st.composite
def paths(draw: st.DrawFn) -> list[tuple[int, D]]:
    """(minutes since the previous price, price): a walk from the entry, mostly small steps, some gaps."""
    steps = st.one_of(fraction("-0.04", "0.04"), fraction("-0.04", "0.04"), fraction("-0.3", "0.3"))
    price, path = ENTRY, []
    for minutes, step in draw(st.lists(st.tuples(st.integers(0, 240), steps), min_size=1, max_size=60)):
        price = min(D("199"), max(D("1"), (price * (1 + step)).quantize(D("0.01"))))  # mirror stays > 0
        path.append((minutes, price))
    return path


def walk(side: Side, rules: ExitRules, path, entry: D = ENTRY) -> list[tuple[datetime, D, Evaluation]]:
    """Every cycle's evaluation along the path, carrying the best price forward as the monitor does."""
    best, now, seen = entry, T0, []
    for minutes, price in path:
        now += timedelta(minutes=minutes)
        result = evaluate(OpenPosition(side, entry, T0, best), rules, price, now)
        seen.append((now, price, result))
        best = result.best_price
    return seen


def tighter_or_equal(side: Side, a: D, b: D) -> bool:
    return a >= b if side == Side.LONG else a <= b


@thorough
@given(sides, exit_rules(), paths())
def test_stop_never_loosens(side, rules, path):
    hard = ENTRY * (1 - rules.stoploss) if side == Side.LONG else ENTRY * (1 + rules.stoploss)
    last_stop, last_best = None, ENTRY
    for _, _, result in walk(side, rules, path):
        assert tighter_or_equal(side, result.best_price, last_best)
        assert tighter_or_equal(side, result.stop_price, hard)
        if last_stop is not None:
            assert tighter_or_equal(side, result.stop_price, last_stop)
        # The stop for the chart is the one `stop_price` places for that best price.
        assert result.stop_price == stop_price(OpenPosition(side, ENTRY, T0, result.best_price), rules)
        last_stop, last_best = result.stop_price, result.best_price


@thorough
@given(sides, exit_rules(), paths())
def test_never_closes_strictly_between_stop_and_take_profit(side, rules, path):
    sign = 1 if side == Side.LONG else -1
    for now, price, result in walk(side, rules, path):
        early = rules.time_limit is None or now - T0 < rules.time_limit
        below_take = rules.take_profit is None or price_move(side, ENTRY, price) < rules.take_profit
        if early and below_take and sign * (price - result.stop_price) > 0:
            assert result.reason is None
        # Conversely a price at or past the stop line closes the position (take-profit may come first).
        if sign * (price - result.stop_price) <= 0:
            assert result.reason in STOPS | {CloseReason.TAKE_PROFIT}


@thorough
@given(sides, exit_rules(trailing=True, only_offset=True), paths())
def test_no_trailing_stop_before_the_offset_is_reached(side, rules, path):
    hard = ENTRY * (1 - rules.stoploss) if side == Side.LONG else ENTRY * (1 + rules.stoploss)
    reached = rules.trailing_stop_positive_offset == 0  # the entry itself is the best price so far
    for _, price, result in walk(side, rules, path):
        reached = reached or price_move(side, ENTRY, price) >= rules.trailing_stop_positive_offset
        if not reached:
            assert result.reason != CloseReason.TRAILING_STOP
            assert result.stop_price == hard


@thorough
@given(sides, exit_rules(), paths())
def test_trailing_stop_only_when_its_line_is_the_tighter_one(side, rules, path):
    hard = ENTRY * (1 - rules.stoploss) if side == Side.LONG else ENTRY * (1 + rules.stoploss)
    for _, _, result in walk(side, rules, path):
        if result.reason == CloseReason.TRAILING_STOP:
            assert rules.trailing_stop and result.stop_price != hard
            assert tighter_or_equal(side, result.stop_price, hard)


@thorough
@given(exit_rules(trailing=False), paths())
def test_mirrored_path_same_decisions_without_trailing(rules, path):
    # Everything measured from entry mirrors exactly around it: price p for a long is 2*entry - p for a short.
    mirrored = [(minutes, 2 * ENTRY - price) for minutes, price in path]
    for (_, _, long), (_, _, short) in zip(
        walk(Side.LONG, rules, path), walk(Side.SHORT, rules, mirrored), strict=True
    ):
        assert short == Evaluation(2 * ENTRY - long.best_price, 2 * ENTRY - long.stop_price, long.reason)


# Full symmetry including the trailing stop. A trailing distance is a fraction of the best price (1% above the
# low for a short, as in Freqtrade), so the exact mirror is around entry in log price, p -> entry^2 / p, with
# each fraction x mapped to its counterpart: a 20% stop below entry is a 25% stop above it (1/0.8 = 1.25).
# Prices and factors are 2^a * 5^b so every product and reciprocal is an exact Decimal; the test traps
# Inexact to prove it.
LATTICE = sorted({D(2) ** a * D(5) ** b for a in range(-10, 11) for b in range(-6, 7)})
BELOW_ONE = [v for v in LATTICE if D("0.5") < v < 1]  # 1 - x for a long's stop and trailing distance
ABOVE_ONE = [v for v in LATTICE if 1 < v <= 4]  # 1 + x for a long's take-profit and offset
with localcontext() as _ctx:
    _ctx.traps[Inexact] = True
    INVERSE = {v: 1 / v for v in [D(1), *BELOW_ONE, *ABOVE_ONE]}
STEPS = [D("1.024"), D("0.9765625"), D("1.024"), D("0.9765625"), D("1.25"), D("0.8"), D("1.220703125"), D(1)]


def exact_step(price: D, step: D) -> D:
    """price * step, unless it or its inverse needs more than 14 digits (a product with a 10-digit factor
    could then round): the walk stays put instead."""
    with localcontext() as ctx:
        ctx.traps[Inexact] = True
        try:
            moved = price * step
            digits = max(len(x.normalize().as_tuple().digits) for x in (moved, 1 / moved))
        except Inexact:
            return price
    return moved if digits <= 14 else price


@st.composite
def lattice_paths(draw: st.DrawFn) -> list[tuple[int, D]]:
    price, path = D(1), []
    for minutes, step in draw(
        st.lists(st.tuples(st.integers(0, 240), st.sampled_from(STEPS)), min_size=1, max_size=40)
    ):
        price = exact_step(price, step)
        path.append((minutes, price))
    return path


@st.composite
def conjugate_rules(draw: st.DrawFn) -> tuple[ExitRules, ExitRules]:
    """Rules for a long and the rules a short needs to see the log-mirrored path identically."""
    stop, distance = draw(st.sampled_from(BELOW_ONE)), draw(st.sampled_from(BELOW_ONE))
    take, arm = draw(st.sampled_from(ABOVE_ONE)), draw(st.sampled_from([D(1), *ABOVE_ONE]))
    only, trailing, has_take = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    if not only:
        distance = max(distance, stop)  # distance no wider than the stop
    hours = draw(st.none() | st.integers(1, 48))
    common = {
        "trailing_stop": trailing,
        "trailing_only_offset_is_reached": only,
        "time_limit": None if hours is None else timedelta(hours=hours),
    }
    long = ExitRules(
        stoploss=1 - stop,
        take_profit=take - 1 if has_take else None,
        trailing_stop_positive=1 - distance,
        trailing_stop_positive_offset=arm - 1,
        **common,
    )
    short = ExitRules(
        stoploss=INVERSE[stop] - 1,
        take_profit=1 - INVERSE[take] if has_take else None,
        trailing_stop_positive=INVERSE[distance] - 1,
        trailing_stop_positive_offset=1 - INVERSE[arm],
        **common,
    )
    return long, short


@thorough
@given(conjugate_rules(), lattice_paths(), st.sampled_from([D(1), D(100), D("0.001")]))
def test_long_and_short_mirror_each_other_in_log_price(rules, path, entry):
    long_rules, short_rules = rules
    with localcontext() as ctx:
        ctx.traps[Inexact] = True
        long_path = [(minutes, entry * p) for minutes, p in path]
        short_path = [(minutes, entry / p) for minutes, p in path]  # entry^2 / (entry * p)
        longs = walk(Side.LONG, long_rules, long_path, entry)
        shorts = walk(Side.SHORT, short_rules, short_path, entry)
    square = Fraction(entry) ** 2
    for (_, _, long), (_, _, short) in zip(longs, shorts, strict=True):
        assert short.reason == long.reason
        assert Fraction(short.best_price) == square / Fraction(long.best_price)
        assert Fraction(short.stop_price) == square / Fraction(long.stop_price)
