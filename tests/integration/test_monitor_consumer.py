"""The monitor on the real Huey consumer: cycles every few seconds under its lease, closing positions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from backend.db import make_engine
from backend.execution.service import Executor
from backend.models import Lease, MonitorCycle, Position
from backend.models.common import utcnow
from backend.models.enums import CloseReason, ExecutionVenue, PositionStatus, SignalStatus, Venue
from backend.prices.simulated import SimulatedPriceFeed
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from tests.factories import Factory
from tests.integration.conftest import start_consumer, stop_consumer, wait_for
from tests.monitor_support import CIPHER


@pytest.mark.parametrize("consumer_env", ["redis+postgres", "sqlite"], indirect=True)
def test_the_consumer_monitors_and_closes_a_position_past_its_time_limit(consumer_env, tmp_path):
    settings, env = consumer_env
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session)
        agent = factory.agent(venue=Venue.HYPERLIQUID)
        deployment = factory.paper_deployment(agent)
        venues = VenueRegistry({ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7))})
        signal = factory.signal(agent, token="BTC", status=SignalStatus.PENDING)
        opened = Executor(venues, CIPHER).execute(session, signal.id, deployment.id)
        session.get(Position, opened.position_id).opened_at = utcnow() - timedelta(hours=2)
        session.commit()

    consumer = start_consumer(
        {**env, "MONITOR_INTERVAL_SECONDS": "1", "MONITOR_TIME_LIMIT_HOURS": "1"}, tmp_path / "consumer.log"
    )
    try:
        closed = wait_for(
            engine,
            lambda s: s.exec(select(Position).where(Position.status == PositionStatus.CLOSED)).first(),
            "the monitor to close the position",
        )
        assert closed.close_reason == CloseReason.TIME_LIMIT and closed.exit_price is not None
        wait_for(
            engine, lambda s: s.exec(select(func.count()).select_from(MonitorCycle)).one() >= 2, "cycles"
        )
        with Session(engine) as session:
            lease = session.get(Lease, "monitor")
            assert lease is not None and lease.expires_at > utcnow()  # held by the running consumer
        assert consumer.poll() is None
    finally:
        stop_consumer(consumer)
    engine.dispose()
    assert Decimal(0) <= closed.exit_fee
