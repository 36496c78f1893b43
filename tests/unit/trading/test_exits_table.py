"""Exit rules by example: each reason, priorities, arming, trailing from the start or only past the offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from backend.models import Agent, AgentDeployment
from backend.models.enums import CloseReason, Side
from backend.trading.book import unrealized_pnl
from backend.trading.exits import (
    Evaluation,
    ExitRules,
    OpenPosition,
    evaluate,
    exit_reason,
    pnl_ratio,
    price_move,
    rules_for,
    stop_price,
    update_best_price,
)

T0 = datetime(2026, 6, 1, tzinfo=UTC)
H48 = timedelta(hours=48)
OFFSET = ExitRules(take_profit=D("0.20"), time_limit=H48)  # the old platform's: arms at +3%, trails 1%
FROM_START = ExitRules(take_profit=D("0.20"), trailing_only_offset_is_reached=False, time_limit=H48)
WIDE = ExitRules(stoploss=D("0.05"), trailing_stop_positive=D("0.20"))  # trails wider than the hard stop
NO_TRAIL = ExitRules(take_profit=D("0.20"), trailing_stop=False, time_limit=H48)
L, S = Side.LONG, Side.SHORT
SL, TP, TS, TL = (
    CloseReason.STOP_LOSS,
    CloseReason.TAKE_PROFIT,
    CloseReason.TRAILING_STOP,
    CloseReason.TIME_LIMIT,
)


def pos(side: Side, best: str) -> OpenPosition:
    return OpenPosition(side=side, entry_price=D("100"), opened_at=T0, best_price=D(best))


# rules, side, best before, price, hours open -> reason, stop line, best after
CASES = {
    # Long under the old platform's rules (entry 100: hard stop 90, take-profit 120, arms at 103).
    "long hard stop, inclusive": (OFFSET, L, "100", "90", 1, SL, "90.0", "100"),
    "long a cent above the hard stop": (OFFSET, L, "100", "90.01", 1, None, "90.0", "100"),
    "long take profit, inclusive": (OFFSET, L, "100", "120", 1, TP, "118.80", "120"),
    "long below the offset: not armed": (OFFSET, L, "102.9", "101.5", 1, None, "90.0", "102.9"),
    "long this price reaches the offset": (OFFSET, L, "100", "103", 1, None, "101.97", "103"),
    "long trailing stop, inclusive": (OFFSET, L, "105", "103.95", 1, TS, "103.95", "105"),
    "long above the trailing stop": (OFFSET, L, "105", "104", 1, None, "103.95", "105"),
    "long new high moves the stop": (OFFSET, L, "105", "110", 1, None, "108.90", "110"),
    "long gap through both stops: stop loss first": (OFFSET, L, "105", "89", 1, SL, "103.95", "105"),
    "long take profit before trailing": (OFFSET, L, "130", "125", 1, TP, "128.70", "130"),
    "long trailing before time limit": (OFFSET, L, "105", "103", 48, TS, "103.95", "105"),
    "long stop loss before time limit": (OFFSET, L, "100", "85", 50, SL, "90.0", "100"),
    "long take profit before time limit": (OFFSET, L, "100", "121", 50, TP, "119.79", "121"),
    "long time limit, inclusive": (OFFSET, L, "100", "100", 48, TL, "90.0", "100"),
    "long a minute before the time limit": (OFFSET, L, "100", "100", 47.99, None, "90.0", "100"),
    # Short: the same rules mirrored (hard stop 110, take-profit 80, arms at 97).
    "short hard stop, inclusive": (OFFSET, S, "100", "110", 1, SL, "110.0", "100"),
    "short a cent below the hard stop": (OFFSET, S, "100", "109.99", 1, None, "110.0", "100"),
    "short take profit, inclusive": (OFFSET, S, "100", "80", 1, TP, "80.80", "80"),
    "short above the offset: not armed": (OFFSET, S, "97.1", "98.5", 1, None, "110.0", "97.1"),
    "short this price reaches the offset": (OFFSET, S, "100", "97", 1, None, "97.97", "97"),
    "short trailing stop, inclusive": (OFFSET, S, "95", "95.95", 1, TS, "95.95", "95"),
    "short below the trailing stop": (OFFSET, S, "95", "95.5", 1, None, "95.95", "95"),
    "short gap through both stops: stop loss first": (OFFSET, S, "95", "111", 1, SL, "95.95", "95"),
    "short take profit before trailing": (OFFSET, S, "70", "75", 1, TP, "70.70", "70"),
    "short trailing before time limit": (OFFSET, S, "95", "96", 48, TS, "95.95", "95"),
    "short time limit": (OFFSET, S, "100", "100", 48, TL, "110.0", "100"),
    # Trailing from the start: stoploss (10%) behind the best price, 1% once the offset is reached.
    "from start: at entry the lines coincide, stop loss": (FROM_START, L, "100", "90", 1, SL, "90.0", "100"),
    "from start: trails 10% before the offset": (FROM_START, L, "102", "92", 1, None, "91.80", "102"),
    "from start: trailing line crossed": (FROM_START, L, "102", "91.8", 1, TS, "91.80", "102"),
    "from start: hard line crossed too": (FROM_START, L, "102", "90", 1, SL, "91.80", "102"),
    "from start: tightens at the offset": (FROM_START, L, "103", "101.97", 1, TS, "101.97", "103"),
    "from start: short trails 10%": (FROM_START, S, "98", "107.8", 1, TS, "107.80", "98"),
    "from start: short inside": (FROM_START, S, "98", "107.7", 1, None, "107.80", "98"),
    "from start: short tightens": (FROM_START, S, "97", "97.97", 1, TS, "97.97", "97"),
    "only offset: same path not armed": (OFFSET, L, "102", "91.8", 1, None, "90.0", "102"),
    # A trailing stop looser than the hard stop is not the line: the hard stop stays.
    "wide trailing: long hard stop stays the line": (WIDE, L, "110", "96", 1, None, "95.00", "110"),
    "wide trailing: long stop loss": (WIDE, L, "110", "95", 1, SL, "95.00", "110"),
    "wide trailing: long trails once above the hard stop": (WIDE, L, "125", "100", 1, TS, "100.0", "125"),
    "wide trailing: short hard stop stays the line": (WIDE, S, "90", "104", 1, None, "105.00", "90"),
    # Trailing off: only the hard stop, take-profit and time limit, however far the price ran.
    "no trailing: long far past the offset": (NO_TRAIL, L, "119", "100", 1, None, "90.0", "119"),
    "no trailing: long stop loss": (NO_TRAIL, L, "119", "90", 1, SL, "90.0", "119"),
    "no trailing: long take profit": (NO_TRAIL, L, "100", "120", 1, TP, "90.0", "120"),
    "no trailing: short far past the offset": (NO_TRAIL, S, "81", "100", 1, None, "110.0", "81"),
    "no trailing: short stop loss": (NO_TRAIL, S, "81", "110", 1, SL, "110.0", "81"),
    "no trailing: time limit": (NO_TRAIL, S, "81", "100", 48, TL, "110.0", "81"),
}


@pytest.mark.parametrize(
    ("rules", "side", "best", "price", "hours", "reason", "stop", "best_after"),
    list(CASES.values()),
    ids=list(CASES),
)
def test_evaluate_table(rules, side, best, price, hours, reason, stop, best_after):
    now = T0 + timedelta(hours=hours)
    result = evaluate(pos(side, best), rules, D(price), now)
    assert result == Evaluation(best_price=D(best_after), stop_price=D(stop), reason=reason)
    # The older entry points agree: they take the best price already updated.
    updated = pos(side, best_after)
    assert exit_reason(updated, rules, D(price), now) == reason
    assert stop_price(updated, rules) == D(stop)
    assert update_best_price(side, D(best), D(price)) == D(best_after)


def test_evaluation_is_frozen():
    result = evaluate(pos(L, "100"), OFFSET, D("100"), T0)
    with pytest.raises(AttributeError):
        result.reason = SL  # type: ignore[misc]


def test_default_rules_are_the_old_platforms():
    rules = ExitRules()
    assert (rules.stoploss, rules.take_profit, rules.time_limit) == (D("0.10"), None, None)
    assert rules.trailing_stop and rules.trailing_only_offset_is_reached
    assert (rules.trailing_stop_positive_offset, rules.trailing_stop_positive) == (D("0.03"), D("0.01"))


def test_side_may_come_from_the_database_as_text():
    position = OpenPosition(side="short", entry_price=D("100"), opened_at=T0, best_price=D("100"))  # type: ignore[arg-type]
    assert evaluate(position, OFFSET, D("110"), T0).reason == SL


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"stoploss": D("0")}, "stoploss must be above 0 and below 1"),
        ({"stoploss": D("1")}, "stoploss must be above 0 and below 1"),
        ({"stoploss": D("-0.1")}, "stoploss"),
        ({"stoploss": 0.1}, "stoploss must be a finite Decimal"),
        ({"stoploss": D("NaN")}, "stoploss must be a finite Decimal"),
        ({"take_profit": D("0")}, "take_profit must be above 0"),
        ({"take_profit": D("-1")}, "take_profit"),
        ({"trailing_stop_positive": D("0")}, "trailing_stop_positive must be above 0"),
        ({"trailing_stop_positive": D("1")}, "trailing_stop_positive"),
        ({"trailing_stop_positive_offset": D("-0.01")}, "trailing_stop_positive_offset must be at least 0"),
        ({"trailing_stop": "yes"}, "trailing_stop must be True or False"),
        ({"trailing_only_offset_is_reached": 1}, "trailing_only_offset_is_reached"),
        ({"time_limit": timedelta(0)}, "time_limit must be a positive timedelta"),
        ({"time_limit": 3600}, "time_limit"),
        (
            {"trailing_only_offset_is_reached": False, "trailing_stop_positive": D("0.2")},
            "would loosen at the offset",
        ),
    ],
)
def test_bad_settings_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        ExitRules(**settings)


def test_settings_that_look_odd_but_are_sound():
    # A trailing distance wider than the hard stop cannot loosen anything when it only starts at the offset.
    ExitRules(trailing_stop_positive=D("0.2"), trailing_stop_positive_offset=D("0.3"))
    ExitRules(trailing_stop=False, trailing_only_offset_is_reached=False, trailing_stop_positive=D("0.2"))
    ExitRules(trailing_stop_positive_offset=D("0"))  # arms at entry


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"side": "flat"}, "side must be long or short"),
        ({"entry_price": D("0")}, "must be positive"),
        ({"best_price": D("-1")}, "must be positive"),
    ],
)
def test_bad_position_refused(settings, message):
    fields = {"side": L, "entry_price": D("100"), "opened_at": T0, "best_price": D("100")} | settings
    with pytest.raises(ValueError, match=message):
        OpenPosition(**fields)


def test_pnl_in_usd_and_on_margin():
    # 2 BTC bought at 100 (at 5x: 40 of margin); the price moves 3%.
    assert unrealized_pnl(L, D("100"), D("103"), D("2")) == D("6")
    assert unrealized_pnl(S, D("100"), D("103"), D("2")) == D("-6")
    assert unrealized_pnl(S, D("100"), D("97"), D("2")) == D("6")
    assert price_move(L, D("100"), D("103")) == D("0.03")
    assert pnl_ratio(L, D("100"), D("103"), D("5")) == D("0.15")
    assert pnl_ratio(S, D("100"), D("103"), D("5")) == D("-0.15")
    assert pnl_ratio(S, D("100"), D("97"), D("1")) == D("0.03")
    # Leverage moves the return on margin, not where the stop is: 10x and 1x close at the same price.
    assert pnl_ratio(L, D("100"), D("90"), D("10")) == D("-1")
    with pytest.raises(ValueError, match="size"):
        unrealized_pnl(L, D("100"), D("103"), D("-2"))
    with pytest.raises(ValueError, match="leverage"):
        pnl_ratio(L, D("100"), D("103"), D("0"))


AGENT = SimpleNamespace(
    stoploss=D("0.08"),
    take_profit=D("0.25"),
    trailing_stop_positive_offset=D("0.05"),
    trailing_stop_positive=D("0.02"),
)


def test_rules_for_takes_the_agents_settings_without_overrides():
    none = SimpleNamespace(
        stoploss=None, take_profit=None, trailing_stop_positive_offset=None, trailing_stop_positive=None
    )
    expected = ExitRules(
        stoploss=D("0.08"),
        take_profit=D("0.25"),
        trailing_stop=True,
        trailing_stop_positive=D("0.02"),
        trailing_stop_positive_offset=D("0.05"),
        trailing_only_offset_is_reached=True,
        time_limit=H48,
    )
    assert rules_for(AGENT, none, H48) == expected
    assert rules_for(AGENT, None, H48) == expected


def test_rules_for_prefers_each_override():
    deployment = SimpleNamespace(
        stoploss=D("0.05"),
        take_profit=None,
        trailing_stop_positive_offset=None,
        trailing_stop_positive=D("0.005"),
    )
    rules = rules_for(AGENT, deployment, None)
    assert (rules.stoploss, rules.take_profit) == (D("0.05"), D("0.25"))
    assert (rules.trailing_stop_positive_offset, rules.trailing_stop_positive) == (D("0.05"), D("0.005"))
    assert rules.time_limit is None


def test_rules_for_reads_the_real_models():
    agent = Agent(
        stoploss=D("0.10"),
        take_profit=None,
        trailing_stop_positive_offset=D("0.03"),
        trailing_stop_positive=D("0.01"),
    )
    deployment = AgentDeployment(take_profit=D("0.30"))
    rules = rules_for(agent, deployment, H48)
    assert rules == ExitRules(take_profit=D("0.30"), time_limit=H48)
    assert rules_for(agent, AgentDeployment(), None).take_profit is None


def test_rules_for_refuses_unusable_stored_settings():
    broken = SimpleNamespace(**{**vars(AGENT), "trailing_stop_positive": D("0")})
    with pytest.raises(ValueError, match="trailing_stop_positive"):
        rules_for(broken, None, None)
