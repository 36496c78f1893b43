"""Backtest speed on the demo history, through the path a user takes.

A 90-day backtest of a configuration following all 12 demo accounts (~1,100 calls), asked as the builder asks
it: `service.run_backtest` for a signed-in trader (agent resolution, posts read, cache key with the posts'
version and the candles' data version, the engine, the answer's shape, the stored run and its commit), and a
100-configuration sweep (10 x 10 over the tweet and momentum weights) as the worker runs it:
`sweep.create_sweep` then `sweep.run_sweep` (a commit per cell). Prices and costs come from
`sources.build_sources(settings)`, the process-wide sources the app and the workers use.

    .venv/bin/python -m bench.backtest [--repeat 7] [--cold 3] [--sweeps 2] [--sweep 100] [--no-postgres]

Per database (a fresh SQLite file, then a fresh PostgreSQL database), the demo is seeded in a child process
(as `maxxit up` seeds before starting the app), then:
- cold: `--cold` fresh processes each run one backtest: nothing in memory (the simulated feed's minute paths,
  the day caches of bars and hourly candles, the features), as a web worker just restarted meets it;
- warm: `--repeat` backtests in one process after its first, each with a new capital so no stored run
  answers (the builder after a slider moved);
- cached: the same requests again, answered from the stored run;
- sweep: `--sweeps` sweeps of `--sweep` cells in that process (a worker that has backtested before).
Times are wall-clock medians; CPU seconds of the process beside them, since other work shares the machine.
The load average is printed with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
ACCOUNTS = 12


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
        return
    from tests.pgtools import temporary_pg_database

    with temporary_pg_database("maxxit_bench_backtest") as url:
        yield url


def child(*args: str) -> dict:
    """Run this module in a fresh process; its last stdout line is JSON."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.backtest", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def seed(url: str) -> None:
    from sqlmodel import Session

    from backend.db import make_engine, migrate
    from backend.demo.seed import seed_demo

    migrate(url)
    with Session(make_engine(url)) as session:
        seed_demo(session)


class Bench:
    """The service path on one database: its settings, a signed-in trader, the 12-account configuration."""

    def __init__(self, url: str) -> None:
        os.environ["DATABASE_URL"] = url
        from sqlmodel import Session, select

        from backend.agents.versions import Strategy
        from backend.auth.identity import CurrentUser
        from backend.backtest.service import config_of
        from backend.config import get_settings
        from backend.db import make_engine
        from backend.models import AgentVersion, CtAccount, User
        from backend.models.common import utcnow

        get_settings.cache_clear()
        self.settings = get_settings()
        assert self.settings.database_url == url and self.settings.price_feed == "simulated"
        self.session = Session(make_engine(url))
        version = self.session.exec(select(AgentVersion).order_by(AgentVersion.id)).first()
        accounts = sorted(self.session.exec(select(CtAccount.id)).all())
        assert version is not None and len(accounts) == ACCOUNTS, "expected the seeded demo"
        user = self.session.exec(select(User).order_by(User.id)).first()
        assert user is not None
        self.viewer = CurrentUser(id=user.id, address=user.address, role=user.role)
        strategy = Strategy.from_json({**version.strategy, "ct_account_ids": accounts})
        self.config = config_of(strategy).model_dump(mode="json")
        # One clock for every request, so that asking again finds the stored run (a 90-day window ends at
        # the minute it is asked in; the builder's rerun within a minute is what a stored run answers).
        self.now = utcnow().replace(second=0, microsecond=0)

    def backtest(self, capital: Decimal) -> tuple[float, float, object]:
        """One backtest through the service; (wall s, CPU s, result)."""
        from backend.backtest.schemas import BacktestRequest
        from backend.backtest.service import run_backtest
        from backend.backtest.sources import build_sources

        request = BacktestRequest.model_validate(
            {"config": self.config, "period": {"days": 90}, "capital": str(capital)}
        )
        wall, cpu = time.perf_counter(), time.process_time()
        sources = build_sources(self.settings)  # as the API builds them for each request
        result = run_backtest(self.session, request, viewer=self.viewer, sources=sources, now=self.now)
        return time.perf_counter() - wall, time.process_time() - cpu, result

    def sweep(self, cells: int, capital: Decimal) -> tuple[float, float, int]:
        """A sweep created and run as the worker runs it; (wall s, CPU s, cells stored)."""
        from backend.backtest.sweep import SweepRequest, create_sweep, run_sweep

        side = max(2, round(math.sqrt(cells)))
        values = [round(100 * i / (side - 1)) for i in range(side)]
        request = SweepRequest.model_validate(
            {
                "config": self.config,
                "period": {"days": 90},
                "capital": str(capital),
                "axes": [{"name": "tweet", "values": values}, {"name": "momentum", "values": values}],
            }
        )
        wall, cpu = time.perf_counter(), time.process_time()
        max_cells = max(cells, self.settings.sweep_max_cells)
        row, _ = create_sweep(self.session, request, viewer=self.viewer, max_cells=max_cells, now=self.now)
        assert row.id is not None
        done = run_sweep(self.session, row.id, self.settings)
        assert done.status == "done", done.error
        return time.perf_counter() - wall, time.process_time() - cpu, done.progress_done


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def timed(label: str, runs: int, once: Callable[[int], tuple[float, float]]) -> dict:
    before = load()
    walls, cpus = [], []
    for i in range(runs):
        wall, cpu = once(i)
        walls.append(wall)
        cpus.append(cpu)
        console.print(f"  {label} {i + 1}/{runs}: {wall:.3f} s (cpu {cpu:.3f})")
    return {
        "what": label,
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "runs": runs,
        "load": f"{before} → {load()}",
    }


def measure(kind: str, args: argparse.Namespace) -> list[dict]:
    rows = []
    with database(kind) as url:
        console.print(f"[bold]{kind}[/]: seeding the demo in a child process")
        child("--seed", url)
        cold = timed(
            "one backtest, cold (fresh process)",
            args.cold,
            lambda i: (lambda r: (r["wall"], r["cpu"]))(child("--cold-run", url, str(20000 + i))),
        )
        rows.append(cold)
        bench = Bench(url)
        first = timed("one backtest, first in this process", 1, lambda i: bench.backtest(Decimal(10000))[:2])
        rows.append(first)
        warm = timed(
            "one backtest, warm (not stored)", args.repeat, lambda i: bench.backtest(Decimal(10001 + i))[:2]
        )
        rows.append(warm)
        results: list = []

        def cached_once(i: int) -> tuple[float, float]:
            wall, cpu, result = bench.backtest(Decimal(10001 + i))
            results.append(result)
            return wall, cpu

        rows.append(timed("one backtest, stored run answers", args.repeat, cached_once))
        assert all(r.cached for r in results)
        summary = results[-1].summary
        console.print(f"  {summary.signals} signals, {summary.trades} trades")

        def sweep_once(i: int) -> tuple[float, float]:
            wall, cpu, cells = bench.sweep(args.sweep, Decimal(30000 + i))
            console.print(f"  {cells} cells")
            return wall, cpu

        rows.append(timed(f"sweep of {args.sweep} (run_sweep)", args.sweeps, sweep_once))
        bench.session.close()
    for row in rows:
        row["kind"] = kind
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cold", type=int, default=3, help="fresh processes, one cold backtest each")
    parser.add_argument("--sweeps", type=int, default=2)
    parser.add_argument("--sweep", type=int, default=100, help="configurations in a sweep (a square grid)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--seed", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument(
        "--cold-run", nargs=2, metavar=("URL", "CAPITAL"), dest="cold_run", help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.seed:
        seed(args.seed)
        print("{}")
        return
    if args.cold_run:
        url, capital = args.cold_run
        wall, cpu, _ = Bench(url).backtest(Decimal(capital))
        print(json.dumps({"wall": wall, "cpu": cpu}))
        return
    rows = []
    for kind in ["sqlite"] + ([] if args.no_postgres else ["postgres"]):
        rows += measure(kind, args)
    table = Table(title=f"90-day backtest, {ACCOUNTS} accounts, through the service (median seconds)")
    for column in ("database", "what", "wall s", "cpu s", "runs", "load average (1/5/15 min)"):
        table.add_column(column, justify="right" if column.endswith(("s", "runs")) else "left")
    for row in rows:
        table.add_row(
            row["kind"], row["what"], f"{row['wall']:.3f}", f"{row['cpu']:.3f}", str(row["runs"]), row["load"]
        )
    Console().print(table)


if __name__ == "__main__":
    main()
