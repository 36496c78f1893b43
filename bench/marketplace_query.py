"""Marketplace query latency: median of list_agents for common queries at 1,000 and 10,000 agents,
on SQLite and PostgreSQL. Prints figures and the 10k/1k ratio (how the cost grows with the catalogue).

    .venv/bin/python -m bench.marketplace_query [--sizes 1000 10000] [--repeat 30] [--no-postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlmodel import Session

from backend.agents.schemas import AgentQuery, AgentSort
from backend.agents.service import list_agents
from backend.db import make_engine, migrate
from backend.models import Agent, AgentAccount, CtAccount, User
from backend.models.enums import Venue
from tests.pgtools import temporary_pg_database

QUERIES = {
    "default (APR 30d)": AgentQuery(),
    "venue filter": AgentQuery(venue=Venue.HYPERLIQUID),
    "sort by Sharpe": AgentQuery(sort=AgentSort.SHARPE),
    "text search": AgentQuery(q="momentum"),
    "deep page (offset 500)": AgentQuery(offset=500),
}
console = Console()


def populate(engine: sa.Engine, agents: int) -> None:
    rng = random.Random(1)
    with engine.begin() as conn:
        conn.execute(sa.insert(User), [{"address": f"0x{i:040x}", "display_name": f"u{i}", "role": "trader"}
                                       for i in range(1, 201)])  # fmt: skip
        accounts = [{"handle": f"acct{i}", "display_name": "", "followers_count": i, "impact_factor": 0,
                     "is_active": True} for i in range(1, 101)]  # fmt: skip
        conn.execute(sa.insert(CtAccount), accounts)
        words = ["momentum", "swing", "scalper", "trend", "contrarian", "macro", "breakout", "dca"]
        rows = []
        for i in range(agents):
            traded = rng.random() < 0.8
            rows.append({
                "creator_id": rng.randint(1, 200), "name": f"{rng.choice(words).title()} {i}",
                "description": f"{rng.choice(words)} strategy", "venue": rng.choice(list(Venue)).value,
                "visibility": "public" if rng.random() < 0.9 else "private", "status": "active",
                "trades_count": rng.randint(1, 400) if traded else 0,
                "apr_30d": Decimal(str(round(rng.uniform(-0.8, 1.2), 6))) if traded else None,
                "sharpe_30d": Decimal(str(round(rng.uniform(-3, 5), 4))) if traded else None,
                "win_rate": Decimal(str(round(rng.random(), 4))) if traded else None,
                "total_pnl": 0, "volume_usd": 0,
            })  # fmt: skip
        conn.execute(sa.insert(Agent), rows)
        ids = [r[0] for r in conn.execute(sa.select(Agent.id))]
        conn.execute(sa.insert(AgentAccount), [{"agent_id": a, "ct_account_id": c} for a in ids
                                               for c in rng.sample(range(1, 101), 2)])  # fmt: skip


def measure(engine: sa.Engine, repeat: int) -> dict[str, float]:
    medians = {}
    with Session(engine) as session:
        for name, query in QUERIES.items():
            list_agents(session, query)  # warm caches and plans
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                list_agents(session, query)
                samples.append(time.perf_counter() - start)
            medians[name] = statistics.median(samples) * 1000
    return medians


def database(kind: str, workdir: Path) -> contextlib.AbstractContextManager[str]:
    if kind == "sqlite":
        return contextlib.nullcontext(f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}")
    return temporary_pg_database("maxxit_bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    kinds = ["sqlite"] if args.no_postgres else ["sqlite", "postgres"]
    results: dict[tuple[str, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, size in track([(k, s) for k in kinds for s in args.sizes], description="benchmarking"):
            with database(kind, Path(tmp)) as url:
                migrate(url)
                engine = make_engine(url)
                populate(engine, size)
                results[(kind, size)] = measure(engine, args.repeat)
                engine.dispose()

    table = Table(title=f"list_agents median latency, ms (page of 20, {args.repeat} runs each)")
    table.add_column("query")
    for kind in kinds:
        for size in args.sizes:
            table.add_column(f"{kind} {size:,}", justify="right")
        if len(args.sizes) > 1:
            table.add_column(f"{kind} growth", justify="right")
    for name in QUERIES:
        row = [name]
        for kind in kinds:
            row += [f"{results[(kind, s)][name]:.2f}" for s in args.sizes]
            if len(args.sizes) > 1:
                row.append(
                    f"{results[(kind, args.sizes[-1])][name] / results[(kind, args.sizes[0])][name]:.1f}"
                )
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
