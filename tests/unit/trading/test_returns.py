"""The performance math, checked against figures worked out by hand."""

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.trading import returns as calc


def test_daily_returns_fill_quiet_days_with_zero():
    pnl = {date(2026, 1, 1): D("100"), date(2026, 1, 3): D("-50")}
    assert calc.daily_returns(pnl, D("10000"), date(2026, 1, 1), date(2026, 1, 4)) == [
        D("0.01"),
        D("0"),
        D("-0.005"),
        D("0"),
    ]


def test_daily_returns_refuse_zero_capital():
    with pytest.raises(ValueError):
        calc.daily_returns({}, D("0"), date(2026, 1, 1), date(2026, 1, 2))


def test_apr_is_mean_daily_return_times_365_in_percent():
    # 1% on one day out of 10 → mean 0.1%/day → 36.5% a year.
    returns = [D("0.01")] + [D("0")] * 9
    assert calc.apr(returns) == D("36.5")
    assert calc.apr([]) is None


def test_sharpe_matches_hand_computation():
    returns = [D("0.01"), D("-0.01"), D("0.02"), D("0")]
    # mean 0.005, sample variance = (0.000025+0.000225+0.000225+0.000025)/3 = 0.0005/3
    expected = D("0.005") / (D("0.0005") / 3).sqrt() * D(365).sqrt()
    assert calc.sharpe(returns) == expected
    assert calc.sharpe([D("0.01")]) is None
    assert calc.sharpe([D("0.01")] * 5) is None  # no variance: undefined, not infinite


def test_max_drawdown_from_peak():
    # equity: 1.1, 0.88 (-0.22 from peak 1.1 → 20%), 0.99
    assert calc.max_drawdown([D("0.1"), D("-0.22"), D("0.11")]) == D("0.2")
    assert calc.max_drawdown([D("0.01"), D("0.02")]) == 0


def test_win_rate_and_profit_factor():
    pnls = [D("10"), D("-5"), D("20"), D("-5"), D("0")]
    assert calc.win_rate(pnls) == D("0.4")
    assert calc.profit_factor(pnls) == D("3")
    assert calc.win_rate([]) is None
    assert calc.profit_factor([D("1")]) is None


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
def test_sharpe_is_scale_free(returns, k):
    # Doubling position sizes doubles every return but leaves the Sharpe ratio unchanged.
    a, b = calc.sharpe(returns), calc.sharpe([r * k for r in returns])
    assert (a is None) == (b is None)
    if a is not None:
        assert abs(a - b) < D("1e-12")
