"""The real Huey consumer runs our tasks: on Redis with PostgreSQL (production shape) and on SQLite files."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session

from backend.db import make_engine
from backend.models import Agent
from tasks.app import build_huey
from tasks.metrics import refresh_agent_metrics_task
from tests.factories import Factory


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
