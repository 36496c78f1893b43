"""Alembic migrations: from empty to head on both databases, and they agree with the models."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from backend.db import alembic_config, make_engine, migrate
from backend.models import metadata
from backend.models.agents import WEIGHT_NAMES as WEIGHTS
from tests.pgtools import temporary_pg_database


def _database_url(request: pytest.FixtureRequest, backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    # A database of its own, so the shared migrated one is not touched.
    database = temporary_pg_database("maxxit_mig")
    url = database.__enter__()
    request.addfinalizer(lambda: database.__exit__(None, None, None))
    return url


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_upgrade_from_empty_matches_models_and_downgrades(request, backend, tmp_path):
    url = _database_url(request, backend, tmp_path)
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert context.get_current_revision() == head
        assert compare_metadata(context, metadata) == []

    command.downgrade(alembic_config(url), "base")
    with engine.connect() as conn:
        assert set(engine.dialect.get_table_names(conn)) <= {"alembic_version"}
    migrate(url)  # and back up again
    engine.dispose()


def test_single_head():
    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_accounts_from_before_the_demo_flag_are_real_ones(request, backend, tmp_path):
    """Accounts seeded under real people's handles before 0007 must not be posted as by the sample feed."""
    url = _database_url(request, backend, tmp_path)
    command.upgrade(alembic_config(url), "0006")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO ct_accounts (handle, display_name, followers_count, impact_factor, is_active, "
                "created_at) VALUES ('old_handle', 'Old', 1, 0, true, CURRENT_TIMESTAMP)"
            )
        )
    migrate(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT handle, is_demo FROM ct_accounts")).all() == [
            ("old_handle", False)
        ]
        # A writer that does not know the column (an older process mid-deploy) still inserts: real account.
        conn.execute(
            sa.text(
                "INSERT INTO ct_accounts (handle, display_name, followers_count, impact_factor, "
                "is_active, created_at) VALUES ('new_one', '', 0, 0, true, CURRENT_TIMESTAMP)"
            )
        )
        assert conn.execute(sa.text("SELECT is_demo FROM ct_accounts WHERE handle = 'new_one'")).scalar() in (
            False,
            0,
        )
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_stored_apr_percent_becomes_a_fraction_and_back(request, backend, tmp_path):
    """0010: an APR stored as 24.5 (percent) reads 0.245 after the upgrade, 24.5 after a downgrade."""
    url = _database_url(request, backend, tmp_path)
    command.upgrade(alembic_config(url), "0009")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (address, role, created_at) VALUES ('0xabc', 'trader', CURRENT_TIMESTAMP)"
            )
        )
        user_id = conn.execute(sa.text("SELECT id FROM users")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO agents (creator_id, name, description, venue, visibility, status, "
                + ", ".join(f"weight_{w}" for w in WEIGHTS)
                + ", stoploss, trailing_stop_positive_offset, trailing_stop_positive, sizing_profile, "
                "signal_threshold, created_at, updated_at, trades_count, total_pnl, volume_usd, apr_30d, "
                "apr_90d, apr_si) VALUES (:u, 'A', '', 'SPOT', 'public', 'active', "
                + ", ".join("0" for _ in WEIGHTS)
                + ", 0.1, 0.03, 0.01, 'moderate', 0.55, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 3, 0, 0, "
                "24.5, -12.25, NULL)"
            ),
            {"u": user_id},
        )
    command.upgrade(alembic_config(url), "0010")
    query = sa.text("SELECT apr_30d, apr_90d, apr_si, sortino_30d FROM agents")
    with engine.connect() as conn:
        row = conn.execute(query).one()
    assert [None if v is None else Decimal(str(v)) for v in row] == [
        Decimal("0.245"),
        Decimal("-0.1225"),
        None,
        None,
    ]
    command.downgrade(alembic_config(url), "0009")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT apr_30d, apr_90d FROM agents")).one()
    assert [Decimal(str(v)) for v in row] == [Decimal("24.5"), Decimal("-12.25")]
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_markets_from_before_listings_are_their_own_venue_market_and_active(request, backend, tmp_path):
    url = _database_url(request, backend, tmp_path)
    command.upgrade(alembic_config(url), "0011")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO venue_status (venue, market, min_size, min_notional_usd, tick_size, "
                "size_decimals, max_leverage, slippage_guard_bps, is_active, updated_at) "
                "VALUES ('PAPER', 'ETH', 0.0001, 10, 0.1, 4, 25, 50, true, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO token_registry (symbol, name, venue, created_at) "
                "VALUES ('ETH', 'Ethereum', 'PAPER', CURRENT_TIMESTAMP)"
            )
        )
    migrate(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT market, venue_market, units FROM venue_status")).all() == [
            ("ETH", "ETH", 1)
        ]
        assert conn.execute(sa.text("SELECT is_active FROM token_registry")).scalar() in (True, 1)
    command.downgrade(alembic_config(url), "0011")
    engine.dispose()
