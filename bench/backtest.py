"""Backtest speed on the demo history.

One 90-day backtest of an agent following every demo account (12, ~1,400 posts), cold (empty caches) and
warm (features and candles in memory, as in the builder after its first run),
and a 100-configuration sweep (10 x 10 over two weights) through the same engine.

    .venv/bin/python -m bench.backtest [--repeat 15] [--sweep 100]

Seeds the demo into a fresh SQLite database first (as `make run` does).
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlmodel import Session, select

from backend.agents.versions import Strategy
from backend.backtest.candles import FeedCandles
from backend.backtest.engine import Sources, calls_for, run
from backend.backtest.inputs import FeatureCache
from backend.backtest.replay_source import Costs
from backend.config import get_settings
from backend.db import make_engine, migrate
from backend.demo.seed import seed_demo
from backend.models import AgentVersion, CtAccount
from backend.models.common import utcnow
from backend.prices.simulated import SimulatedPriceFeed
from backend.venues.paper import paper_markets

console = Console()


def fresh_sources() -> Sources:
    candles = FeedCandles(SimulatedPriceFeed(seed=7))
    return Sources(candles, paper_markets(), Costs.from_settings(get_settings()), features=FeatureCache())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--sweep", type=int, default=100, help="configurations in the sweep (a square grid)")
    args = parser.parse_args()

    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    migrate(url)
    engine = make_engine(url)
    now = utcnow().replace(second=0, microsecond=0)
    with Session(engine) as session:
        with console.status("seeding the demo history"):
            seed_demo(session, now=now)
        version = session.exec(select(AgentVersion).order_by(AgentVersion.id)).first()
        accounts = tuple(sorted(session.exec(select(CtAccount.id)).all()))
        base = Strategy.from_json({**version.strategy, "ct_account_ids": list(accounts)})
        start, end = now - timedelta(days=90), now

        def once(sources: Sources, strategy: Strategy = base):
            calls = calls_for(session, strategy, start, end, sources, reclassify=False)
            return run(calls, strategy, start=start, end=end, capital=Decimal(10000), sources=sources)

        cold = []
        for _ in track(range(3), description="cold backtests", console=console):
            t = time.perf_counter()
            outcome = once(fresh_sources())
            cold.append(time.perf_counter() - t)
        warm_sources = fresh_sources()
        once(warm_sources)
        warm = []
        for _ in track(range(args.repeat), description="warm backtests", console=console):
            t = time.perf_counter()
            once(warm_sources)
            warm.append(time.perf_counter() - t)

        side = max(2, round(math.sqrt(args.sweep)))
        values = [round(100 * i / (side - 1)) for i in range(side)]
        grid = [(a, b) for a in values for b in values]
        t = time.perf_counter()
        for tweet, momentum in track(grid, description=f"sweep of {len(grid)}", console=console):
            weights = {**base.weights, "tweet": tweet, "momentum": momentum}
            if not any(weights.values()):
                weights["tweet"] = 1
            once(warm_sources, Strategy.from_json({**base.to_json(), "weights": weights}))
        sweep = time.perf_counter() - t

    table = Table(title="backtest on the demo history (90 days, 12 accounts)")
    table.add_column("what")
    table.add_column("median s", justify="right")
    table.add_column("runs", justify="right")
    table.add_row("one backtest, cold caches", f"{statistics.median(cold):.3f}", str(len(cold)))
    table.add_row("one backtest, warm", f"{statistics.median(warm):.3f}", str(len(warm)))
    table.add_row(f"sweep of {len(grid)} configurations", f"{sweep:.2f}", "1")
    console.print(table)
    summary = outcome.report.summary
    console.print(
        f"{len(outcome.calls)} calls, {summary.signals} signals, {summary.trades} closed trades, "
        f"{summary.open_trades} open; warm/cold = {statistics.median(warm) / statistics.median(cold):.2f}"
    )


if __name__ == "__main__":
    main()
