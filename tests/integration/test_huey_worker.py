"""The real Huey consumer runs our tasks: on Redis with PostgreSQL (production shape) and on SQLite files."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from sqlmodel import Session

from backend.config import PROJECT_ROOT, Settings
from backend.db import make_engine, migrate
from backend.models import Agent
from tasks.app import build_huey
from tasks.metrics import refresh_agent_metrics_task
from tests.factories import Factory

REDIS_URL = os.environ.get("MAXXIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def consumer_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Settings, dict[str, str]]]:
    """Settings for a queue of our own, and the environment a consumer process reads them from."""
    kind = request.param
    name = f"maxxit-test-{uuid.uuid4().hex[:8]}"
    if kind == "redis+postgres":
        db_url = request.getfixturevalue("pg_database")
        settings = Settings(database_url=db_url, redis_url=REDIS_URL, huey_name=name)
    else:
        db_url = f"sqlite:///{tmp_path / 'app.db'}"
        settings = Settings(database_url=db_url, huey_sqlite_path=tmp_path / "huey.db", huey_name=name)
    migrate(settings.database_url)
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "HUEY_NAME": name,
        "HUEY_SQLITE_PATH": str(settings.huey_sqlite_path),
        "REDIS_URL": settings.redis_url or "",
    }
    yield settings, env
    if settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url)
        keys = list(client.scan_iter(f"huey.*{name}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def consumer(consumer_env: tuple[Settings, dict[str, str]], tmp_path: Path) -> Iterator[subprocess.Popen]:
    _, env = consumer_env
    log = tmp_path / "consumer.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "huey.bin.huey_consumer", "tasks.worker.huey", "-w", "2", "-k", "thread",
         "--logfile", str(log)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield process
    process.terminate()
    process.wait(timeout=20)


@pytest.mark.parametrize("consumer_env", ["redis+postgres", "sqlite"], indirect=True)
def test_consumer_refreshes_agent_figures(consumer_env, consumer):
    settings, _ = consumer_env
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session)
        agent = factory.agent()
        deployment = factory.deployment(agent)
        factory.closed_position(deployment, Decimal("25"), days_ago=1)
        factory.closed_position(deployment, Decimal("-5"), days_ago=2)

    # A producer on this test's queue; the task lives on the module's instance, so register it here too.
    producer = build_huey(settings)
    producer._registry.register(refresh_agent_metrics_task.task_class)
    result = producer.enqueue(refresh_agent_metrics_task.s(agent.id))
    assert result.get(blocking=True, timeout=60) == 2

    with Session(engine) as session:
        stored = session.get(Agent, agent.id)
        assert stored.trades_count == 2 and stored.win_rate == Decimal("0.5")
        assert stored.metrics_updated_at is not None
    engine.dispose()
    assert consumer.poll() is None, "the consumer died"
