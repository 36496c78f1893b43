"""Databases migrated to head without running Alembic for each one.

Alembic runs once per test process and database kind, into a template; every later database is a copy of
it (PostgreSQL's CREATE DATABASE ... TEMPLATE, SQLite's backup API). The whole migration chain takes
seconds, and many more on a loaded 2-core machine; a copy, a fraction of a second. The copy is the schema
(and alembic_version) that migrating produced, so code under test sees what production's `migrate` leaves.
Migrating itself, up and down, from scratch, is tests/integration/test_migrations.py's business.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from backend.db import migrate
from tests.pgtools import create_pg_database, drop_pg_database, pg_url, temporary_pg_database

_lock = threading.Lock()  # the e2e app and the test may ask from two threads
_sqlite_template: Path | None = None
_pg_template: str | None = None


def migrated_sqlite(path: Path) -> str:
    """A SQLite database at `path` (which must not exist yet), at head; returns its URL."""
    _sqlite_copy(_sqlite(), path)
    return f"sqlite:///{path}"


@contextmanager
def migrated_pg_database(prefix: str = "maxxit_test") -> Iterator[str]:
    """A fresh PostgreSQL database at head, dropped on exit; yields its URL."""
    with temporary_pg_database(prefix, template=_pg()) as url:
        yield url


def _sqlite() -> Path:
    global _sqlite_template
    with _lock:
        if _sqlite_template is None:
            directory = Path(tempfile.mkdtemp(prefix="maxxit-template-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            path = directory / "template.db"
            migrate(f"sqlite:///{path}")
            _sqlite_template = path
        return _sqlite_template


def _pg() -> str:
    global _pg_template
    with _lock:
        if _pg_template is None:
            name = create_pg_database("maxxit_template")
            try:
                migrate(pg_url(name))  # leaves no connection open: a template must have none to be copied
            except BaseException:
                drop_pg_database(name)
                raise
            atexit.register(drop_pg_database, name)
            _pg_template = name
        return _pg_template


@contextmanager
def database_copy(url: str, directory: Path) -> Iterator[str]:
    """A copy of the database at `url` (no connection may be open on it if PostgreSQL), dropped on exit;
    SQLite copies go into `directory`. For tests that each need a database some slow setup filled."""
    if url.startswith("sqlite"):
        path = directory / f"copy-{uuid.uuid4().hex[:10]}.db"
        _sqlite_copy(Path(url.removeprefix("sqlite:///")), path)
        yield f"sqlite:///{path}"
        path.unlink(missing_ok=True)
    else:
        with temporary_pg_database("maxxit_copy", template=url.rsplit("/", 1)[1]) as copy:
            yield copy


def _sqlite_copy(source: Path, target: Path) -> None:
    # The backup API copies a consistent snapshot, whatever the source's WAL holds.
    with closing(sqlite3.connect(source)) as db, closing(sqlite3.connect(target)) as copy:
        db.backup(copy)
