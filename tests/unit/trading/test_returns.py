"""The performance math, checked against figures worked out by hand. Every figure is a fraction."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.trading import returns as calc
from backend.trading.returns import DayEquity

DAY = date(2026, 1, 1)


def _day(i: int) -> date:
    return DAY + timedelta(days=i)


def test_daily_returns_fill_quiet_days_with_zero_and_compound_on_equity():
    pnl = {_day(0): D("100"), _day(2): D("-50")}
    assert calc.daily_returns(pnl, D("10000"), _day(0), _day(3)) == [
        D("0.01"),
        D("0"),
        D("-50") / D("10100"),  # on the equity at work that day, not the starting capital
        D("0"),
    ]
    assert calc.daily_returns(pnl, D("10000"), _day(3), _day(0)) == []


def test_daily_returns_refuse_zero_capital():
    with pytest.raises(ValueError):
        calc.daily_returns({}, D("0"), _day(0), _day(1))


def test_deposits_are_flows_not_returns():
    # $10k, then a second $10k deployment on day 2: the account doubles but earned nothing.
    series = [
        DayEquity(_day(0), D("10000"), flow=D("10000")),
        DayEquity(_day(1), D("10100")),
        DayEquity(_day(2), D("20100"), flow=D("10000")),
        DayEquity(_day(3), D("20301")),
    ]
    assert calc.time_weighted_returns(series) == [D("0"), D("0.01"), D("0"), D("0.01")]
    assert calc.twr(calc.time_weighted_returns(series)) == D("0.0201")


def test_a_withdrawal_is_a_flow_and_days_with_nothing_at_work_return_zero():
    series = [
        DayEquity(_day(0), D("0")),  # before the first deposit
        DayEquity(_day(1), D("1000"), flow=D("1000")),
        DayEquity(_day(2), D("450"), flow=D("-500")),  # took 500 out, lost 50 on the 500 left
    ]
    assert calc.time_weighted_returns(series) == [D("0"), D("0"), D("-0.1")]


def test_equity_from_pnl_counts_the_capital_as_the_first_days_flow():
    series = calc.equity_from_pnl({_day(1): D("5")}, D("100"), _day(0), _day(2), flows={_day(2): D("50")})
    assert series == [
        DayEquity(_day(0), D("100"), D("100")),
        DayEquity(_day(1), D("105"), D("0")),
        DayEquity(_day(2), D("155"), D("50")),
    ]


def test_apr_is_mean_daily_return_times_365_as_a_fraction():
    # 1% on one day out of 10 → mean 0.1%/day → 0.365 a year (36.5%, on screen only).
    returns = [D("0.01")] + [D("0")] * 9
    assert calc.apr(returns) == D("0.365")
    assert calc.apr([]) is None


def test_sharpe_matches_hand_computation():
    returns = [D("0.01"), D("-0.01"), D("0.02"), D("0")]
    # mean 0.005, sample variance = (0.000025+0.000225+0.000225+0.000025)/3 = 0.0005/3
    expected = D("0.005") / (D("0.0005") / 3).sqrt() * D(365).sqrt()
    assert calc.sharpe(returns) == expected
    assert calc.sharpe([D("0.01")]) is None
    assert calc.sharpe([D("0.01")] * 5) is None  # no variance: undefined, not infinite


def test_sortino_counts_only_losing_days_as_risk():
    returns = [D("0.02"), D("-0.01"), D("0.03"), D("0")]
    # mean 0.01; downside deviation sqrt((0 + 0.0001 + 0 + 0) / 4) = 0.005
    assert calc.downside_deviation(returns) == D("0.005")
    assert calc.sortino(returns) == D("0.01") / D("0.005") * D(365).sqrt()
    assert calc.sortino([D("0.01"), D("0.02")]) is None  # never lost: undefined, not infinite
    assert calc.sortino([D("-0.01")]) is None
    assert calc.downside_deviation([]) == 0


def test_sortino_is_not_punished_by_big_up_days_as_sharpe_is():
    steady = [D("0.01"), D("-0.01")] * 5
    spiky = [D("0.05"), D("-0.01")] * 5
    assert calc.sortino(spiky) > calc.sortino(steady)


def test_max_drawdown_from_peak_of_the_compounded_curve():
    # equity: 1.1, 1.1 * 0.8 = 0.88 (20% below the peak), 0.88 * 1.1 = 0.968
    assert calc.max_drawdown([D("0.1"), D("-0.2"), D("0.1")]) == D("0.2")
    assert calc.max_drawdown([D("0.01"), D("0.02")]) == 0
    assert calc.max_drawdown([D("-2")]) == 1  # wiped out: never more than 100%


def test_win_rate_and_profit_factor():
    pnls = [D("10"), D("-5"), D("20"), D("-5"), D("0")]
    assert calc.win_rate(pnls) == D("0.4")
    assert calc.profit_factor(pnls) == D("3")
    assert calc.win_rate([]) is None
    assert calc.profit_factor([D("1")]) is None
    assert calc.profit_factor([D("-1"), D("-2")]) == 0


returns_lists = st.lists(
    st.decimals(min_value=D("-0.2"), max_value=D("0.2"), places=4, allow_nan=False), min_size=2, max_size=60
)


@given(returns_lists)
def test_drawdown_is_a_fraction_and_zero_when_never_losing(returns):
    dd = calc.max_drawdown(returns)
    assert 0 <= dd <= 1
    if all(r >= 0 for r in returns):
        assert dd == 0


@given(returns_lists, st.decimals(min_value=D("1.5"), max_value=D("10"), places=2))
def test_sharpe_and_sortino_are_scale_free(returns, k):
    # Doubling position sizes doubles every return but leaves both ratios unchanged.
    for ratio in (calc.sharpe, calc.sortino):
        a, b = ratio(returns), ratio([r * k for r in returns])
        assert (a is None) == (b is None)
        if a is not None:
            assert abs(a - b) < D("1e-12")


@given(
    st.lists(st.decimals(min_value=D("-300"), max_value=D("300"), places=2), min_size=1, max_size=30),
    st.decimals(min_value=D("1000"), max_value=D("1000000"), places=0),
)
def test_adding_capital_mid_way_changes_no_return_of_a_flat_day(pnls, deposit):
    """A deposit on a day without PnL is a zero-return day: money in is never growth."""
    days = len(pnls)
    pnl_by_day = {_day(i): p for i, p in enumerate(pnls)}
    pnl_by_day[_day(days)] = D(0)
    series = calc.equity_from_pnl(pnl_by_day, D("10000"), _day(0), _day(days), flows={_day(days): deposit})
    assert calc.time_weighted_returns(series)[-1] == 0


def test_rebase_keeps_the_growth_from_a_new_start():
    from backend.trading.returns import rebase

    rebased = rebase([D("8900"), D("9345"), D("8455")], D("10000"))
    assert rebased == [D("10000.00"), D("10500.00"), D("9500.00")]
    assert rebase([], D("10000")) == []
    assert rebase([D("0"), D("5")], D("10000")) == []


def test_average_win_and_loss_are_the_means_of_each_side_in_cents():
    pnls = [D("30"), D("-10"), D("0"), D("15.005"), D("-25")]
    assert calc.average_win(pnls) == D("22.50")  # (30 + 15.005) / 2, half to even
    assert calc.average_loss(pnls) == D("-17.50")
    assert calc.average_win([D("-1"), D("0")]) is None
    assert calc.average_loss([D("1"), D("0")]) is None
    assert calc.average_win([]) is None and calc.average_loss([]) is None


def test_drawdowns_measure_each_point_from_the_running_peak():
    equity = [D("10000"), D("11000"), D("9900"), D("10450"), D("12000"), D("0"), D("-5")]
    assert calc.drawdowns(equity) == [
        D("0"),
        D("0"),
        D("0.1"),  # 1,100 below the 11,000 peak
        D("0.05"),
        D("0"),
        D("1"),
        D("1"),  # never more than everything
    ]
    assert calc.drawdowns([]) == []
    assert calc.drawdowns([D("0"), D("0")]) == [D("0"), D("0")]  # nothing at work: nothing lost


@given(st.lists(st.decimals(min_value=-1000, max_value=100000, places=2), max_size=30))
def test_drawdowns_are_fractions_and_zero_at_each_new_peak(values):
    falls = calc.drawdowns(values)
    assert len(falls) == len(values)
    assert all(D("0") <= f <= D("1") for f in falls)
    peak = None
    for value, fall in zip(values, falls, strict=True):
        if value > 0 and (peak is None or value >= peak):
            assert fall == 0
        peak = value if peak is None else max(peak, value)
