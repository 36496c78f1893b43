"""A backtest's report from its replay: the summary (Freqtrade's names), the equity curve with its drawdown,
and the closed trades grouped by exit reason and by token. Pure.

Field names are those of `backend.backtest.schemas` (`SummaryOut`, `EquityOut`, `GroupOut`), so the service
validates these dataclasses straight into them (`model_validate(..., from_attributes=True)`).

Definitions. Money is rounded to the cent, fractions to six places (`figures.FIGURE_QUANTUM`); None where a
figure is undefined.
- final_balance: the last equity point (cash plus unrealised PnL at the end's marks); the capital if none.
- profit_total_abs = final - capital; profit_total = that over the capital.
- sharpe, sortino: `returns` on the time-weighted daily returns of the equity points, the capital coming in
  on the first day (so the first return is measured against the capital), annualised with sqrt(365).
- cagr = (final / capital) ** (365 / days) - 1, days = end - start (fractional); None under a day or when
  nothing is left. Not capped: a few days' gain annualises to a large number, as in Freqtrade.
- drawdown: below the running peak of the daily equity, the capital at `start` counting as the first peak
  (a book that falls from day one is in drawdown). The deepest fall by fraction is the max drawdown: its USD
  fall, its peak's time (`start` when the peak is the capital) and its trough's. Zero and None dates when
  the book never fell below a peak. calmar = cagr / max_drawdown (None without either).
- trades, wins, losses, draws: closed trades by realised PnL (>0, <0, =0); open_trades: still open at `end`.
- winrate (wins over all closed, draws included), profit_factor: `returns`. expectancy: mean realised PnL.
  expectancy_ratio, Freqtrade's: (1 + avg win / avg loss) * winrate - 1, losses taken as positive; None
  without a losing trade (Freqtrade's sentinel 100 is not a number to show), -1 with losses and no wins.
- fees_paid: venue fees in and out of every trade, open ones' entries included.
- signals = trades + skips (an adding same-side signal is a trade too); signals_skipped = skips.
- groups (closed trades only) sort by profit_abs, highest first, then key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, localcontext

from backend.trading import returns as calc
from backend.trading.figures import FIGURE_QUANTUM
from backend.trading.money import cents
from backend.trading.replay import EquityPoint, ReplayResult, ReplayTrade

ZERO = Decimal(0)
ONE = Decimal(1)
SECONDS_PER_DAY = Decimal(86400)


@dataclass(frozen=True)
class Summary:
    starting_balance: Decimal
    final_balance: Decimal
    profit_total_abs: Decimal
    profit_total: Decimal
    cagr: Decimal | None
    sharpe: Decimal | None
    sortino: Decimal | None
    calmar: Decimal | None
    max_drawdown_abs: Decimal
    max_drawdown: Decimal
    drawdown_start: datetime | None
    drawdown_end: datetime | None
    trades: int
    open_trades: int
    wins: int
    losses: int
    draws: int
    winrate: Decimal | None
    profit_factor: Decimal | None
    expectancy: Decimal | None
    expectancy_ratio: Decimal | None
    holding_avg_seconds: int | None
    best_trade: Decimal | None
    worst_trade: Decimal | None
    fees_paid: Decimal
    signals: int
    signals_skipped: int


@dataclass(frozen=True)
class DrawdownPoint:
    day: date
    at: datetime
    equity: Decimal
    drawdown_abs: Decimal
    drawdown: Decimal


@dataclass(frozen=True)
class Group:
    key: str
    trades: int
    wins: int
    losses: int
    profit_abs: Decimal
    profit_mean: Decimal
    win_rate: Decimal | None


@dataclass(frozen=True)
class Report:
    summary: Summary
    equity: tuple[DrawdownPoint, ...]
    by_reason: tuple[Group, ...]
    by_token: tuple[Group, ...]


@dataclass(frozen=True)
class _Drawdown:
    """The deepest fall below a running peak: its size in USD and as a fraction, and when it ran."""

    usd: Decimal = ZERO
    fraction: Decimal = ZERO
    start: datetime | None = None
    end: datetime | None = None


def report(result: ReplayResult, *, capital: Decimal, start: datetime, end: datetime) -> Report:
    """The report of a replay of a book that started with `capital` at `start` and ran until `end`."""
    if capital <= 0:
        raise ValueError("capital must be positive")
    curve, deepest = _drawdowns(result.equity, capital, start)
    closed = [t for t in result.trades if t.realized_pnl is not None]
    final = result.equity[-1].equity if result.equity else capital
    days = [calc.DayEquity(p.day, p.equity, capital if i == 0 else ZERO) for i, p in enumerate(result.equity)]
    daily = calc.time_weighted_returns(days)
    cagr = _cagr(capital, final, start, end)
    summary = Summary(
        starting_balance=cents(capital),
        final_balance=cents(final),
        profit_total_abs=cents(final - capital),
        profit_total=_fraction((final - capital) / capital),
        cagr=_q(cagr),
        sharpe=_q(calc.sharpe(daily)),
        sortino=_q(calc.sortino(daily)),
        calmar=_q(cagr / deepest.fraction) if cagr is not None and deepest.fraction > 0 else None,
        max_drawdown_abs=cents(deepest.usd),
        max_drawdown=_fraction(deepest.fraction),
        drawdown_start=deepest.start,
        drawdown_end=deepest.end,
        open_trades=len(result.trades) - len(closed),
        fees_paid=cents(sum((t.venue_fees for t in result.trades), ZERO)),
        signals=len(result.trades) + len(result.skips),
        signals_skipped=len(result.skips),
        **_trade_figures(closed),
    )
    return Report(
        summary=summary,
        equity=curve,
        by_reason=_groups(closed, lambda t: str(t.reason)),
        by_token=_groups(closed, lambda t: t.market),
    )


def _drawdowns(
    points: Sequence[EquityPoint], capital: Decimal, start: datetime
) -> tuple[tuple[DrawdownPoint, ...], _Drawdown]:
    """Each point below its running peak (the capital at `start` first), and the deepest fall of all."""
    peak, peak_at = capital, start
    deepest = _Drawdown()
    curve = []
    for p in points:
        if p.equity >= peak:
            peak, peak_at = p.equity, p.at
        fall = peak - p.equity
        # A wiped-out book stays at zero: a drawdown is never more than 100% (as `returns.max_drawdown`).
        fraction = min(fall / peak, ONE)
        if fraction > deepest.fraction:
            deepest = _Drawdown(fall, fraction, peak_at, p.at)
        curve.append(DrawdownPoint(p.day, p.at, cents(p.equity), cents(fall), _fraction(fraction)))
    return tuple(curve), deepest


def _cagr(capital: Decimal, final: Decimal, start: datetime, end: datetime) -> Decimal | None:
    days = Decimal((end - start).total_seconds()) / SECONDS_PER_DAY
    if days < 1 or final <= 0:
        return None
    return (final / capital) ** (calc.DAYS_PER_YEAR / days) - ONE


def _trade_figures(closed: Sequence[ReplayTrade]) -> dict[str, Decimal | int | None]:
    """The Summary's fields about closed trades, by name."""
    pnls = [t.realized_pnl for t in closed if t.realized_pnl is not None]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    held = [(t.exit_at - t.entry_at).total_seconds() for t in closed if t.exit_at is not None]
    return {
        "trades": len(pnls),
        "wins": len(wins),
        "losses": len(losses),
        "draws": len(pnls) - len(wins) - len(losses),
        "winrate": _q(calc.win_rate(pnls)),
        "profit_factor": _q(calc.profit_factor(pnls)),
        "expectancy": cents(sum(pnls, ZERO) / len(pnls)) if pnls else None,
        "expectancy_ratio": _q(_expectancy_ratio(wins, losses, len(pnls))),
        "holding_avg_seconds": round(sum(held) / len(held)) if held else None,
        "best_trade": cents(max(pnls)) if pnls else None,
        "worst_trade": cents(min(pnls)) if pnls else None,
    }


def _expectancy_ratio(wins: Sequence[Decimal], losses: Sequence[Decimal], closed: int) -> Decimal | None:
    """Freqtrade's expectancy ratio: what a trade returns per unit of the average loss."""
    if not losses:
        return None
    average_win = sum(wins, ZERO) / len(wins) if wins else ZERO
    average_loss = -sum(losses, ZERO) / len(losses)
    return (ONE + average_win / average_loss) * Decimal(len(wins)) / closed - ONE


def _groups(closed: Sequence[ReplayTrade], key: Callable[[ReplayTrade], str]) -> tuple[Group, ...]:
    pnls_by_key: dict[str, list[Decimal]] = defaultdict(list)
    for t in closed:
        if t.realized_pnl is not None:
            pnls_by_key[key(t)].append(t.realized_pnl)
    groups = [
        Group(
            key=k,
            trades=len(pnls),
            wins=sum(1 for p in pnls if p > 0),
            losses=sum(1 for p in pnls if p < 0),
            profit_abs=cents(sum(pnls, ZERO)),
            profit_mean=cents(sum(pnls, ZERO) / len(pnls)),
            win_rate=_q(calc.win_rate(pnls)),
        )
        for k, pnls in pnls_by_key.items()
    ]
    return tuple(sorted(groups, key=lambda g: (-g.profit_abs, g.key)))


def _fraction(value: Decimal) -> Decimal:
    # Enough precision for any size: a few days' gain can annualise to more digits than the default 28.
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, value.adjusted() + 8)
        return value.quantize(FIGURE_QUANTUM)


def _q(value: Decimal | None) -> Decimal | None:
    return None if value is None else _fraction(value)


def trade_return(trade: ReplayTrade) -> Decimal | None:
    """A closed trade's profit over the margin it put up (Freqtrade's `profit_ratio`); None while open."""
    if trade.realized_pnl is None:
        return None
    margin = trade.size * trade.entry_price / trade.leverage
    return _fraction(trade.realized_pnl / margin) if margin else None
