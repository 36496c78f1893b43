"""The digest task in the real Huey consumer sends a held day to a real SMTP server (SQLite files and
Redis with PostgreSQL). EMAIL_DIGEST_HOUR_UTC=0 makes the digest due whatever the time of the run."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from backend.db import make_engine
from backend.models import EmailAddress, NotificationDelivery, NotificationEvent
from backend.models.common import utcnow
from backend.models.enums import DeliveryStatus, EmailFrequency, NotificationChannel
from tasks.app import build_huey
from tasks.email import email_digests_task
from tests.factories import Factory
from tests.integration.conftest import start_consumer, stop_consumer, wait_for


@pytest.mark.parametrize("consumer_env", ["redis+postgres", "sqlite"], indirect=True)
def test_the_consumer_runs_the_digest_task(consumer_env, smtp_server, tmp_path):
    settings, env = consumer_env
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as session:
        user = Factory(session).user()
        session.add(
            EmailAddress(
                user_id=user.id,
                address="digest@example.com",
                verified_at=utcnow(),
                frequency=EmailFrequency.DAILY,
            )
        )
        paused = {"deployment_id": 1, "agent_name": "Alpha", "by": "web"}
        event = NotificationEvent(
            key="deployment.paused:1",
            user_id=user.id,
            type="deployment.paused",
            payload=paused,
            dispatched_at=utcnow(),  # as the consumer leaves it: fanned out already
        )
        session.add(event)
        session.flush()
        email = NotificationChannel.EMAIL
        session.add(
            NotificationDelivery(event_id=event.id, user_id=user.id, channel=email, held_for_digest=True)
        )
        session.commit()

    env = {
        **env,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_STARTTLS": "false",
        "EMAIL_DIGEST_HOUR_UTC": "0",
    }
    process = start_consumer(env, tmp_path / "consumer.log")
    try:
        producer = build_huey(settings)
        producer._registry.register(email_digests_task.task_class)
        producer.enqueue(email_digests_task.s())  # a periodic task keeps no result: watch its effect
        delivered = wait_for(
            engine,
            lambda s: s.exec(select(NotificationDelivery.status)).one() == DeliveryStatus.DELIVERED,
            "the held delivery to go out in a digest",
        )
        assert delivered
    finally:
        stop_consumer(process)
    (mail,) = smtp_server.to("digest@example.com")
    assert mail.subject == "Your Maxxit day: 1 event"
    engine.dispose()
