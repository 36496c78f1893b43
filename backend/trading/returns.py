"""Pure performance math on Decimals. Returns are fractions of capital per day (0.01 = +1%)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

DAYS_PER_YEAR = Decimal(365)
ZERO = Decimal(0)


def daily_returns(
    pnl_by_day: Mapping[date, Decimal], capital: Decimal, first: date, last: date
) -> list[Decimal]:
    """One return per calendar day from `first` to `last` inclusive; days without a close return zero.

    Zero days count: a strategy that trades once a month is not as steady as its few trades suggest.
    """
    if capital <= 0:
        raise ValueError("capital must be positive")
    if last < first:
        return []
    days = (last - first).days + 1
    return [pnl_by_day.get(first + timedelta(days=i), ZERO) / capital for i in range(days)]


def apr(returns: Sequence[Decimal]) -> Decimal | None:
    """Simple annualised return in percent (no compounding), as the old platform showed it."""
    if not returns:
        return None
    return sum(returns, ZERO) / len(returns) * DAYS_PER_YEAR * 100


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


def max_drawdown(returns: Sequence[Decimal]) -> Decimal:
    """Largest fall from a peak of the equity curve built from the returns, as a fraction (0.25 = -25%)."""
    equity = Decimal(1)
    peak = equity
    worst = ZERO
    for r in returns:
        # A wiped-out account stays at zero: a drawdown is never more than 100%.
        equity = max(equity + r, ZERO)
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
