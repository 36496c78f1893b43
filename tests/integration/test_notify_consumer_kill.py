"""A real Huey consumer (Redis + PostgreSQL) killed mid-delivery, then a new one: every event is delivered
on every channel (webhook, Telegram to the local Bot API server, email to a local SMTP server), each
delivery row exists once, and a message is repeated only where its outcome was never recorded.

The crash point `notify_after_send` fires right after a send returned and before its outcome is committed:
the worst moment (the channel has it; our database does not know). The process exits at once (`os._exit`,
as kill -9: no cleanup, no rollback message, claims left SENDING). The next consumer retakes the lapsed
claims once they lapse and sends them again (webhooks with the same `webhook-id`).

What the assertion allows, exactly: a message may reach its server twice only if its delivery's first
attempt has no recorded outcome (no DeliveryAttempt 1): those are the claims the killed consumer held, and
the send that had just returned at the crash point is certainly among them (so at least one message is
seen twice). The killed consumer's other sends may also have reached their servers unrecorded, so they are
allowed too, but per channel no more than `dispatch.UNRECORDED` (= SEND_THREADS, 8): a channel's send
thread is freed only once its outcome is recorded. Nothing recorded is ever sent again; nothing thrice.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlmodel import Session, col, func, select

from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.db import make_engine
from backend.execution.faults import CRASH_EXIT_CODE
from backend.models import (
    DeliveryAttempt,
    EmailAddress,
    NotificationDelivery,
    NotificationEvent,
    TelegramLink,
)
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel, Role
from backend.notify import dispatch
from backend.notify.events import EventType, NewEvent, emit_many
from backend.notify.webhooks import endpoints
from tasks.app import build_huey
from tasks.notify import deliver_notifications
from tests.factories import Factory
from tests.integration.conftest import start_consumer, stop_consumer, wait_for
from tests.smtp_server import SmtpServer
from tests.telegram_server import TelegramServer
from tests.wallets import TEST_SECRET_KEY
from tests.webhook_receiver import WebhookReceiver

EVENTS = 40
CHAT = 4242
ADDRESS = "trader@example.com"
WEBHOOK, TELEGRAM, EMAIL = (
    NotificationChannel.WEBHOOK.value,
    NotificationChannel.TELEGRAM.value,
    NotificationChannel.EMAIL.value,
)
SENT = (WEBHOOK, TELEGRAM, EMAIL)


def _market(n: int) -> str:
    return f"X{n}X"  # in every message about event n, and in no other's


def _which(text: str) -> int:
    """The event a Telegram message or an email subject is about."""
    found = re.search(r"X(\d+)X", text)
    assert found is not None, text
    return int(found.group(1))


@pytest.mark.parametrize("consumer_env", ["redis+postgres"], indirect=True)
def test_a_consumer_killed_mid_delivery_loses_nothing_and_repeats_only_unrecorded_sends(
    consumer_env, tmp_path, telegram_server: TelegramServer, smtp_server: SmtpServer
):
    settings, env = consumer_env
    env = {
        **env,
        "NOTIFY_CLAIM_SECONDS": "5",
        "WEBHOOK_TIMEOUT_SECONDS": "2",
        "TELEGRAM_BOT_TOKEN": telegram_server.token,
        "TELEGRAM_API_BASE_URL": telegram_server.url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_STARTTLS": "false",
    }
    receiver = WebhookReceiver().start()
    receiver.slow = 0.05  # several sends in flight when the crash comes
    telegram_server.user_sends(CHAT, "hello")  # the chat exists for the bot
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
            session.add(TelegramLink(user_id=user.id, chat_id=CHAT))
            session.add(EmailAddress(user_id=user.id, address=ADDRESS, verified_at=utcnow()))
            closes = [
                NewEvent(user.id, EventType.POSITION_CLOSED, f"position.closed:{n}", {"market": _market(n)})
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

        second = start_consumer(env, tmp_path / "second.log")  # it runs once at start, then follows claims
        wait_for(
            engine,
            lambda s: (
                s.exec(
                    select(func.count())
                    .select_from(NotificationDelivery)
                    .where(
                        col(NotificationDelivery.channel).in_(SENT),
                        NotificationDelivery.status == "DELIVERED",
                    )
                ).one()
                == len(SENT) * EVENTS
            ),
            "every webhook, Telegram message and email delivered after the restart",
            deadline_s=120,
        )
        assert second.poll() is None

        with Session(engine) as session:
            deliveries = session.exec(
                select(NotificationDelivery).order_by(col(NotificationDelivery.id))
            ).all()
            recorded_first = set(
                session.exec(select(DeliveryAttempt.delivery_id).where(DeliveryAttempt.attempt == 1)).all()
            )
            number_of = {  # event id -> n of its "position.closed:<n>"
                event_id: int(key.rsplit(":", 1)[1])
                for event_id, key in session.exec(select(NotificationEvent.id, NotificationEvent.key)).all()
            }
        keys = Counter((d.event_id, d.channel, d.target_id) for d in deliveries)
        assert len(deliveries) == 4 * EVENTS and set(keys.values()) == {1}  # inbox + three channels, once
        assert {d.status for d in deliveries} == {"DELIVERED"}
        assert receiver.rejected == []

        seen = {
            WEBHOOK: Counter(r.webhook_id for r in receiver.received),
            TELEGRAM: Counter(_which(m["text"]) for m in telegram_server.messages_to(CHAT)),
            EMAIL: Counter(_which(m.subject) for m in smtp_server.to(ADDRESS)),
        }
        repeated = 0
        for channel in SENT:
            rows = {
                f"msg_{d.id}" if channel == WEBHOOK else number_of[d.event_id]: d
                for d in deliveries
                if d.channel == channel
            }
            assert set(seen[channel]) == set(rows), channel  # every event reached every channel
            twice = {key for key, n in seen[channel].items() if n > 1}
            assert max(seen[channel].values()) <= 2 and len(twice) <= dispatch.UNRECORDED, channel
            for key in twice:  # repeated only where the first outcome was never recorded
                assert rows[key].id not in recorded_first and rows[key].attempts == 2, channel
            repeated += len(twice)
        assert repeated >= 1  # the send the crash interrupted went out again
    finally:
        for process in (first, second):
            if process is not None:
                stop_consumer(process)
        receiver.stop()
        engine.dispose()
