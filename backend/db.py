"""Engine, sessions and migrations. One engine per database URL, shared by the app, the CLI and workers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from backend.config import get_settings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    """Create an engine with settings that suit the URL's database."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A bounded connect time, so a health probe or a worker never hangs on an unreachable server.
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"connect_timeout": 5}
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the Reflex app read while a Huey worker writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url or get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session, transaction(session):
        yield session


@contextmanager
def transaction(session: Session) -> Iterator[None]:
    """Commit what the block did, or roll it all back on any error: a service's write is whole or absent."""
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the database at `url` (default: settings) to `revision`."""
    target = url or get_settings().database_url
    if target.startswith("sqlite"):
        make_engine(target).dispose()  # creates the data directory
    logger.info("migrating database to %s", revision)
    command.upgrade(alembic_config(target), revision)


def insert_or_ignore(session: Session, model: type, values: dict, conflict_columns: list[str]) -> int | None:
    """Insert one row unless the unique key `conflict_columns` already holds it; the new id, or None.

    The database decides, not a prior SELECT, so two workers racing on the same key insert once.
    """
    table = model.__table__
    statement = (
        dialect_insert(session)(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
    ).returning(table.c.id)
    return session.execute(statement).scalar_one_or_none()


def insert_many_or_ignore(
    session: Session, model: type, rows: list[dict], conflict_columns: list[str]
) -> None:
    """`insert_or_ignore` for many rows, as one executemany (pipelined by psycopg); nothing is read back.

    No RETURNING on purpose: it would make SQLAlchemy send one multi-row INSERT whose text psycopg parses
    afresh every time (too long for its cache), which costs more than the round trip it saves.
    """
    if rows:
        statement = dialect_insert(session)(model.__table__).on_conflict_do_nothing(
            index_elements=conflict_columns
        )
        session.execute(statement, rows)


def among(column, values) -> sa.ColumnElement[bool]:
    """`column IN (values)` with the values written into the SQL text rather than sent as parameters.

    For the fan-out's long id lists: psycopg parses a statement's placeholders afresh whenever its text is too
    long to cache, and hundreds of them cost more than the query. Only for ids and our own hex order ids.
    """
    return column.in_(sa.bindparam(None, sorted(values), expanding=True, literal_execute=True))


def dialect_insert(session: Session):
    """The dialect's INSERT, which knows ON CONFLICT (DO NOTHING, DO UPDATE)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported databases
        raise NotImplementedError(dialect)
    return insert
