"""Post-to-signal latency through the real Huey consumer: embedded (SQLite) and Redis + PostgreSQL.

A consumer process (2 worker threads, as `maxxit worker`) runs on a queue of its own. Each post is stored
as an operator's manual post and its classification is enqueued, as the API does; the figures come from
the database's own timestamps: stored -> classified -> signals written. Posts go one at a time (latency,
no queueing), then as a burst (throughput).

    .venv/bin/python -m bench.post_to_signal [--posts 40] [--burst 100] [--followers 5] [--no-postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import redis
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlmodel import Session, col, func, select

from backend.auth.identity import CurrentUser
from backend.config import PROJECT_ROOT, Settings
from backend.db import make_engine, migrate
from backend.models import CtPost, Signal
from backend.models.enums import Role
from backend.signals.ingest import store_manual_post
from tasks.app import build_huey
from tasks.execution import (
    execute_chunk_task,
    execute_for_deployment_task,
    execute_signal_task,
    execute_signals_task,
)
from tasks.signals import classify_post_task, generate_signals_task
from tests.factories import Factory
from tests.pgtools import temporary_pg_database

REDIS_URL = os.environ.get("MAXXIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TOKENS = ("BTC", "ETH", "SOL", "HYPE", "LINK")
# Agents that keep every call: the bench measures the pipeline, not the threshold.
EAGER = {"weight_tweet": 100, "weight_rsi": 0, "signal_threshold": Decimal("0.1")}
console = Console()


@dataclass
class Run:
    classify_ms: list[float]
    total_ms: list[float]
    burst_posts_per_s: float


@contextlib.contextmanager
def platform(kind: str) -> Iterator[Settings]:
    """A migrated database and a queue for one run; everything is removed afterwards."""
    name = f"maxxit-bench-{uuid.uuid4().hex[:8]}"
    if kind == "Redis + PostgreSQL":
        with temporary_pg_database("maxxit_bench") as url:
            migrate(url)
            yield Settings(database_url=url, redis_url=REDIS_URL, huey_name=name)
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"huey.*{name}*"):
            client.delete(key)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        yield Settings(database_url=url, huey_sqlite_path=Path(tmp) / "huey.db", huey_name=name)


@contextlib.contextmanager
def consumer(
    settings: Settings,
    log: Path,
    workers: int = 2,
    *,
    extra_env: Mapping[str, str] | None = None,
    warm_up_s: float = 2.0,
    stop_timeout_s: float = 20,
) -> Iterator[None]:
    """A Huey consumer process on `settings`' queue and database, stopped on exit."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "HUEY_NAME": settings.huey_name,
        "HUEY_SQLITE_PATH": str(settings.huey_sqlite_path),
        "SAMPLE_FEED_ENABLED": "false",
        "OPENAI_API_KEY": "",
        "X_API_BEARER_TOKEN": "",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "huey.bin.huey_consumer", "tasks.worker.huey", "-w", str(workers),
         "-k", "thread", "-m", "1", "--logfile", str(log)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        time.sleep(warm_up_s)  # imported and polling, so the first post is not charged for start-up
        yield
    finally:
        process.terminate()
        process.wait(timeout=stop_timeout_s)


def register_tasks(producer) -> None:
    """The tasks live on the module's Huey instance; a producer on another queue must know them too."""
    tasks = (classify_post_task, generate_signals_task, execute_signal_task, execute_signals_task)
    for task in (*tasks, execute_chunk_task, execute_for_deployment_task):
        producer._registry.register(task.task_class)


def measure(settings: Settings, posts: int, burst: int, followers: int) -> Run:
    engine = make_engine(settings.database_url)
    producer = build_huey(settings)
    register_tasks(producer)
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session)
        factory.tokens(*TOKENS)
        # An author per post, each with its own followers: signals are one per agent, token and 6-hour
        # bucket, so reusing agents would turn later posts into (correctly) deduplicated no-ops.
        authors = []
        creator = factory.user()
        for _ in track(range(posts + burst), description="setting up", console=console):
            authors.append(account := factory.ct_account())
            for _ in range(followers):
                factory.agent(creator, [account], **EAGER)
        admin = factory.user(role=Role.ADMIN)
        operator = CurrentUser(admin.id, admin.address, Role.ADMIN)

        def post(i: int) -> int:
            text = f"${TOKENS[i % len(TOKENS)]} breakout confirmed, longing here (call {i})"
            stored, _ = store_manual_post(session, ct_account_id=authors[i].id, text=text, actor=operator)
            producer.enqueue(classify_post_task.s(stored.id))
            return stored.id

        ids = []
        for i in track(range(posts), description="one at a time", console=console):
            ids.append(post(i))
            _wait_done(session, [ids[-1]])
        started = time.perf_counter()
        burst_ids = [post(posts + i) for i in range(burst)]
        _wait_done(session, burst_ids)
        elapsed = time.perf_counter() - started
        run = Run(*_stage_latencies(session, ids), burst_posts_per_s=burst / elapsed)
    engine.dispose()
    return run


def _wait_done(session: Session, ids: list[int], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        session.expire_all()
        done = session.exec(
            select(func.count()).where(col(CtPost.id).in_(ids), col(CtPost.signals_generated_at).is_not(None))
        ).one()
        if done == len(ids):
            return
        time.sleep(0.005)
    raise TimeoutError(f"{len(ids)} post(s) not through the pipeline after {timeout_s} s")


def _stage_latencies(session: Session, ids: list[int]) -> tuple[list[float], list[float]]:
    classify, total = [], []
    for post in session.exec(select(CtPost).where(col(CtPost.id).in_(ids))):
        last_signal = session.exec(select(func.max(Signal.created_at)).where(Signal.post_id == post.id)).one()
        classify.append((post.classified_at - post.ingested_at).total_seconds() * 1000)
        total.append((last_signal - post.ingested_at).total_seconds() * 1000)
    return classify, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--followers", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    kinds = ["SQLite (embedded)"] + ([] if args.no_postgres else ["Redis + PostgreSQL"])
    table = Table(title=f"Stored post -> signals, real consumer, {args.followers} followers (ms)")
    # Times from the post's storage: to its classification, to its last signal (p50, p90, max).
    for column in ("platform", "classified", "signals p50", "p90", "max", "burst/s"):
        table.add_column(column, justify="right")
    for kind in kinds:
        console.rule(kind)
        with (
            platform(kind) as settings,
            tempfile.TemporaryDirectory() as tmp,
            consumer(settings, Path(tmp) / "consumer.log"),
        ):
            run = measure(settings, args.posts, args.burst, args.followers)
        total = sorted(run.total_ms)
        table.add_row(
            kind,
            f"{statistics.median(run.classify_ms):.0f}",
            f"{statistics.median(total):.0f}",
            f"{total[int(len(total) * 0.9) - 1]:.0f}",
            f"{total[-1]:.0f}",
            f"{run.burst_posts_per_s:.1f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
