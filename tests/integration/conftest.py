"""A real Huey consumer process on a queue of the test's own: Redis with PostgreSQL, or SQLite files."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from backend.api import create_api
from backend.config import PROJECT_ROOT, Settings
from backend.models import metadata
from tests.migrated import migrated_sqlite
from tests.wallets import TEST_SECRET_KEY

REDIS_URL = os.environ.get("MAXXIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")

# Consumers in tests run only what the test sends: no sample feed, no X polling, no LLM, no venue refresh.
QUIET_PIPELINE = {
    "SAMPLE_FEED_ENABLED": "false",
    "VENUE_REFRESH_ON_START": "false",
    "X_API_BEARER_TOKEN": "",
    "OPENAI_API_KEY": "",
}


@pytest.fixture
def consumer_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Settings, dict[str, str]]]:
    """Settings for a queue of our own, and the environment a consumer process reads them from."""
    kind = request.param
    name = f"maxxit-test-{uuid.uuid4().hex[:8]}"
    if kind == "redis+postgres":
        db_url = request.getfixturevalue("pg_database")
        settings = Settings(database_url=db_url, redis_url=REDIS_URL, huey_name=name)
    else:
        db_url = migrated_sqlite(tmp_path / "app.db")
        settings = Settings(database_url=db_url, huey_sqlite_path=tmp_path / "huey.db", huey_name=name)
    env = {
        **os.environ,
        **QUIET_PIPELINE,
        "DATABASE_URL": settings.database_url,
        "HUEY_NAME": name,
        "HUEY_SQLITE_PATH": str(settings.huey_sqlite_path),
        "REDIS_URL": settings.redis_url or "",
        # Wallet keys the test encrypts must decrypt in the worker.
        "MAXXIT_SECRET_KEY": TEST_SECRET_KEY,
    }
    yield settings, env
    if kind == "redis+postgres":  # the session's shared database: leave it empty for the next test
        engine = sa.create_engine(db_url)
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        engine.dispose()
    if settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url)
        keys = list(client.scan_iter(f"huey.*{name}*"))
        if keys:
            client.delete(*keys)


def wait_for(engine: sa.Engine, predicate, what: str, deadline_s: float = 60):
    """Poll the database until `predicate(session)` is truthy (its value is returned), or fail the test."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with Session(engine) as session:
            value = predicate(session)
            if value:
                return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def until(check: Callable[[], object], what: str, deadline_s: float = 30) -> None:
    """Poll `check` (no database) until it is truthy, or fail the test naming `what`."""
    pause = threading.Event()
    for _ in range(int(deadline_s / 0.05)):
        if check():
            return
        pause.wait(0.05)
    pytest.fail(f"timed out waiting for {what}")


def start_consumer(env: dict[str, str], logfile: Path) -> subprocess.Popen:
    """`huey_consumer tasks.worker.huey` as production runs it, two worker threads."""
    return subprocess.Popen(
        [sys.executable, "-m", "huey.bin.huey_consumer", "tasks.worker.huey", "-w", "4", "-k", "thread",
         "-m", "1", "--logfile", str(logfile)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop_consumer(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def consumer(consumer_env: tuple[Settings, dict[str, str]], tmp_path: Path) -> Iterator[subprocess.Popen]:
    _, env = consumer_env
    process = start_consumer(env, tmp_path / "consumer.log")
    yield process
    stop_consumer(process)


@pytest.fixture
def api_settings(engine: sa.Engine, tmp_path: Path) -> Settings:
    """Settings for an API under test on the test's database; sign-in limits out of the way."""
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        huey_sqlite_path=tmp_path / "huey.db",
        maxxit_secret_key=TEST_SECRET_KEY,
        public_url="http://testserver",
        auth_rate_limit_per_ip=1000,
        auth_rate_limit_per_address=1000,
    )


@pytest.fixture
def app(engine: sa.Engine, api_settings: Settings) -> FastAPI:
    """The real API on the test's database, with `api_settings` (modules needing other settings override)."""
    return create_api(engine=engine, settings=api_settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c
