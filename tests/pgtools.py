"""Throwaway PostgreSQL databases for tests and benchmarks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

PG_ADMIN_URL = os.environ.get("MAXXIT_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_url(dbname: str) -> str:
    """SQLAlchemy URL (psycopg 3) of a database on the admin URL's server."""
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{dbname}"


def create_pg_database(prefix: str, template: str | None = None) -> str:
    """A new database (a copy of `template` if given, else empty); returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    return name


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def temporary_pg_database(prefix: str = "maxxit_test", template: str | None = None) -> Iterator[str]:
    """A fresh database, empty or a copy of `template`; dropped (connections and all) on exit."""
    name = create_pg_database(prefix, template)
    try:
        yield pg_url(name)
    finally:
        drop_pg_database(name)
