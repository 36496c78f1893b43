"""A book's figures from its closed trades and its capital: what the marketplace shows of an agent. Pure.

The book is the agent's reference book (standard capital, every signal), so the figures describe the
strategy, not whoever deployed it. Equity starts at the capital on the book's first day and moves by the
PnL realised each UTC day (net of venue fees); returns are time-weighted over it, quiet days included.
Every figure is a fraction (0.12 = 12%) or a plain ratio; None where it is undefined (no trades, no loss).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from backend.trading import returns as calc
from backend.trading.money import cents

FIGURE_QUANTUM = Decimal("0.000001")  # the six decimals a fraction column keeps
ZERO = Decimal(0)


@dataclass(frozen=True)
class ClosedTrade:
    closed_at: datetime
    realized_pnl: Decimal
    size: Decimal
    entry_price: Decimal


@dataclass(frozen=True)
class BookFigures:
    trades_count: int
    win_rate: Decimal | None
    total_pnl: Decimal
    volume_usd: Decimal
    apr_30d: Decimal | None
    apr_90d: Decimal | None
    apr_si: Decimal | None
    sharpe_30d: Decimal | None
    sortino_30d: Decimal | None
    max_drawdown: Decimal | None
    profit_factor: Decimal | None

    @classmethod
    def empty(cls) -> BookFigures:
        """A book that has closed nothing: counts at zero, every figure unknown."""
        return cls(0, None, ZERO, ZERO, None, None, None, None, None, None, None)


def book_figures(
    trades: Sequence[ClosedTrade], capital: Decimal, *, started: date, today: date
) -> BookFigures:
    """Figures of a book that started with `capital` on `started`, as of the end of `today` (UTC)."""
    if not trades or capital <= 0:
        return BookFigures.empty()
    pnls = [t.realized_pnl for t in trades]
    pnl_by_day: dict[date, Decimal] = defaultdict(Decimal)
    for t in trades:
        pnl_by_day[t.closed_at.date()] += t.realized_pnl
    first = min(started, *pnl_by_day)
    last = max(today, *pnl_by_day)
    days = calc.equity_from_pnl(pnl_by_day, capital, first, last)
    daily = calc.time_weighted_returns(days)

    def window(n: int) -> list[Decimal]:
        start = today - timedelta(days=n - 1)
        return [r for d, r in zip(days, daily, strict=True) if start <= d.day <= today]

    return BookFigures(
        trades_count=len(trades),
        win_rate=_q(calc.win_rate(pnls)),
        total_pnl=cents(sum(pnls, ZERO)),
        volume_usd=cents(sum((abs(t.size) * t.entry_price for t in trades), ZERO)),
        apr_30d=_q(calc.apr(window(30))),
        apr_90d=_q(calc.apr(window(90))),
        apr_si=_q(calc.apr(daily)),
        sharpe_30d=_q(calc.sharpe(window(30))),
        sortino_30d=_q(calc.sortino(window(30))),
        max_drawdown=_q(calc.max_drawdown(daily)),
        profit_factor=_q(calc.profit_factor(pnls)),
    )


def fraction(value: Decimal | None) -> Decimal | None:
    """A figure (a return, a ratio) to the six decimals a fraction column keeps; None stays None."""
    return None if value is None else value.quantize(FIGURE_QUANTUM)


_q = fraction
