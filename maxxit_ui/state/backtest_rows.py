"""The Backtest panel as plain data: the form's period and capital in, display rows out.

The form holds text as typed (capital "10000", dates "2026-11-01"); `parse_form` turns it into the request's
Period and capital, or messages keyed by field (`period`, `capital`) shown beside the inputs. A
BacktestResult becomes rows of strings, formatted once here: the key figures first, then the Freqtrade-named
summary, the breakdowns, the trades with their posts, the skips. Two results compare figure by figure, the
better one marked. No Reflex and no database, so all of it is unit-tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal, TypedDict

from pydantic import ValidationError

from backend.backtest.schemas import (
    MAX_CAPITAL,
    MAX_DAYS,
    MIN_CAPITAL,
    BacktestResult,
    GroupOut,
    Period,
    SummaryOut,
    TradeOut,
)
from maxxit_ui.components import format as fmt

PERIOD_OPTIONS: dict[str, str] = {"7": "7 days", "30": "30 days", "90": "90 days", "dates": "Dates"}
DEFAULT_PERIOD = "30"
DEFAULT_CAPITAL = "10000"
DASH = "—"
CENT = Decimal("0.01")
NO_CLOSED = "no closed trades"
UNKNOWN_AUTHOR = "unknown author"

Better = Literal["a", "b", ""]


class Tile(TypedDict):
    id: str
    label: str
    value: str
    tone: str


class SummaryRow(TypedDict):
    id: str
    label: str
    value: str
    tone: str


class GroupRow(TypedDict):
    key: str
    trades: str
    wins: str  # "3 / 1": wins over losses
    win_rate: str
    profit: str
    profit_tone: str
    mean: str
    mean_tone: str


class TradeRow(TypedDict):
    id: str
    market: str
    side: str
    side_tone: str
    size: str  # with its unit: "0.5 ETH"
    leverage: str
    entry_at: str
    entry_price: str
    exit_at: str
    exit_price: str
    pnl: str
    pnl_tone: str
    pnl_pct: str
    exit_reason: str
    score: str
    has_post: bool
    post_text: str
    author: str  # who wrote the post: "@handle"; a dash for a signal without a post
    posted_at: str


class SkipRow(TypedDict):
    reason: str
    count: str


class CompareRow(TypedDict):
    id: str
    label: str
    a: str
    b: str
    better: str  # "a", "b" or "" (a tie, or a figure with no better side)


# -- the form ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormInput:
    """The panel's inputs as typed."""

    period: str
    start: str
    end: str
    capital: str


def parse_capital(text: str) -> Decimal:
    """ "10,000" or "$2500.50" -> Decimal; a ValueError says what is wrong, in the user's words."""
    value = text.strip().removeprefix("$").replace(",", "").replace(" ", "")
    low, high = (fmt.money(v, signed=False, places=0) for v in (MIN_CAPITAL, MAX_CAPITAL))
    bounds = f"between {low} and {high}"
    if not value:
        raise ValueError(f"Enter a starting capital {bounds}.")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"Starting capital must be a number of dollars {bounds}.") from None
    if not number.is_finite():
        raise ValueError(f"Starting capital must be a number of dollars {bounds}.")
    if number < MIN_CAPITAL or number > MAX_CAPITAL:
        raise ValueError(f"Starting capital must be {bounds}.")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("Starting capital takes at most 2 decimal places (cents).")
    return number.quantize(CENT)


def _date(text: str, label: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"Pick a {label} date.") from None


def parse_period(choice: str, start: str, end: str) -> Period:
    """The last 7, 30 or 90 days, or whole UTC days from `start` to `end` (both included)."""
    if choice in ("7", "30", "90"):
        return Period(days=int(choice))  # type: ignore[arg-type]  # one of the three literals
    if choice != "dates":
        raise ValueError("Choose 7, 30 or 90 days, or dates.")
    first, last = _date(start, "start"), _date(end, "end")
    if last < first:
        raise ValueError("The end date must not be before the start date.")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"A backtest covers at most {MAX_DAYS} days.")
    try:
        return Period(start=first, end=last)
    except ValidationError as e:  # the contract's own rules, should they grow stricter than the above
        raise ValueError(
            str(e.errors()[0].get("msg", "Invalid period.")).removeprefix("Value error, ")
        ) from None


def parse_form(values: FormInput) -> tuple[Period | None, Decimal | None, dict[str, str]]:
    """The period and capital the inputs say, and a message per field that could not be read."""
    errors: dict[str, str] = {}
    period = capital = None
    try:
        period = parse_period(values.period, values.start, values.end)
    except ValueError as e:
        errors["period"] = str(e)
    try:
        capital = parse_capital(values.capital)
    except ValueError as e:
        errors["capital"] = str(e)
    return period, capital, errors


def empty_errors() -> dict[str, str]:
    return {"period": "", "capital": "", "form": ""}


# -- one result ----------------------------------------------------------------------------------------------


def _pct(value: Decimal | None, *, signed: bool = False, missing: str = DASH) -> str:
    return missing if value is None else fmt.percent(value, fraction=True, signed=signed)


def _num(value: Decimal | None, missing: str = DASH) -> str:
    return missing if value is None else fmt.ratio(value)


def _usd(value: Decimal | None, *, signed: bool = True, missing: str = DASH) -> str:
    return missing if value is None else fmt.money(value, signed=signed)


def _drawdown_tone(value: Decimal) -> str:
    return "negative" if value else "neutral"


def tiles(summary: SummaryOut) -> list[Tile]:
    """The figures a trader looks at first, in the order a phone shows them."""
    s = summary
    return [
        Tile(
            id="bt-profit",
            label="Total profit",
            value=fmt.money(s.profit_total_abs),
            tone=fmt.tone(s.profit_total_abs),
        ),
        Tile(
            id="bt-profit-pct",
            label="Total profit %",
            value=_pct(s.profit_total, signed=True),
            tone=fmt.tone(s.profit_total),
        ),
        Tile(
            id="bt-drawdown",
            label="Max drawdown",
            value=fmt.drawdown(s.max_drawdown),
            tone=_drawdown_tone(s.max_drawdown),
        ),
        Tile(id="bt-sharpe", label="Sharpe", value=_num(s.sharpe), tone=fmt.tone(s.sharpe)),
        Tile(id="bt-winrate", label="Win rate", value=_pct(s.winrate, missing=NO_CLOSED), tone="neutral"),
        Tile(id="bt-trade-count", label="Trades", value=fmt.count(s.trades), tone="neutral"),
    ]


def summary_rows(summary: SummaryOut) -> list[SummaryRow]:
    """Every summary figure under Freqtrade's name for it, the key ones first."""
    s = summary

    def row(key: str, label: str, value: str, tone: str = "neutral") -> SummaryRow:
        return SummaryRow(id=f"bt-summary-{key}", label=label, value=value, tone=tone)

    span = DASH if s.drawdown_start is None else f"{fmt.day(s.drawdown_start)} → {fmt.day(s.drawdown_end)}"
    trades = fmt.count(s.trades) + (f" (+{fmt.count(s.open_trades)} open)" if s.open_trades else "")
    return [
        row(
            "profit-total-abs",
            "Total profit (USD)",
            fmt.money(s.profit_total_abs),
            fmt.tone(s.profit_total_abs),
        ),
        row("profit-total", "Total profit %", _pct(s.profit_total, signed=True), fmt.tone(s.profit_total)),
        row("max-drawdown", "Max drawdown %", fmt.drawdown(s.max_drawdown), _drawdown_tone(s.max_drawdown)),
        row(
            "max-drawdown-abs",
            "Max drawdown (USD)",
            fmt.drawdown_usd(s.max_drawdown_abs),
            _drawdown_tone(s.max_drawdown_abs),
        ),
        row("drawdown-span", "Drawdown peak → trough", span),
        row("sharpe", "Sharpe", _num(s.sharpe), fmt.tone(s.sharpe)),
        row("sortino", "Sortino", _num(s.sortino), fmt.tone(s.sortino)),
        row("calmar", "Calmar", _num(s.calmar), fmt.tone(s.calmar)),
        row("cagr", "CAGR", _pct(s.cagr, signed=True), fmt.tone(s.cagr)),
        row("winrate", "Win rate", _pct(s.winrate, missing=NO_CLOSED)),
        row("wins", "Wins / draws / losses", f"{s.wins} / {s.draws} / {s.losses}"),
        row("profit-factor", "Profit factor", fmt.profit_factor(s.profit_factor, s.trades)),
        row(
            "expectancy",
            "Expectancy (per trade)",
            _usd(s.expectancy, missing=NO_CLOSED),
            fmt.tone(s.expectancy),
        ),
        row("expectancy-ratio", "Expectancy ratio", _num(s.expectancy_ratio), fmt.tone(s.expectancy_ratio)),
        row("trades", "Trades", trades),
        row("holding-avg", "Avg duration", fmt.duration(s.holding_avg_seconds)),
        row("best-trade", "Best trade", _usd(s.best_trade), fmt.tone(s.best_trade)),
        row("worst-trade", "Worst trade", _usd(s.worst_trade), fmt.tone(s.worst_trade)),
        row("fees-paid", "Fees paid", fmt.money(s.fees_paid, signed=False)),
        row("starting-balance", "Starting balance", fmt.money(s.starting_balance, signed=False)),
        row("final-balance", "Final balance", fmt.money(s.final_balance, signed=False)),
        row("signals", "Signals (skipped)", f"{fmt.count(s.signals)} ({fmt.count(s.signals_skipped)})"),
    ]


def group_row(group: GroupOut, *, words: bool = False) -> GroupRow:
    """`words` for exit reasons ("Take profit"); tokens stay as they are ("ETH")."""
    return GroupRow(
        key=_words(group.key) if words else group.key,
        trades=fmt.count(group.trades),
        wins=f"{group.wins} / {group.losses}",
        win_rate=_pct(group.win_rate),
        profit=fmt.money(group.profit_abs),
        profit_tone=fmt.tone(group.profit_abs),
        mean=fmt.money(group.profit_mean),
        mean_tone=fmt.tone(group.profit_mean),
    )


def trade_row(index: int, trade: TradeOut) -> TradeRow:
    side = trade.side.upper()
    return TradeRow(
        id=str(index),
        market=trade.market,
        side=side,
        side_tone="positive" if side == "LONG" else "negative",
        size=fmt.size(trade.size, trade.market),
        leverage=fmt.leverage(trade.leverage),
        entry_at=fmt.timestamp(trade.entry_at),
        entry_price=fmt.quantity(trade.entry_price),
        exit_at=fmt.timestamp(trade.exit_at) if trade.exit_at else "open",
        exit_price=fmt.quantity(trade.exit_price),
        pnl="open" if trade.profit_abs is None else fmt.money(trade.profit_abs),
        pnl_tone=fmt.tone(trade.profit_abs),
        pnl_pct=_pct(trade.profit_ratio, signed=True, missing=""),
        exit_reason=fmt.label(trade.exit_reason) if trade.exit_reason else "open at the end",
        score=fmt.ratio(trade.score),
        has_post=bool(trade.post_text),
        post_text=trade.post_text or "",
        author=_author(trade),
        posted_at=fmt.timestamp(trade.posted_at) if trade.posted_at else "",
    )


def _author(trade: TradeOut) -> str:
    if trade.post_author:
        return f"@{trade.post_author}"
    return UNKNOWN_AUTHOR if trade.post_text else DASH


def _words(text: str) -> str:
    """TAKE_PROFIT -> "Take profit"; "below minimum" -> "Below minimum"."""
    if "_" in text or text.isupper():
        return fmt.label(text)
    return text[:1].upper() + text[1:]


def skip_rows(skips: dict[str, int]) -> list[SkipRow]:
    """Why signals were not traded, the most frequent reason first (ties by name, so the order is stable)."""
    ordered = sorted(skips.items(), key=lambda item: (-item[1], item[0]))
    return [SkipRow(reason=_words(reason), count=fmt.count(n)) for reason, n in ordered]


def window(result: BacktestResult) -> str:
    """What was tested, in one line: "2026-11-06 → 2026-12-06 · $10,000 starting capital"."""
    return (
        f"{fmt.day(result.start)} → {fmt.day(result.end)} · "
        f"{fmt.money(result.capital, signed=False, places=0)} starting capital"
    )


# -- two results ---------------------------------------------------------------------------------------------

Direction = Literal["higher", "lower", "none"]


@dataclass(frozen=True)
class _Figure:
    key: str
    label: str
    value: Callable[[SummaryOut], Decimal | int | None]
    shown: Callable[[SummaryOut], str]
    better: Direction


COMPARED: tuple[_Figure, ...] = (
    _Figure(
        "profit-total-abs",
        "Total profit (USD)",
        lambda s: s.profit_total_abs,
        lambda s: fmt.money(s.profit_total_abs),
        "higher",
    ),
    _Figure(
        "profit-total",
        "Total profit %",
        lambda s: s.profit_total,
        lambda s: _pct(s.profit_total, signed=True),
        "higher",
    ),
    _Figure(
        "max-drawdown",
        "Max drawdown %",
        lambda s: s.max_drawdown,
        lambda s: fmt.drawdown(s.max_drawdown),
        "lower",
    ),
    _Figure(
        "max-drawdown-abs",
        "Max drawdown (USD)",
        lambda s: s.max_drawdown_abs,
        lambda s: fmt.drawdown_usd(s.max_drawdown_abs),
        "lower",
    ),
    _Figure("sharpe", "Sharpe", lambda s: s.sharpe, lambda s: _num(s.sharpe), "higher"),
    _Figure("sortino", "Sortino", lambda s: s.sortino, lambda s: _num(s.sortino), "higher"),
    _Figure("calmar", "Calmar", lambda s: s.calmar, lambda s: _num(s.calmar), "higher"),
    _Figure("cagr", "CAGR", lambda s: s.cagr, lambda s: _pct(s.cagr, signed=True), "higher"),
    _Figure(
        "winrate", "Win rate", lambda s: s.winrate, lambda s: _pct(s.winrate, missing=NO_CLOSED), "higher"
    ),
    _Figure(
        "profit-factor",
        "Profit factor",
        lambda s: s.profit_factor,
        lambda s: fmt.profit_factor(s.profit_factor, s.trades),
        "higher",
    ),
    _Figure(
        "expectancy",
        "Expectancy (per trade)",
        lambda s: s.expectancy,
        lambda s: _usd(s.expectancy, missing=NO_CLOSED),
        "higher",
    ),
    _Figure("trades", "Trades", lambda s: s.trades, lambda s: fmt.count(s.trades), "none"),
    _Figure(
        "holding-avg",
        "Avg duration",
        lambda s: s.holding_avg_seconds,
        lambda s: fmt.duration(s.holding_avg_seconds),
        "none",
    ),
    _Figure("best-trade", "Best trade", lambda s: s.best_trade, lambda s: _usd(s.best_trade), "higher"),
    _Figure("worst-trade", "Worst trade", lambda s: s.worst_trade, lambda s: _usd(s.worst_trade), "higher"),
    _Figure(
        "fees-paid",
        "Fees paid",
        lambda s: s.fees_paid,
        lambda s: fmt.money(s.fees_paid, signed=False),
        "lower",
    ),
)


def better_of(a: Decimal | int | None, b: Decimal | int | None, direction: Direction) -> Better:
    """Which side wins a figure: none for a tie, a figure one side lacks, or a figure with no better way."""
    if direction == "none" or a is None or b is None or a == b:
        return ""
    if direction == "higher":
        return "a" if a > b else "b"
    return "a" if a < b else "b"


def compare_rows(a: SummaryOut, b: SummaryOut) -> list[CompareRow]:
    """Two runs' figures side by side, each row naming the better side (higher profit, lower drawdown)."""
    return [
        CompareRow(
            id=f"bt-compare-{f.key}",
            label=f.label,
            a=f.shown(a),
            b=f.shown(b),
            better=better_of(f.value(a), f.value(b), f.better),
        )
        for f in COMPARED
    ]
