"""A real Huey consumer (Redis + PostgreSQL) killed mid-delivery, then a new one: every event is delivered,
each delivery row exists once, and a webhook is repeated only where the outcome was never recorded.

The crash point `notify_after_send` fires right after a webhook send returned and before its outcome is
committed: the worst moment (the receiver has it; our database does not know). The process exits at once
(`os._exit`, as kill -9: no cleanup, no rollback message, claims left SENDING). The next consumer retakes
the lapsed claims after NOTIFY_CLAIM_SECONDS and sends them again with the same `webhook-id`.

What the assertion allows, exactly: a webhook-id may reach the receiver twice only if its delivery's first
attempt has no recorded outcome (no DeliveryAttempt 1): those are the claims the killed consumer held, and
the send that had just returned at the crash point is certainly among them (so at least one id is seen
twice). Sends of the killed consumer's other threads may also have reached the receiver unrecorded, so they
are allowed too, but no more than `dispatch.UNRECORDED` (16) of them: the consumer never has more sends of
one channel out without a recorded outcome. Nothing recorded is ever sent again; no id is seen thrice.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import Session, col, func, select

from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.db import make_engine
from backend.execution.faults import CRASH_EXIT_CODE
from backend.models import DeliveryAttempt, NotificationDelivery
from backend.models.enums import NotificationChannel, Role
from backend.notify import dispatch
from backend.notify.events import EventType, NewEvent, emit_many
from backend.notify.webhooks import endpoints
from tasks.app import build_huey
from tasks.notify import deliver_notifications
from tests.factories import Factory
from tests.integration.conftest import start_consumer, stop_consumer, wait_for
from tests.wallets import TEST_SECRET_KEY
from tests.webhook_receiver import WebhookReceiver

EVENTS = 40
WEBHOOK = NotificationChannel.WEBHOOK.value


@pytest.mark.parametrize("consumer_env", ["redis+postgres"], indirect=True)
def test_a_consumer_killed_mid_delivery_loses_nothing_and_repeats_only_unrecorded_sends(
    consumer_env, tmp_path
):
    settings, env = consumer_env
    env = {**env, "NOTIFY_CLAIM_SECONDS": "5", "TELEGRAM_BOT_TOKEN": "", "SMTP_HOST": ""}
    receiver = WebhookReceiver().start()
    receiver.slow = 0.05  # several sends in flight when the crash comes
    engine = make_engine(settings.database_url)
    producer = build_huey(settings)
    producer._registry.register(deliver_notifications.task_class)
    marker = tmp_path / "crashed"
    first = second = None
    try:
        with Session(engine, expire_on_commit=False) as session:
            row = Factory(session).user()
            user = CurrentUser(row.id, row.address, Role.TRADER)
            keyed = Settings(
                database_url=settings.database_url, maxxit_secret_key=TEST_SECRET_KEY
            )  # as the worker
            created = endpoints.create_endpoint(session, user, receiver.url, [], "kill test", keyed)
            receiver.secret = created.secret
            closes = [
                NewEvent(user.id, EventType.POSITION_CLOSED, f"position.closed:{n}", {"n": n})
                for n in range(EVENTS)
            ]
            emit_many(session, closes)
            session.commit()

        crash_env = {**env, "MAXXIT_CRASH_AT": "notify_after_send", "MAXXIT_CRASH_MARKER": str(marker)}
        first = start_consumer(crash_env, tmp_path / "first.log")
        producer.enqueue(deliver_notifications.s())
        assert first.wait(timeout=60) == CRASH_EXIT_CODE and marker.exists()

        with Session(engine) as session:
            left_sending = session.exec(
                select(func.count())
                .select_from(NotificationDelivery)
                .where(NotificationDelivery.status == "SENDING")
            ).one()
        assert left_sending >= 1  # the dead consumer's claims, not yet lapsed
        seen_before_restart = len(receiver.received)
        assert seen_before_restart >= 1

        second = start_consumer(
            env, tmp_path / "second.log"
        )  # it runs once at start, then follows the claims
        wait_for(
            engine,
            lambda s: (
                s.exec(
                    select(func.count())
                    .select_from(NotificationDelivery)
                    .where(
                        NotificationDelivery.channel == WEBHOOK, NotificationDelivery.status == "DELIVERED"
                    )
                ).one()
                == EVENTS
            ),
            "every webhook delivered after the restart",
            deadline_s=90,
        )
        assert second.poll() is None

        with Session(engine) as session:
            deliveries = session.exec(
                select(NotificationDelivery).order_by(col(NotificationDelivery.id))
            ).all()
            recorded_first = set(
                session.exec(select(DeliveryAttempt.delivery_id).where(DeliveryAttempt.attempt == 1)).all()
            )
        keys = Counter((d.event_id, d.channel, d.target_id) for d in deliveries)
        assert len(deliveries) == 2 * EVENTS and set(keys.values()) == {1}  # inbox + webhook, each once
        assert {d.status for d in deliveries} == {"DELIVERED"}
        webhooks = {f"msg_{d.id}": d for d in deliveries if d.channel == WEBHOOK}

        seen = Counter(r.webhook_id for r in receiver.received)
        assert set(seen) == set(webhooks) and receiver.rejected == []
        twice = {webhook_id for webhook_id, n in seen.items() if n > 1}
        assert max(seen.values()) == 2 and 1 <= len(twice) <= dispatch.UNRECORDED
        for webhook_id in twice:  # repeated only where the first outcome was never recorded
            assert webhooks[webhook_id].id not in recorded_first and webhooks[webhook_id].attempts == 2
        for webhook_id, delivery in webhooks.items():  # a recorded send is never repeated
            if delivery.id in recorded_first:
                assert seen[webhook_id] == 1
    finally:
        for process in (first, second):
            if process is not None:
                stop_consumer(process)
        receiver.stop()
        engine.dispose()
