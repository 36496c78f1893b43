"""One manual post to orders filled for 200 paper deployments, through the real Huey consumer.

Redis + PostgreSQL (the production shape) and the embedded SQLite mode. One CT account is followed by
`--agents` eager agents, each deployed `--deployments-per-agent` times on paper. Each round posts one call
on a new token as an operator would; the figure is the time from the post being stored to the last of its
fills (database timestamps: post.ingested_at -> max(position.opened_at)). Rounds go one at a time.

    .venv/bin/python -m bench.post_to_fill [--rounds 8] [--agents 20] [--deployments-per-agent 10]
        [--deployments 2000] [--workers 4] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlmodel import Session, col, func, select

from backend.auth.identity import CurrentUser
from backend.db import make_engine
from backend.models import CtPost, Position, Signal
from backend.models.enums import Role
from backend.prices.markets import MARKETS
from backend.signals.ingest import store_manual_post
from bench.post_to_signal import EAGER, consumer, platform, register_tasks
from tasks.app import build_huey
from tasks.signals import classify_post_task
from tests.factories import Factory

console = Console()
# The old platform polled: new posts every 5 minutes, signals every minute, the executor every 30 s.
OLD_POLLS_S = (300, 60, 30)


def measure(settings, rounds: int, agents: int, per_agent: int) -> list[tuple[float, float]]:
    """(first fill, last fill) seconds after the post, per round."""
    engine = make_engine(settings.database_url)
    producer = build_huey(settings)
    register_tasks(producer)
    tokens = list(MARKETS)[:rounds]
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session)
        factory.tokens(*tokens)
        author = factory.ct_account(handle="bench_caller")
        creator = factory.user()
        for _ in track(range(agents), description="deploying", console=console):
            agent = factory.agent(creator, [author], **EAGER)
            for _ in range(per_agent):
                factory.paper_deployment(agent)
        admin = factory.user(role=Role.ADMIN)
        operator = CurrentUser(admin.id, admin.address, Role.ADMIN)
        # Every agent's reference book (opened by the generator before the agent's first signal) takes the
        # signal too: one more paper deployment per agent in the fan-out.
        expected = agents * (per_agent + 1)
        results = []
        for token in track(tokens, description="posting", console=console):
            text = f"${token} breakout confirmed, longing here"
            post, _ = store_manual_post(session, ct_account_id=author.id, text=text, actor=operator)
            producer.enqueue(classify_post_task.s(post.id))
            results.append(_wait_for_fills(session, post, expected))
    engine.dispose()
    return results


def _wait_for_fills(
    session: Session, post: CtPost, expected: int, timeout_s: float = 300
) -> tuple[float, float]:
    deadline = time.monotonic() + timeout_s
    of_post = (
        select(func.count(), func.min(Position.opened_at), func.max(Position.opened_at))
        .join(Signal, Signal.id == Position.signal_id)
        .where(col(Signal.post_id) == post.id)
    )
    while time.monotonic() < deadline:
        session.expire_all()
        filled, first, last = session.exec(of_post).one()
        if filled == expected:
            return (first - post.ingested_at).total_seconds(), (last - post.ingested_at).total_seconds()
        time.sleep(0.02)
    raise TimeoutError(f"{filled}/{expected} fills after {timeout_s} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=8, help=f"posts, one token each (at most {len(MARKETS)})"
    )
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--deployments-per-agent", type=int, default=10)
    parser.add_argument(
        "--deployments", type=int, help="total paper deployments, spread over --agents (overrides the above)"
    )
    parser.add_argument("--workers", type=int, default=4, help="consumer worker threads")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    if args.deployments:
        args.deployments_per_agent = max(1, args.deployments // args.agents)
    kinds = ["Redis + PostgreSQL"] + ([] if args.no_sqlite else ["SQLite (embedded)"])
    deployments = args.agents * args.deployments_per_agent
    table = Table(title=f"Post -> last fill for {deployments} paper deployments, {args.workers} workers (s)")
    for column in ("platform", "first fill p50", "last fill p50", "last fill p95", "worst", "fills/s"):
        table.add_column(column, justify="right")
    for kind in kinds:
        console.rule(kind)
        with (
            platform(kind) as settings,
            tempfile.TemporaryDirectory() as tmp,
            consumer(settings, Path(tmp) / "consumer.log", workers=args.workers),
        ):
            rounds = measure(settings, args.rounds, args.agents, args.deployments_per_agent)
        first = sorted(r[0] for r in rounds)
        last = sorted(r[1] for r in rounds)
        p95 = last[min(len(last) - 1, round(0.95 * (len(last) - 1)))]
        table.add_row(
            kind,
            f"{statistics.median(first):.2f}",
            f"{statistics.median(last):.2f}",
            f"{p95:.2f}",
            f"{last[-1]:.2f}",
            f"{deployments / statistics.median(last):.0f}",
        )
    console.print(table)
    mean_wait = sum(p / 2 for p in OLD_POLLS_S)
    console.print(
        f"Old platform (polling every {', '.join(f'{p} s' for p in OLD_POLLS_S)}): "
        f"{mean_wait / 60:.1f} min on average, up to {sum(OLD_POLLS_S) / 60:.1f} min, before any order."
    )


if __name__ == "__main__":
    main()
