"""A backtest's answer as terminal tables (`maxxit backtest`): the summary, by exit reason, by token.

Figures are printed as the pages show them: USD with two decimals, fractions as percent.
"""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console, Group
from rich.table import Table

from backend.backtest.schemas import BacktestResult, GroupOut

DASH = "-"


def usd(value: Decimal | None) -> str:
    return DASH if value is None else f"{value:,.2f}"


def pct(value: Decimal | None) -> str:
    return DASH if value is None else f"{value * 100:.2f}%"


def num(value: Decimal | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def duration(seconds: int | None) -> str:
    if seconds is None:
        return DASH
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m"


def summary_table(result: BacktestResult) -> Table:
    s = result.summary
    period = f"{result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC"
    title = f"{result.agent_name or 'Configuration'}: {period}"
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    drawdown_dates = DASH
    if s.drawdown_start and s.drawdown_end:
        drawdown_dates = f"{s.drawdown_start:%Y-%m-%d} to {s.drawdown_end:%Y-%m-%d}"
    rows = [
        ("Starting balance (USD)", usd(s.starting_balance)),
        ("Final balance (USD)", usd(s.final_balance)),
        ("Total profit (USD)", usd(s.profit_total_abs)),
        ("Total profit", pct(s.profit_total)),
        ("CAGR", pct(s.cagr)),
        ("Sharpe / Sortino / Calmar", f"{num(s.sharpe)} / {num(s.sortino)} / {num(s.calmar)}"),
        ("Max drawdown", f"{pct(s.max_drawdown)} ({usd(s.max_drawdown_abs)} USD)"),
        ("Drawdown from peak to trough", drawdown_dates),
        ("Trades (open at the end)", f"{s.trades} ({s.open_trades})"),
        ("Wins / draws / losses", f"{s.wins} / {s.draws} / {s.losses}"),
        ("Win rate", pct(s.winrate)),
        ("Profit factor", num(s.profit_factor)),
        ("Expectancy (USD per trade)", usd(s.expectancy)),
        ("Average holding time", duration(s.holding_avg_seconds)),
        ("Best / worst trade (USD)", f"{usd(s.best_trade)} / {usd(s.worst_trade)}"),
        ("Fees paid (USD)", usd(s.fees_paid)),
        ("Signals (not traded)", f"{s.signals} ({s.signals_skipped})"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def group_table(title: str, key: str, groups: list[GroupOut]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(key)
    for name in ("trades", "wins", "losses", "profit (USD)", "mean (USD)", "win rate"):
        table.add_column(name, justify="right")
    for g in groups:
        table.add_row(
            g.key,
            str(g.trades),
            str(g.wins),
            str(g.losses),
            usd(g.profit_abs),
            usd(g.profit_mean),
            pct(g.win_rate),
        )
    if not groups:
        table.add_row("no closed trades", "", "", "", "", "", "")
    return table


def print_report(console: Console, result: BacktestResult) -> None:
    """Summary, then closed trades by exit reason and by token, then the notice."""
    skipped = ", ".join(f"{reason} {count}" for reason, count in sorted(result.skips.items()))
    console.print(
        Group(
            summary_table(result),
            group_table("By exit reason", "exit reason", result.by_reason),
            group_table("By token", "token", result.by_token),
        )
    )
    if skipped:
        console.print(f"Signals not traded: {skipped}")
    if result.cached:
        console.print("(answered from an earlier equal run)")
    console.print(f"[dim]{result.notice}[/]")
