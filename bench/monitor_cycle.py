"""Monitor cycle time against open positions, on PostgreSQL: 1,000 / 10,000 / 50,000 over 1,000 deployments.

Each size gets a fresh database with that many OPEN paper positions (random markets and sides, entries at the
current simulated price, so no exit fires and every cycle does the full work: load, one price request per
venue, evaluate every position, persist the trailing highs that moved, record ticks and the cycle).

    .venv/bin/python -m bench.monitor_cycle [--sizes 1000 10000 50000] [--cycles 7] [--deployments 1000]
"""

from __future__ import annotations

import argparse
import random
import statistics
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlmodel import Session

from backend.db import make_engine, migrate
from backend.models import Agent, AgentDeployment, Position, User
from backend.models.common import utcnow
from backend.models.enums import ExecutionVenue, PositionStatus, Side, Venue
from backend.monitor.cycle import Monitor
from backend.prices.markets import MARKETS
from backend.prices.simulated import SimulatedPriceFeed
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from tests.pgtools import temporary_pg_database

console = Console()


def populate(engine: sa.Engine, positions: int, deployments: int) -> None:
    now = utcnow()
    feed = SimulatedPriceFeed(seed=7)
    mids = feed.mids(now)
    rng = random.Random(positions)
    with Session(engine) as session:
        creator = User(address="0x" + "c" * 40)
        session.add(creator)
        session.flush()
        agents = [Agent(creator_id=creator.id, name=f"bench {i}", venue=Venue.HYPERLIQUID) for i in range(10)]
        session.add_all(agents)
        session.flush()
        traders = [
            {"address": f"0x{i:040x}", "role": "trader", "created_at": now} for i in range(deployments)
        ]
        trader_ids = session.execute(
            sa.insert(User.__table__).returning(User.__table__.c.id), traders
        ).scalars()
        rows = [
            {"agent_id": agents[i % 10].id, "user_id": uid, "venue": "PAPER", "status": "ACTIVE",
             "capital_usd": Decimal(10000), "created_at": now, "updated_at": now}
            for i, uid in enumerate(trader_ids)
        ]  # fmt: skip
        deployment_ids = list(
            session.execute(
                sa.insert(AgentDeployment.__table__).returning(AgentDeployment.__table__.c.id), rows
            ).scalars()
        )
        markets = list(MARKETS)
        batch = []
        for n in track(range(positions), description=f"{positions:,} positions", console=console):
            market = rng.choice(markets)
            batch.append(
                {"deployment_id": deployment_ids[n % deployments], "venue": ExecutionVenue.PAPER.value,
                 "market": market, "side": rng.choice((Side.LONG, Side.SHORT)).value, "size": Decimal("0.1"),
                 "leverage": Decimal(1), "entry_price": mids[market], "trailing_high": mids[market],
                 "status": PositionStatus.OPEN.value, "entry_fee": Decimal(0), "exit_fee": Decimal(0),
                 "opened_at": now - timedelta(minutes=rng.randint(1, 600))}
            )  # fmt: skip
            if len(batch) == 5000:
                session.execute(sa.insert(Position.__table__), batch)
                batch = []
        if batch:
            session.execute(sa.insert(Position.__table__), batch)
        session.commit()


def measure(size: int, cycles: int, deployments: int) -> tuple[float, float, int]:
    with temporary_pg_database("maxxit_bench_monitor") as url:
        migrate(url)
        engine = make_engine(url)
        populate(engine, size, deployments)
        venues = VenueRegistry({ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7))})
        monitor = Monitor(venues, close=lambda _id: None, time_limit=timedelta(hours=72), holder="bench")
        times, requests = [], []
        with Session(engine, expire_on_commit=False) as session:
            monitor.run_cycle(session)  # warm-up
            for _ in range(cycles):
                report = monitor.run_cycle(session)
                times.append(report.duration_ms)
                requests.append(report.venue_requests)
        engine.dispose()
    return statistics.median(times), max(times), max(requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--cycles", type=int, default=7)
    parser.add_argument("--deployments", type=int, default=1000)
    args = parser.parse_args()
    table = Table(title=f"Monitor cycle on PostgreSQL, {args.deployments:,} deployments (ms)")
    for column in ("open positions", "median", "max", "venue requests / cycle", "µs per position", "growth"):
        table.add_column(column, justify="right")
    first = None
    for size in args.sizes:
        median, worst, requests = measure(size, args.cycles, args.deployments)
        first = first or (size, median)
        growth = (median / first[1]) / (size / first[0]) if size != first[0] else 1.0
        table.add_row(
            f"{size:,}", f"{median:.0f}", f"{worst:.0f}", str(requests), f"{median * 1000 / size:.1f}",
            f"{growth:.2f} of linear",
        )  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
