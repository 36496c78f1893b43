"""Execution on the real Huey consumer: a post becomes positions, and a worker killed mid-trade loses nothing.

The kill test is the exactly-once claim in its harshest form: the worker process exits between the venue's
fill and our database write (a crash point armed by environment), a fresh consumer starts, and there must
be exactly one order at the venue and one position in the database, round after round.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from backend.agents.reference import reference_book
from backend.auth.identity import CurrentUser
from backend.db import make_engine
from backend.execution.faults import CRASH_EXIT_CODE
from backend.execution.service import client_order_id
from backend.models import BillingEvent, PaperFill, Position, SignalExecution
from backend.models.enums import DeploymentStatus, ExecutionStatus, Role, SignalStatus, Venue
from backend.signals.ingest import store_manual_post
from tasks.app import build_huey
from tasks.execution import execute_for_deployment_task, execute_signal_task
from tasks.signals import classify_post_task, generate_signals_task
from tests.factories import Factory
from tests.integration.conftest import start_consumer, stop_consumer, wait_for

DEADLINE_S = 60
KILL_ROUNDS = 4


def count(session: Session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def producer_for(settings):
    """A producer on the test's queue; the tasks live on the module's instance, so register them here."""
    producer = build_huey(settings)
    for task in (classify_post_task, generate_signals_task, execute_signal_task, execute_for_deployment_task):
        producer._registry.register(task.task_class)
    return producer


@pytest.mark.parametrize("consumer_env", ["redis+postgres", "sqlite"], indirect=True)
def test_a_manual_post_opens_a_position_for_each_active_deployment(consumer_env, consumer):
    settings, _ = consumer_env
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session)
        factory.tokens("BTC", "ETH", "SOL")
        author = factory.ct_account(handle="TapeOwlTrades")
        agent = factory.agent(
            follows=[author], weight_tweet=100, weight_rsi=0, signal_threshold=Decimal("0.1")
        )
        active = [factory.paper_deployment(agent) for _ in range(3)]
        paused = factory.paper_deployment(agent, status=DeploymentStatus.PAUSED)
        admin = factory.user(role=Role.ADMIN)
        post, _ = store_manual_post(
            session,
            ct_account_id=author.id,
            text="$SOL reclaimed the range high. Longing, target 160",
            actor=CurrentUser(admin.id, admin.address, Role.ADMIN),
        )

    producer_for(settings).enqueue(classify_post_task.s(post.id))

    # Four deployments, and the agent's reference book, which the generator opens before its first signal.
    wait_for(
        engine,
        lambda s: count(s, SignalExecution, SignalExecution.status != ExecutionStatus.PENDING) == 5,
        "every deployment's execution",
    )
    with Session(engine) as session:
        book = reference_book(session, agent.id)
        assert book is not None and book.user_id == agent.creator_id
        positions = session.exec(select(Position)).all()
        assert sorted(p.deployment_id for p in positions) == sorted([*(d.id for d in active), book.id])
        assert all((p.market, p.side) == ("SOL", "long") for p in positions)
        skipped = session.exec(
            select(SignalExecution).where(SignalExecution.deployment_id == paused.id)
        ).one()
        assert (skipped.status, skipped.reason) == (ExecutionStatus.SKIPPED, "deployment paused")
        assert count(session, BillingEvent) == 0, (
            "paper trading is free and the reference book is never billed"
        )
    engine.dispose()
    assert consumer.poll() is None, "the consumer died"


@pytest.mark.parametrize("consumer_env", ["redis+postgres", "sqlite"], indirect=True)
def test_a_worker_killed_between_fill_and_record_places_one_order(consumer_env, tmp_path: Path):
    settings, env = consumer_env
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session)
        agent = factory.agent(venue=Venue.HYPERLIQUID)
        deployment = factory.paper_deployment(agent)
    producer = producer_for(settings)

    for round_, token in enumerate(("BTC", "ETH", "SOL", "AVAX", "LINK", "HYPE")[:KILL_ROUNDS]):
        with Session(engine, expire_on_commit=False) as session:
            signal = Factory(session).signal(agent, token=token, status=SignalStatus.PENDING)
        marker = tmp_path / f"crashed-{round_}"
        crashing = start_consumer(
            {**env, "MAXXIT_CRASH_AT": "after_fill", "MAXXIT_CRASH_MARKER": str(marker)},
            tmp_path / f"crashing-{round_}.log",
        )
        try:
            # The worker's startup sweep may find the pending signal before this message does: either way
            # it is executed, and the first execution to fill dies at the crash point.
            producer.enqueue(execute_signal_task.s(signal.id))
            assert crashing.wait(timeout=DEADLINE_S) == CRASH_EXIT_CODE, "the worker never reached the crash"
        finally:
            stop_consumer(crashing)
        cloid = client_order_id(deployment.id, signal.id)
        with Session(engine) as session:
            assert count(session, PaperFill, PaperFill.client_order_id == cloid) == 1  # the venue filled
            assert count(session, Position, Position.signal_id == signal.id) == 0  # we never recorded it

        restarted = start_consumer(env, tmp_path / f"restarted-{round_}.log")
        try:
            recorded = Position.signal_id == signal.id
            wait_for(
                engine, lambda s, recorded=recorded: count(s, Position, recorded), "the recovered position"
            )
        finally:
            stop_consumer(restarted)
        with Session(engine) as session:
            assert count(session, PaperFill, PaperFill.client_order_id == cloid) == 1, f"round {round_}"
            assert count(session, Position, Position.signal_id == signal.id) == 1
            execution = session.exec(
                select(SignalExecution).where(SignalExecution.signal_id == signal.id)
            ).one()
            assert execution.status == ExecutionStatus.FILLED and execution.attempts >= 2
    with Session(engine) as session:
        assert count(session, BillingEvent, BillingEvent.deployment_id == deployment.id) == 0  # paper is free
    engine.dispose()
