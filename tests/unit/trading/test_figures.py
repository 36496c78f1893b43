"""A book's figures from its closes: fractions, windows by calendar day, undefined figures as None."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from backend.trading.figures import BookFigures, ClosedTrade, book_figures

TODAY = date(2026, 6, 30)


def _close(days_ago: int, pnl: str) -> ClosedTrade:
    at = datetime(2026, 6, 30, 12, tzinfo=UTC) - timedelta(days=days_ago)
    return ClosedTrade(at, D(pnl), D("0.01"), D("60000"))


def test_nothing_closed_is_no_figures():
    assert book_figures([], D("10000"), started=TODAY, today=TODAY) == BookFigures.empty()
    assert book_figures([_close(1, "5")], D("0"), started=TODAY, today=TODAY) == BookFigures.empty()


def test_figures_are_fractions_over_time_weighted_days():
    trades = [_close(40, "200"), _close(5, "-100"), _close(2, "300")]
    f = book_figures(trades, D("10000"), started=TODAY - timedelta(days=60), today=TODAY)
    assert (f.trades_count, f.total_pnl, f.volume_usd) == (3, D("400.00"), D("1800.00"))
    assert f.win_rate == D("0.666667") and f.profit_factor == D("5.000000")
    thirty = (D("-100") / D("10200") + D("300") / D("10100")) / 30 * 365
    assert abs(f.apr_30d - thirty) <= D("0.000001")
    since = (D("200") / D("10000") + D("-100") / D("10200") + D("300") / D("10100")) / 61 * 365
    assert abs(f.apr_si - since) <= D("0.000001")
    assert f.apr_90d == f.apr_si  # 90 days of a 61-day-old book: its whole life, quiet days and all
    assert f.max_drawdown == D("0.009804")  # -100 from the 10,200 peak


def test_a_book_that_never_lost_has_no_profit_factor_or_sortino():
    f = book_figures(
        [_close(1, "10"), _close(3, "5")], D("1000"), started=TODAY - timedelta(days=9), today=TODAY
    )
    assert f.profit_factor is None and f.sortino_30d is None
    assert f.win_rate == 1 and f.max_drawdown == 0 and f.sharpe_30d > 0
