"""Stop milestones: which moves of the best price arm the trailing stop or lift the stop to break-even."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.models.enums import Side
from backend.trading.exits import (
    BREAK_EVEN,
    TRAILING_ARMED,
    ExitRules,
    OpenPosition,
    evaluate,
    stop_milestones,
    stop_price,
)
from tests.unit.trading.test_exits_properties import ENTRY, T0, exit_rules, paths, sides

DEFAULTS = ExitRules()  # hard 10%, arms at +3%, trails 1%
WIDE = ExitRules(trailing_stop_positive=D("0.05"), trailing_stop_positive_offset=D("0.03"))


@pytest.mark.parametrize(
    ("side", "old", "new", "rules", "expected"),
    [
        # Long, defaults: below the offset nothing; reaching +3% arms it at 101.97, above entry: both at once.
        (Side.LONG, "100", "102.99", DEFAULTS, []),
        (Side.LONG, "100", "103", DEFAULTS, [TRAILING_ARMED, BREAK_EVEN]),
        (Side.LONG, "103", "110", DEFAULTS, []),  # already armed and above entry: nothing new
        # Long, trailing 5% behind: armed at +3% (97.85, tighter than 90) but under entry until best 105.27.
        (Side.LONG, "100", "104", WIDE, [TRAILING_ARMED]),
        (Side.LONG, "104", "105", WIDE, []),
        (Side.LONG, "105", "106", WIDE, [BREAK_EVEN]),
        (Side.LONG, "100", "106", WIDE, [TRAILING_ARMED, BREAK_EVEN]),
        # Short mirrors it: the best price falls.
        (Side.SHORT, "100", "97.01", DEFAULTS, []),
        (Side.SHORT, "100", "97", DEFAULTS, [TRAILING_ARMED, BREAK_EVEN]),
        (Side.SHORT, "100", "96", WIDE, [TRAILING_ARMED]),
        (Side.SHORT, "96", "95", WIDE, [BREAK_EVEN]),
        # No trailing stop: the stop is the hard stop, below entry for ever.
        (Side.LONG, "100", "150", ExitRules(trailing_stop=False), []),
    ],
)
def test_milestones_of_a_move(side, old, new, rules, expected):
    assert stop_milestones(side, ENTRY, D(old), D(new), rules) == expected


def test_exactly_at_entry_is_break_even():
    """A stop line exactly at the entry price is break-even: the position can no longer lose on price."""
    rules = ExitRules(trailing_stop_positive=D("0.05"), trailing_stop_positive_offset=D("0.03"))
    best = ENTRY / (1 - D("0.05"))  # best * 0.95 == entry
    assert stop_price(OpenPosition(Side.LONG, ENTRY, T0, best), rules) == ENTRY
    assert stop_milestones(Side.LONG, ENTRY, ENTRY, best, rules) == [TRAILING_ARMED, BREAK_EVEN]


@settings(max_examples=300)
@given(sides, exit_rules(), paths())
def test_each_milestone_at_most_once_and_matches_the_stop(side, rules, path):
    """Along any path each milestone is crossed at most once, and exactly when the evaluated stop says so."""
    best, seen = ENTRY, []
    for _, price in path:
        result = evaluate(OpenPosition(side, ENTRY, T0, best), rules, price, T0)
        crossed = stop_milestones(side, ENTRY, best, result.best_price, rules)
        given_stop = stop_milestones(side, ENTRY, best, result.best_price, rules, new_stop=result.stop_price)
        assert given_stop == crossed  # the monitor passes the stop `evaluate` placed: the same answer
        if result.best_price == best or not result.trailing:  # the monitor asks only when trailing
            assert crossed == []
        seen += crossed
        at_or_past_entry = result.stop_price >= ENTRY if side == Side.LONG else result.stop_price <= ENTRY
        assert (BREAK_EVEN in seen) == at_or_past_entry
        best = result.best_price
    assert seen.count(TRAILING_ARMED) <= 1
    assert seen.count(BREAK_EVEN) <= 1


@given(sides, exit_rules(trailing=False), st.decimals(min_value=D("1"), max_value=D("199"), places=2))
def test_no_trailing_stop_no_milestones(side, rules, best):
    assert stop_milestones(side, ENTRY, ENTRY, best, rules) == []
