"""How lively `make run` is: positions opened, closed by each exit rule, and left open, minute by minute.

For each seed a fresh SQLite database gets the demo seed at the start time, then the demo's live part runs
in-process on a simulated clock (`backend.demo.simulation`: sample feed, rule classifier, generator,
executor on the paper venue, a monitor cycle every MONITOR_INTERVAL_SECONDS), as the worker would run it.
Prints, per seed, opens and closes by reason per 5 minutes with the open positions at the end of each, then
medians over the seeds. The price-feed seed varies (`PRICE_FEED_SEED`); everything else is the defaults.

    .venv/bin/python -m bench.demo_liveliness [--minutes 30] [--seeds 7 8 9] [--start 2026-12-06T20:00]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlmodel import Session

from backend.config import Settings
from backend.db import make_engine, migrate
from backend.demo.seed import seed_demo
from backend.demo.simulation import DemoSimulation, Minute
from backend.models.enums import CloseReason
from backend.prices.simulated import SimulatedPriceFeed

console = Console()
BUCKET = 5  # minutes per row
# The rules a newcomer should see fire, then the rest (a trader's Close, the time limit, a venue's).
SHOWN = {
    CloseReason.STOP_LOSS.value: "stop",
    CloseReason.TRAILING_STOP.value: "trailing",
    CloseReason.TAKE_PROFIT.value: "take-profit",
    CloseReason.TIME_LIMIT.value: "time limit",
}
REASONS = list(SHOWN)


def run_seed(seed: int, start: datetime, minutes: int, progress: Progress) -> list[Minute]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        settings = Settings(_env_file=None, database_url=url, price_feed_seed=seed)
        migrate(url)
        engine = make_engine(url)
        task = progress.add_task(f"seed {seed}: demo seed", total=minutes)
        with Session(engine, expire_on_commit=False) as session:
            seed_demo(session, now=start, feed=SimulatedPriceFeed(seed=seed), settings=settings)
        progress.update(task, description=f"seed {seed}: {minutes} simulated minutes")
        simulation = DemoSimulation(engine, settings, start)
        result = simulation.run(minutes, on_minute=lambda _m: progress.advance(task))
        engine.dispose()
    return result


def buckets(minutes: list[Minute]) -> list[tuple[int, int, Counter[str], int]]:
    """(end minute, opens, closes by reason, open positions at the end) per BUCKET minutes."""
    rows = []
    for first in range(0, len(minutes), BUCKET):
        part = minutes[first : first + BUCKET]
        closes: Counter[str] = Counter()
        for m in part:
            closes.update(m.closes)
        rows.append((first + len(part), sum(m.opens for m in part), closes, part[-1].open_positions))
    return rows


def print_seed(seed: int, start_open: int, minutes: list[Minute]) -> None:
    table = Table(title=f"PRICE_FEED_SEED={seed}: {start_open} positions open at the start")
    for column in ("minutes", "posts", "opens", *SHOWN.values(), "other", "open at end"):
        table.add_column(column, justify="right")
    for end, opens, closes, open_now in buckets(minutes):
        posts = sum(m.posts for m in minutes[end - BUCKET if end >= BUCKET else 0 : end])
        table.add_row(
            f"{end - BUCKET}-{end}",
            str(posts),
            str(opens),
            *(str(closes[r]) for r in REASONS),
            str(sum(closes.values()) - sum(closes[r] for r in REASONS)),
            str(open_now),
        )
    console.print(table)


def summary(runs: dict[int, tuple[int, list[Minute]]]) -> None:
    """Medians over the seeds of the totals and of when each rule first fired."""
    table = Table(title=f"Medians over {len(runs)} seeds")
    table.add_column("figure")
    table.add_column("median", justify="right")
    table.add_column("per seed", justify="right")

    def row(name: str, values: list[float | None]) -> None:
        known = [v for v in values if v is not None]
        median = f"{statistics.median(known):g}" if known else "never"
        table.add_row(name, median, " ".join("-" if v is None else f"{v:g}" for v in values))

    totals = {seed: Counter() for seed in runs}
    for seed, (_, minutes) in runs.items():
        for m in minutes:
            totals[seed].update(m.closes)
    row("open at start", [start for start, _ in runs.values()])
    row("opens", [sum(m.opens for m in ms) for _, ms in runs.values()])
    for reason, label in SHOWN.items():
        row(f"closes: {label}", [totals[seed][reason] for seed in runs])
    row("closes: all", [sum(totals[seed].values()) for seed in runs])
    for reason in REASONS[:3]:
        row(f"first {SHOWN[reason]} (minute)", [_first(ms, reason) for _, ms in runs.values()])
    row("open at end", [ms[-1].open_positions for _, ms in runs.values()])
    row("most open at once", [max(m.open_positions for m in ms) for _, ms in runs.values()])
    console.print(table)


def _first(minutes: list[Minute], reason: str) -> int | None:
    return next((i + 1 for i, m in enumerate(minutes) if m.closes[reason]), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=30, help="simulated minutes after the seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9], help="price feed seeds")
    parser.add_argument(
        "--start", type=datetime.fromisoformat, default=datetime(2026, 12, 6, 20, 0), help="UTC start"
    )
    args = parser.parse_args()
    start = args.start.replace(tzinfo=UTC)
    runs: dict[int, tuple[int, list[Minute]]] = {}
    for seed in args.seeds:
        with Progress(console=console, transient=True) as progress:
            minutes = run_seed(seed, start, args.minutes, progress)
        first = minutes[0]
        start_open = first.open_positions - first.opens + sum(first.closes.values())
        runs[seed] = (start_open, minutes)
        print_seed(seed, start_open, minutes)
    summary(runs)


if __name__ == "__main__":
    main()
