"""The consumer with a real channel: the webhook sender posting to a local receiver that verifies each
request with `standardwebhooks`. A failed attempt is retried on the webhook schedule with the same
`webhook-id`; a delivered one is never sent again; a deleted endpoint's delivery is skipped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.models import DeliveryAttempt, NotificationDelivery
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel, Role
from backend.notify import dispatch
from backend.notify.channels import WEBHOOK_RETRIES
from backend.notify.events import EventType, emit
from backend.notify.senders import build_senders
from backend.notify.webhooks import endpoints
from tests.wallets import TEST_SECRET_KEY
from tests.webhook_receiver import WebhookReceiver

T0 = utcnow().replace(microsecond=0)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver().start()
    yield running
    running.stop()


@pytest.fixture
def settings(engine) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        maxxit_secret_key=TEST_SECRET_KEY,
        webhook_timeout_seconds=5,
    )


def test_webhook_deliveries_are_signed_retried_with_the_same_id_and_sent_once(
    engine, session: Session, factory, receiver, settings
):
    row = factory.user()
    user = CurrentUser(row.id, row.address, Role.TRADER)
    created = endpoints.create_endpoint(session, user, receiver.url, ["position.closed"], "bot", settings)
    receiver.secret = created.secret
    emit(
        session, user_id=user.id, type=EventType.POSITION_CLOSED, key="position.closed:9", payload={"x": "1"}
    )
    emit(session, user_id=user.id, type=EventType.DEPLOYMENT_PAUSED, key="deployment.paused:1")  # not wanted
    session.commit()
    senders = build_senders(settings, cipher=None)
    assert set(senders) == {NotificationChannel.WEBHOOK}  # no Telegram token, no SMTP host
    receiver.script(500)

    first = dispatch.run_once(engine, senders, now=T0, claim_seconds=60)
    assert (first.fanned_out, first.failed) == (2, 1)
    again = dispatch.run_once(engine, senders, now=T0 + WEBHOOK_RETRIES[0], claim_seconds=60)
    assert again.sent == 1
    later = dispatch.run_once(engine, senders, now=T0 + timedelta(days=2), claim_seconds=60)
    assert later.sent == later.failed == 0

    got = receiver.wait_for(2)
    (delivery,) = session.exec(
        select(NotificationDelivery).where(NotificationDelivery.channel == NotificationChannel.WEBHOOK)
    ).all()
    assert [(r.webhook_id, r.type, r.status) for r in got] == [
        (f"msg_{delivery.id}", "position.closed", 500),
        (f"msg_{delivery.id}", "position.closed", 200),
    ]
    assert got[1].body["data"]["key"] == "position.closed:9" and receiver.rejected == []
    assert (delivery.status, delivery.attempts, delivery.endpoint_id) == ("DELIVERED", 2, created.endpoint.id)
    attempts = session.exec(
        select(DeliveryAttempt.attempt, DeliveryAttempt.ok, DeliveryAttempt.response_code).order_by(
            col(DeliveryAttempt.attempt)
        )
    ).all()
    assert attempts == [(1, False, 500), (2, True, 200)]


def test_a_deleted_endpoints_delivery_is_skipped(engine, session: Session, factory, receiver, settings):
    row = factory.user()
    user = CurrentUser(row.id, row.address, Role.TRADER)
    created = endpoints.create_endpoint(session, user, receiver.url, [], "", settings)
    emit(session, user_id=user.id, type=EventType.POSITION_CLOSED, key="position.closed:1")
    session.commit()
    senders = build_senders(settings, cipher=None)
    dispatch.fan_out(engine, senders, now=T0)
    endpoints.delete_endpoint(session, user, created.endpoint.id)

    report = dispatch.run_once(engine, senders, now=T0, claim_seconds=60)

    assert report.skipped == 1 and receiver.requests == 0
