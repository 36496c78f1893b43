"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, and factories for rows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings
from sqlmodel import Session

from backend.db import make_engine, migrate
from backend.models import metadata
from tests.factories import Factory
from tests.pgtools import temporary_pg_database

# Property tests on a shared 2-core machine: no per-example wall-clock deadline (timing is for bench/, and a
# slow example under load is not a failure), and a fixed example sequence, so a run is reproducible and a
# counterexample found once is found on every run rather than one run in ten.
hypothesis_settings.register_profile("maxxit", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.load_profile("maxxit")

# Committed notification events wake no queue in tests (each test runs the consumer it needs itself);
# a test of the wake-up sets NOTIFY_EVENTS explicitly. Subprocesses started by tests inherit this.
os.environ.setdefault("NOTIFY_EVENTS", "")

pytest_plugins = [
    "tests.hyperliquid_server.pytest_plugin",
    "tests.telegram_server.pytest_plugin",
    "tests.smtp_server",
    "tests.chain_support",
]

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    with temporary_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "maxxit.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """An engine on a database migrated to head with Alembic (as production is), once per backend."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_database")
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: sa.Engine) -> Iterator[sa.Engine]:
    """The migrated engine, emptied after each test so tests never see each other's rows."""
    yield migrated_engine
    with migrated_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def factory(session: Session) -> Factory:
    return Factory(session)
