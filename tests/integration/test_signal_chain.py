"""The whole chain on the real Huey consumer: a manual post becomes signals for its followers only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from backend.auth.identity import CurrentUser
from backend.db import make_engine
from backend.models import CtPost, Signal
from backend.models.enums import Role, Side
from backend.signals.ingest import store_manual_post
from tasks.app import build_huey
from tasks.signals import classify_post_task, generate_signals_task
from tests.factories import Factory
from tests.integration.conftest import wait_for


@pytest.mark.parametrize("consumer_env", ["redis+postgres", "sqlite"], indirect=True)
def test_a_manual_post_becomes_signals_for_followers_only(consumer_env, consumer):
    settings, _ = consumer_env
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session)
        factory.tokens("BTC", "ETH", "SOL")
        author, stranger = factory.ct_account(handle="TapeOwlTrades"), factory.ct_account()
        eager = dict(weight_tweet=100, weight_rsi=0, signal_threshold=Decimal("0.1"))
        followers = [
            factory.agent(follows=[author], **eager),
            factory.agent(follows=[author, stranger], **eager),
        ]
        outsider = factory.agent(follows=[stranger], **eager)
        admin = factory.user(role=Role.ADMIN)
        operator = CurrentUser(admin.id, admin.address, Role.ADMIN)
        post, created = store_manual_post(
            session,
            ct_account_id=author.id,
            text="$SOL reclaimed the range high. Longing, target 160",
            actor=operator,
        )
    assert created

    # A producer on this test's queue: the tasks live on the module's instance, so register them here too.
    producer = build_huey(settings)
    for task in (classify_post_task, generate_signals_task):
        producer._registry.register(task.task_class)
    producer.enqueue(classify_post_task.s(post.id))

    signals = wait_for(
        engine,
        lambda s: (
            s.exec(select(Signal).where(Signal.post_id == post.id)).all() if _generated(s, post.id) else None
        ),
        "the post's signals",
    )
    assert sorted(s.agent_id for s in signals) == sorted(a.id for a in followers)
    assert outsider.id not in {s.agent_id for s in signals}
    assert all((s.token, s.side) == ("SOL", Side.LONG) for s in signals)
    with Session(engine) as session:
        stored = session.get(CtPost, post.id)
        assert stored.classifier.startswith("rules") and stored.is_signal
    engine.dispose()
    assert consumer.poll() is None, "the consumer died"


def _generated(session: Session, post_id: int) -> bool:
    return (
        session.exec(
            select(CtPost.id).where(col(CtPost.id) == post_id, col(CtPost.signals_generated_at).is_not(None))
        ).first()
        is not None
    )
