"""A backtest's report: summary figures, the drawdown curve and the groups, on small books worked by hand."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.backtest.schemas import EquityOut, GroupOut, SummaryOut
from backend.trading import returns as calc
from backend.trading.replay import EquityPoint, ReplayResult, ReplaySkip, ReplayTrade
from backend.trading.report import DrawdownPoint, Group, Summary, report
from backend.trading.types import CloseReason, Side

START = datetime(2026, 6, 1, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
CAPITAL = D(1000)
TP, SL, TL = CloseReason.TAKE_PROFIT, CloseReason.STOP_LOSS, CloseReason.TIME_LIMIT


def trade(market, entry_at, exit_at=None, pnl=None, reason=None, fees=("0", "0")) -> ReplayTrade:
    return ReplayTrade(
        signal_id=None,
        version=None,
        market=market,
        side=Side.LONG,
        size=D(1),
        leverage=D(1),
        entry_at=entry_at,
        entry_price=D(100),
        entry_fee=D(fees[0]),
        best_price=D(100),
        exit_at=exit_at,
        exit_price=None if exit_at is None else D(100),
        exit_fee=D(fees[1]),
        reason=reason,
        realized_pnl=None if pnl is None else D(pnl),
    )


def points(*equities, unrealized="0") -> tuple[EquityPoint, ...]:
    """One point per day's close (midnight after each day); the last holds `unrealized` of its equity."""
    last = len(equities) - 1
    return tuple(
        EquityPoint(
            day=(START + i * DAY).date(),
            at=START + (i + 1) * DAY,
            cash=D(str(e)) - (D(unrealized) if i == last else 0),
            unrealized_pnl=D(unrealized) if i == last else D(0),
            realized_pnl=D(0),
        )
        for i, e in enumerate(equities)
    )


def result(trades=(), equity=(), skips=0) -> ReplayResult:
    skipped = tuple(ReplaySkip(None, START, "no price", "") for _ in range(skips))
    return ReplayResult(tuple(trades), skipped, tuple(equity), D(0), {})


def run(trades=(), equity=(), skips=0, days=None, end=None):
    end = end or START + (days if days is not None else len(equity)) * DAY
    return report(result(trades, equity, skips), capital=CAPITAL, start=START, end=end)


# A win (+30 held 2h), a loss (-10 held 4h), a draw (0 held 1h), one trade still open; 4 days from $1000.
MIXED = (
    trade("ETH", START + HOUR, START + 3 * HOUR, "30", TP, ("0.5", "0.5")),
    trade("SOL", START + DAY + HOUR, START + DAY + 5 * HOUR, "-10", SL, ("0.25", "0.25")),
    trade("ETH", START + 2 * DAY, START + 2 * DAY + HOUR, "0", TL, ("0.1", "0.1")),
    trade("ETH", START + 3 * DAY, fees=("0.2", "0")),
)


def test_a_mixed_book_sums_up_like_freqtrade():
    r = run(MIXED, points(1030, 1020, 1020, "1025", unrealized="5.20"), skips=1)
    s = r.summary
    # The end's equity is cash plus the open trade's unrealised PnL: 1019.80 + 5.20.
    assert (s.starting_balance, s.final_balance, s.profit_total_abs) == (D("1000"), D("1025.00"), D("25.00"))
    assert s.profit_total == D("0.025000")
    # Peak 1030 on the first day's close, trough 1020 a day later: -10 = -0.970874%.
    assert (s.max_drawdown_abs, s.max_drawdown) == (D("10.00"), D("0.009709"))
    assert (s.drawdown_start, s.drawdown_end) == (START + DAY, START + 2 * DAY)
    # 1.025 ** (365 / 4) - 1 = 8.518154; calmar = that / (10 / 1030) = 877.369839.
    assert (s.cagr, s.calmar) == (D("8.518154"), D("877.369839"))
    # Daily returns 30/1000, -10/1030, 0, 5/1020 through returns.sharpe / sortino.
    daily = [D("0.03"), D(-10) / 1030, D(0), D(5) / 1020]
    assert s.sharpe == D("7.108517") == calc.sharpe(daily).quantize(D("0.000001"))
    assert s.sortino == D("24.787766") == calc.sortino(daily).quantize(D("0.000001"))
    assert (s.trades, s.open_trades, s.wins, s.losses, s.draws) == (3, 1, 1, 1, 1)
    assert (s.winrate, s.profit_factor) == (D("0.333333"), D("3.000000"))
    # Mean 20 / 3; ratio (1 + 30 / 10) * 1/3 - 1 = 1/3.
    assert (s.expectancy, s.expectancy_ratio) == (D("6.67"), D("0.333333"))
    assert s.holding_avg_seconds == (7200 + 14400 + 3600) // 3 == 8400
    assert (s.best_trade, s.worst_trade) == (D("30.00"), D("-10.00"))
    assert s.fees_paid == D("1.90")  # 1 + 0.5 + 0.2 closed, 0.2 into the open one
    assert (s.signals, s.signals_skipped) == (5, 1)


def test_the_curve_marks_each_day_below_its_running_peak():
    r = run(MIXED, points(1030, 1020, 1020, "1025", unrealized="5.20"))
    assert r.equity == (
        DrawdownPoint(date(2026, 6, 1), START + DAY, D("1030.00"), D("0.00"), D("0.000000")),
        DrawdownPoint(date(2026, 6, 2), START + 2 * DAY, D("1020.00"), D("10.00"), D("0.009709")),
        DrawdownPoint(date(2026, 6, 3), START + 3 * DAY, D("1020.00"), D("10.00"), D("0.009709")),
        DrawdownPoint(date(2026, 6, 4), START + 4 * DAY, D("1025.00"), D("5.00"), D("0.004854")),
    )


def test_closed_trades_group_by_reason_and_token_best_first():
    r = run(MIXED, points(1030, 1020, 1020, 1025))
    assert r.by_reason == (
        Group("TAKE_PROFIT", 1, 1, 0, D("30.00"), D("30.00"), D("1.000000")),
        Group("TIME_LIMIT", 1, 0, 0, D("0.00"), D("0.00"), D("0.000000")),
        Group("STOP_LOSS", 1, 0, 1, D("-10.00"), D("-10.00"), D("0.000000")),
    )
    # The open ETH trade is in no group.
    assert r.by_token == (
        Group("ETH", 2, 1, 0, D("30.00"), D("15.00"), D("0.500000")),
        Group("SOL", 1, 0, 1, D("-10.00"), D("-10.00"), D("0.000000")),
    )


def test_nothing_traded_is_zeros_and_nones():
    s = run(days=7).summary
    assert s == Summary(
        starting_balance=D("1000"),
        final_balance=D("1000.00"),
        profit_total_abs=D("0.00"),
        profit_total=D("0.000000"),
        cagr=D("0.000000"),  # nothing gained over a week is a 0% year
        sharpe=None,
        sortino=None,
        calmar=None,
        max_drawdown_abs=D("0.00"),
        max_drawdown=D("0.000000"),
        drawdown_start=None,
        drawdown_end=None,
        trades=0,
        open_trades=0,
        wins=0,
        losses=0,
        draws=0,
        winrate=None,
        profit_factor=None,
        expectancy=None,
        expectancy_ratio=None,
        holding_avg_seconds=None,
        best_trade=None,
        worst_trade=None,
        fees_paid=D("0.00"),
        signals=0,
        signals_skipped=0,
    )
    flat = run(equity=points(1000, 1000, 1000), skips=2)
    assert (flat.summary.sharpe, flat.summary.sortino, flat.summary.signals_skipped) == (None, None, 2)
    assert [p.drawdown for p in flat.equity] == [0, 0, 0]
    assert (flat.by_reason, flat.by_token) == ((), ())


def test_a_book_that_only_gains_has_no_drawdown_calmar_or_loss_ratios():
    trades = [
        trade("SOL", START + HOUR, START + 2 * HOUR, "20", TP),
        trade("ETH", START + HOUR, START + 2 * HOUR, "10", TP),
        trade("BTC", START + DAY, START + DAY + HOUR, "10", TL),
    ]
    r = run(trades, points(1030, 1030, 1040))
    s = r.summary
    assert (s.max_drawdown_abs, s.max_drawdown, s.drawdown_start, s.drawdown_end) == (0, 0, None, None)
    assert s.calmar is None and s.cagr > 0
    assert (s.profit_factor, s.expectancy_ratio, s.sortino) == (None, None, None)
    assert s.winrate == 1 and s.sharpe > 0
    assert [g.key for g in r.by_token] == ["SOL", "BTC", "ETH"]  # equal profits in key order


def test_the_deepest_fall_by_fraction_names_its_peak_and_trough():
    # 1000 -> 900 (-10% from the capital), 1200, 1000 (-16.7% from 1200), 1300, 1250.
    s = run(equity=points(900, 1200, 1000, 1300, 1250)).summary
    assert (s.max_drawdown_abs, s.max_drawdown) == (D("200.00"), D("0.166667"))
    assert (s.drawdown_start, s.drawdown_end) == (START + 2 * DAY, START + 3 * DAY)


def test_a_book_that_falls_from_the_start_peaks_at_the_capital():
    losses = [
        trade("ETH", START + HOUR, START + 2 * HOUR, "-50", SL, ("1", "1")),
        trade("ETH", START + DAY, START + DAY + HOUR, "-50", SL, ("1", "1")),
    ]
    s = run(losses, points(950, 900, 920)).summary
    assert (s.max_drawdown_abs, s.max_drawdown) == (D("100.00"), D("0.100000"))
    assert (s.drawdown_start, s.drawdown_end) == (START, START + 2 * DAY)
    # No wins: win rate and profit factor 0, Freqtrade's ratio (1 + 0 / 50) * 0 - 1.
    assert (s.winrate, s.profit_factor, s.expectancy_ratio) == (0, 0, D("-1.000000"))
    assert (s.expectancy, s.best_trade, s.worst_trade, s.fees_paid) == (-50, -50, -50, 4)


@pytest.mark.parametrize(
    ("days", "final", "cagr"),
    [
        (365, 1100, D("0.100000")),  # a year's 10% is 10% a year
        (730, 1210, D("0.100000")),  # 1.21 ** (1/2) - 1
        (730, 810, D("-0.100000")),  # 0.81 ** (1/2) - 1
        (0.5, 1100, None),  # under a day: not annualised
        (30, 0, None),  # nothing left
    ],
)
def test_cagr_on_known_cases(days, final, cagr):
    s = run(equity=points(final), end=START + days * DAY).summary
    assert s.cagr == cagr


def test_calmar_is_cagr_over_the_max_drawdown():
    # Two years: down 10% from the capital, then up to 1210: cagr 10%, drawdown 10%.
    s = run(equity=points(900, 1210), days=730).summary
    assert (s.cagr, s.max_drawdown, s.calmar) == (D("0.100000"), D("0.100000"), D("1.000000"))


def test_extremes_stay_numbers():
    # Doubling in a day annualises to 2 ** 365: large, but kept to six places without a decimal error.
    assert run(equity=points(2000)).summary.cagr == D(2) ** 365 - 1
    # A book that lost more than it had: a 100% drawdown, no cagr.
    wiped = run(equity=points(1100, -50)).summary
    assert (wiped.max_drawdown_abs, wiped.max_drawdown, wiped.cagr) == (D("1150.00"), 1, None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.decimals(min_value="1", max_value="100000", places=2), min_size=1, max_size=40))
def test_the_deepest_fall_is_the_compounded_daily_returns_max_drawdown(equities):
    """The curve's drawdown and the daily returns tell the same story: `returns.max_drawdown` of the
    time-weighted returns (from the capital) is the deepest fall found on the equity itself."""
    r = run(equity=points(*equities))
    days = [calc.DayEquity(p.day, p.equity, CAPITAL if i == 0 else D(0)) for i, p in enumerate(r.equity)]
    expected = calc.max_drawdown(calc.time_weighted_returns(days))
    assert abs(r.summary.max_drawdown - expected) <= D("0.000001")
    assert r.summary.max_drawdown == max(p.drawdown for p in r.equity)
    assert all(0 <= p.drawdown <= 1 and p.drawdown_abs >= 0 for p in r.equity)


def test_capital_must_be_positive():
    with pytest.raises(ValueError, match="capital"):
        report(result(), capital=D(0), start=START, end=START + DAY)


@pytest.mark.parametrize(
    ("ours", "theirs"), [(Summary, SummaryOut), (DrawdownPoint, EquityOut), (Group, GroupOut)]
)
def test_the_dataclasses_carry_exactly_the_schema_fields(ours, theirs):
    assert [f.name for f in fields(ours)] == list(theirs.model_fields)


def test_the_schemas_read_the_report_as_it_is():
    r = run(MIXED, points(1030, 1020, 1020, 1025), skips=1)
    out = SummaryOut.model_validate(r.summary, from_attributes=True)
    assert out.model_dump() == {f.name: getattr(r.summary, f.name) for f in fields(Summary)}
    assert [EquityOut.model_validate(p, from_attributes=True).drawdown for p in r.equity] == [
        p.drawdown for p in r.equity
    ]
    assert GroupOut.model_validate(r.by_token[0], from_attributes=True).key == "ETH"
