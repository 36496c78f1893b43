"""The real Huey consumer runs our tasks: on Redis with PostgreSQL (production shape) and on SQLite files."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from backend.agents.reference import ensure_reference_book
from backend.audit import Action
from backend.db import make_engine
from backend.models import Agent, AuditLog, PnlSnapshot, VenueStatus
from backend.models.common import utcnow
from backend.models.enums import ExecutionVenue
from tasks.app import build_huey
from tasks.metrics import refresh_agent_metrics_task, write_daily_metrics_task
from tests.factories import Factory
from tests.integration.conftest import start_consumer, stop_consumer, wait_for


@pytest.mark.parametrize("consumer_env", ["redis+postgres", "sqlite"], indirect=True)
def test_consumer_refreshes_agent_figures(consumer_env, consumer):
    settings, _ = consumer_env
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session)
        agent = factory.agent()
        book = ensure_reference_book(
            session, agent, capital=Decimal("10000"), now=utcnow() - timedelta(days=5)
        )
        session.commit()
        factory.closed_position(book, Decimal("25"), days_ago=1)
        factory.closed_position(book, Decimal("-5"), days_ago=2)

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


@pytest.mark.parametrize("consumer_env", ["redis+postgres", "sqlite"], indirect=True)
def test_consumer_writes_daily_snapshots_once_per_day(consumer_env, consumer):
    """The daily task run twice (a retry, a second consumer) leaves one snapshot per book and day."""
    settings, _ = consumer_env
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session)
        agent = factory.agent()
        ensure_reference_book(session, agent, capital=Decimal("10000"), now=utcnow() - timedelta(days=3))
        session.commit()
        factory.paper_deployment(agent, created_at=utcnow() - timedelta(days=2))

    producer = build_huey(settings)
    producer._registry.register(write_daily_metrics_task.task_class)
    task = write_daily_metrics_task.s
    assert producer.enqueue(task()).get(blocking=True, timeout=60) == 4  # 2 books x (yesterday, today)
    assert producer.enqueue(task()).get(blocking=True, timeout=60) == 4
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(PnlSnapshot)).one() == 4
    engine.dispose()
    assert consumer.poll() is None, "the consumer died"


@pytest.mark.parametrize("consumer_env", ["sqlite"], indirect=True)
def test_a_starting_consumer_fills_the_registry_from_the_venues_once(consumer_env, tmp_path, hl_server):
    """Four worker threads start; one refresh is queued; paper and the local Hyperliquid are written."""
    settings, env = consumer_env
    env = {**env, "VENUE_REFRESH_ON_START": "true", "HYPERLIQUID_API": hl_server.url}
    process = start_consumer(env, tmp_path / "consumer.log")
    engine = make_engine(settings.database_url)
    try:
        count = select(func.count()).select_from(VenueStatus)
        wait_for(engine, lambda s: s.exec(count).one() > 150, "the registry filled from both venues")
        with Session(engine) as session:
            pepe = session.exec(
                select(VenueStatus).where(
                    VenueStatus.market == "PEPE", VenueStatus.venue == ExecutionVenue.HYPERLIQUID
                )
            ).one()
            assert (pepe.venue, pepe.venue_market, pepe.units) == ("HYPERLIQUID", "kPEPE", 1000)
            assert "BTC" in set(session.exec(select(VenueStatus.market).where(VenueStatus.venue == "PAPER")))
            refreshes = select(AuditLog).where(AuditLog.action == Action.VENUES_REFRESHED)
            assert len(session.exec(refreshes).all()) == 1  # one refresh, not one per worker thread
    finally:
        stop_consumer(process)
        engine.dispose()
