"""Pure performance math on Decimals. Every figure is a fraction (0.01 = +1%); percent is for screens only.

Returns are time-weighted: a day's return is the change of equity over what was at work that day, with the
day's cash flows (a deposit, a new deployment's capital) taken out first. A $10k deposit is a flow, not a
+100% day, so a book's figures do not move when money is added to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from backend.trading.money import cents

DAYS_PER_YEAR = Decimal(365)
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class DayEquity:
    """A book at the end of one UTC day: its equity then, and the net cash that came in during the day."""

    day: date
    equity: Decimal
    flow: Decimal = ZERO  # deposits (and a new deployment's capital) positive, withdrawals negative


def time_weighted_returns(days: Sequence[DayEquity]) -> list[Decimal]:
    """One return per day: (equity - flow - previous equity) / (previous equity + flow).

    Flows count as arriving at the start of their day, so the money was at work that day. A day with nothing
    at work (before the first deposit) returns zero rather than dividing by it.
    """
    returns = []
    previous = ZERO
    for d in days:
        base = previous + d.flow
        returns.append((d.equity - base) / base if base > 0 else ZERO)
        previous = d.equity
    return returns


def equity_from_pnl(
    pnl_by_day: Mapping[date, Decimal],
    capital: Decimal,
    first: date,
    last: date,
    flows: Mapping[date, Decimal] | None = None,
) -> list[DayEquity]:
    """A book that starts with `capital` on `first` and moves by each day's PnL (and any later flows)."""
    if capital <= 0:
        raise ValueError("capital must be positive")
    flows = flows or {}
    series, equity = [], ZERO
    for i in range((last - first).days + 1):
        day = first + timedelta(days=i)
        flow = flows.get(day, ZERO) + (capital if i == 0 else ZERO)
        equity += flow + pnl_by_day.get(day, ZERO)
        series.append(DayEquity(day, equity, flow))
    return series


def daily_returns(
    pnl_by_day: Mapping[date, Decimal], capital: Decimal, first: date, last: date
) -> list[Decimal]:
    """Time-weighted returns, one per calendar day from `first` to `last`; days without a close return zero.

    Zero days count: a strategy that trades once a month is not as steady as its few trades suggest.
    """
    if capital <= 0:
        raise ValueError("capital must be positive")
    if last < first:
        return []
    return time_weighted_returns(equity_from_pnl(pnl_by_day, capital, first, last))


def twr(returns: Iterable[Decimal]) -> Decimal:
    """The compounded return over the period: the product of (1 + r) less one."""
    growth = ONE
    for r in returns:
        growth *= ONE + r
    return growth - ONE


def apr(returns: Sequence[Decimal]) -> Decimal | None:
    """Simple annualised return as a fraction: mean daily return times 365 (no compounding)."""
    if not returns:
        return None
    return sum(returns, ZERO) / len(returns) * DAYS_PER_YEAR


def sharpe(returns: Sequence[Decimal]) -> Decimal | None:
    """Mean over sample standard deviation of daily returns, annualised with sqrt(365). None if undefined."""
    n = len(returns)
    if n < 2:
        return None
    mean = sum(returns, ZERO) / n
    variance = sum(((r - mean) ** 2 for r in returns), ZERO) / (n - 1)
    if variance == 0:
        return None
    return mean / variance.sqrt() * DAYS_PER_YEAR.sqrt()


def downside_deviation(returns: Sequence[Decimal], target: Decimal = ZERO) -> Decimal:
    """Root mean square of the shortfalls below `target`, over every day (days above count as zero)."""
    if not returns:
        return ZERO
    return (sum((min(r - target, ZERO) ** 2 for r in returns), ZERO) / len(returns)).sqrt()


def sortino(returns: Sequence[Decimal]) -> Decimal | None:
    """Mean daily return over the downside deviation, annualised with sqrt(365).

    Only losing days count as risk: a strategy with big up days is not punished for them as Sharpe does.
    None when undefined (fewer than two days, or no losing day at all).
    """
    if len(returns) < 2:
        return None
    downside = downside_deviation(returns)
    if downside == 0:
        return None
    return sum(returns, ZERO) / len(returns) / downside * DAYS_PER_YEAR.sqrt()


def max_drawdown(returns: Sequence[Decimal]) -> Decimal:
    """Largest fall from a peak of the compounded equity curve, as a fraction (0.25 = -25%)."""
    equity = ONE
    peak = equity
    worst = ZERO
    for r in returns:
        # A wiped-out account stays at zero: a drawdown is never more than 100%.
        equity = max(equity * (ONE + r), ZERO)
        peak = max(peak, equity)
        worst = max(worst, (peak - equity) / peak if peak > 0 else ZERO)
    return worst


def win_rate(pnls: Iterable[Decimal]) -> Decimal | None:
    """Share of closed trades with a positive PnL; None when there are none."""
    values = list(pnls)
    if not values:
        return None
    return Decimal(sum(1 for p in values if p > 0)) / len(values)


def profit_factor(pnls: Iterable[Decimal]) -> Decimal | None:
    """Gross profit over gross loss; None when nothing was lost (undefined, not infinite)."""
    values = list(pnls)
    gross_loss = -sum((p for p in values if p < 0), ZERO)
    if gross_loss == 0:
        return None
    return sum((p for p in values if p > 0), ZERO) / gross_loss


def average_win(pnls: Iterable[Decimal]) -> Decimal | None:
    """Mean PnL of the winning trades (to the cent); None without a win."""
    wins = [p for p in pnls if p > 0]
    return cents(sum(wins, ZERO) / len(wins)) if wins else None


def average_loss(pnls: Iterable[Decimal]) -> Decimal | None:
    """Mean PnL of the losing trades, a negative amount (to the cent); None without a loss."""
    losses = [p for p in pnls if p < 0]
    return cents(sum(losses, ZERO) / len(losses)) if losses else None


def drawdowns(equity: Sequence[Decimal]) -> list[Decimal]:
    """Each point's fall below the running peak of `equity` as a fraction (0.25 = 25% under water); the
    first point is the first peak. A point at or under zero is 100% down, never more."""
    peak, falls = ZERO, []
    for value in equity:
        peak = max(peak, value)
        falls.append(min((peak - value) / peak, ONE) if peak > 0 else ZERO)
    return falls


def rebase(values: Sequence[Decimal], start: Decimal) -> list[Decimal]:
    """The same growth from `start`: each value times start over the first, so two books of different size
    can be drawn from one point (a reference book beside a backtest). Empty when the first value is not
    positive (no growth to speak of)."""
    if not values or values[0] <= 0:
        return []
    return [cents(v * start / values[0]) for v in values]
