"""Webhooks end to end on SQLite and PostgreSQL: events go through the real consumer (`dispatch.run_once`) and
the `WebhookSender` to a local receiver that verifies each request with `standardwebhooks`. Signatures, the
body, retries (500 then 200), disabling after repeated failures, 410, the URL guard at creation and at send
time, fan-out by subscription, test sends, redelivery, and the secret never stored or logged in clear."""

from __future__ import annotations

import ipaddress
import logging
import socket
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.models import AuditLog, NotificationDelivery, NotificationEvent, WebhookEndpoint
from backend.models.common import utcnow
from backend.models.enums import DeliveryStatus, NotificationChannel, Role
from backend.notify import dispatch
from backend.notify.events import EventType, emit
from backend.notify.webhooks import endpoints, urls
from backend.notify.webhooks.endpoints import WebhookError, WebhookNotFound
from backend.notify.webhooks.secrets import SecretCipher, new_secret
from backend.notify.webhooks.sender import WebhookSender, sign
from tests import webhook_receiver as receiver_module
from tests.wallets import TEST_SECRET_KEY
from tests.webhook_receiver import WebhookReceiver

webhook_receiver = receiver_module.webhook_receiver  # the fixture
WEBHOOK = NotificationChannel.WEBHOOK
DEV = Settings(
    env="dev", maxxit_secret_key=TEST_SECRET_KEY, webhook_timeout_seconds=2, webhook_disable_after_failures=3
)
PROD = DEV.model_copy(update={"env": "prod", "public_url": "https://maxxit.example"})
CIPHER = SecretCipher.from_settings(DEV)
PAYLOAD = {
    "position_id": 9,
    "market": "BTC",
    "side": "LONG",
    "realized_pnl": "12.50",
    "reason": "TAKE_PROFIT",
}


def _user(factory) -> CurrentUser:
    row = factory.user()
    return CurrentUser(row.id, row.address, Role.TRADER)


def _endpoint(session, user, receiver: WebhookReceiver, events=("position.closed",)) -> int:
    created = endpoints.create_endpoint(session, user, receiver.url, list(events), "mine", DEV, CIPHER)
    receiver.secret = created.secret
    return created.endpoint.id


def _emit(session: Session, user_id: int, key: str, type_: EventType = EventType.POSITION_CLOSED) -> None:
    emit(session, user_id=user_id, type=type_, key=key, payload=PAYLOAD)
    session.commit()


def _run(engine, at, settings: Settings = DEV) -> dispatch.DispatchReport:
    return dispatch.run_once(engine, {WEBHOOK: WebhookSender(settings)}, now=at, claim_seconds=60)


def _webhook_deliveries(session: Session) -> list[NotificationDelivery]:
    session.expire_all()
    query = select(NotificationDelivery).where(NotificationDelivery.channel == WEBHOOK)
    return list(session.exec(query.order_by(col(NotificationDelivery.id))))


def test_a_delivery_is_signed_and_a_wrong_secret_fails(engine, session, factory, webhook_receiver):
    user = _user(factory)
    _endpoint(session, user, webhook_receiver)
    _emit(session, user.id, "position.closed:9")

    _run(engine, utcnow())

    [got] = webhook_receiver.wait_for(1)
    [delivery] = _webhook_deliveries(session)
    event = session.exec(select(NotificationEvent)).one()
    assert got.webhook_id == f"msg_{delivery.id}"
    assert got.type == "position.closed" and got.path == "/hook"
    assert got.body["timestamp"] == event.created_at.isoformat()
    assert got.body["data"] == {**PAYLOAD, "event_id": event.id, "key": "position.closed:9"}
    assert got.headers["webhook-signature"].startswith("v1,") and got.headers["webhook-timestamp"].isdigit()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.response_code == 200

    webhook_receiver.secret = new_secret()  # the receiver holds another secret: verification fails
    _emit(session, user.id, "position.closed:10")
    _run(engine, utcnow())

    [rejected] = webhook_receiver.wait_for(1, rejected=True)
    assert "signature" in rejected.reason.lower()
    assert len(webhook_receiver.received) == 1
    second = _webhook_deliveries(session)[1]
    assert (second.status, second.response_code) == (DeliveryStatus.FAILED, 401)


def test_500_then_200_arrives_twice_at_most_and_logs_both(engine, session, factory, webhook_receiver):
    user = _user(factory)
    endpoint_id = _endpoint(session, user, webhook_receiver)
    webhook_receiver.script(500)
    _emit(session, user.id, "position.closed:9")
    t0 = utcnow()

    _run(engine, t0)
    [delivery] = _webhook_deliveries(session)
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED, t0 + timedelta(seconds=5))
    _run(engine, t0 + timedelta(seconds=4))  # not due yet
    assert webhook_receiver.requests == 1
    _run(engine, t0 + timedelta(seconds=6))
    _run(engine, t0 + timedelta(days=2))  # delivered: never again

    received = webhook_receiver.wait_for(2)
    assert [r.status for r in received] == [500, 200]
    assert len({r.webhook_id for r in received}) == 1  # the same id: a receiver can drop the repeat
    assert webhook_receiver.requests == 2
    log = endpoints.delivery_log(session, user.id, endpoint_id)
    assert [(a.attempt, a.ok, a.response_code, a.status) for a in log] == [
        (2, True, 200, "DELIVERED"),
        (1, False, 500, "DELIVERED"),
    ]
    assert all(a.latency_ms is not None and a.latency_ms >= 0 for a in log)
    assert log[1].error.startswith("HTTP 500")
    assert session.get(WebhookEndpoint, endpoint_id).consecutive_failures == 0


def test_repeated_failures_turn_it_off_and_tell_the_user(engine, session, factory, webhook_receiver):
    user = _user(factory)
    endpoint_id = _endpoint(session, user, webhook_receiver)
    webhook_receiver.default_status = 503
    _emit(session, user.id, "position.closed:9")
    t0 = utcnow()

    for step in (timedelta(0), timedelta(seconds=6), timedelta(minutes=6)):  # 3 = the setting's limit
        _run(engine, t0 + step)

    session.expire_all()
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    assert (endpoint.enabled, endpoint.consecutive_failures) == (False, 3)
    assert (
        "3 deliveries in a row failed" in endpoint.disabled_reason and "HTTP 503" in endpoint.disabled_reason
    )
    told = session.exec(select(NotificationEvent).where(NotificationEvent.type == "webhook.disabled")).one()
    assert told.user_id == user.id
    assert told.payload["endpoint_id"] == endpoint_id and told.payload["failures"] == 3
    audit = session.exec(select(AuditLog).where(AuditLog.action == "webhook.disabled")).one()
    assert audit.entity_id == str(endpoint_id)
    # Off: the remaining retries and new events go nowhere; the notice reaches the inbox, not the webhook.
    _emit(session, user.id, "position.closed:10")
    _run(engine, t0 + timedelta(days=2))
    assert webhook_receiver.requests == 3
    inbox = session.exec(
        select(NotificationDelivery).where(
            NotificationDelivery.event_id == told.id,
            NotificationDelivery.channel == NotificationChannel.IN_APP,
        )
    ).one()
    assert inbox.status == DeliveryStatus.DELIVERED
    assert [d.status for d in _webhook_deliveries(session)] == [DeliveryStatus.SKIPPED]

    # Turned on again by its owner: the count starts over and deliveries flow.
    out = endpoints.update_endpoint(session, user, endpoint_id, enabled=True, settings=DEV)
    assert (out.enabled, out.disabled_reason) == (True, None)
    assert session.get(WebhookEndpoint, endpoint_id).consecutive_failures == 0
    webhook_receiver.default_status = 200
    _emit(session, user.id, "position.closed:11")
    _run(engine, t0 + timedelta(days=3))
    assert webhook_receiver.wait_for(4)[-1].body["data"]["key"] == "position.closed:11"


def test_a_success_resets_the_count_and_410_is_final(engine, session, factory, webhook_receiver):
    user = _user(factory)
    endpoint_id = _endpoint(session, user, webhook_receiver)
    webhook_receiver.script(500, 500, 200)
    _emit(session, user.id, "position.closed:9")
    t0 = utcnow()
    _run(engine, t0)
    _run(engine, t0 + timedelta(seconds=6))
    session.expire_all()
    assert session.get(WebhookEndpoint, endpoint_id).consecutive_failures == 2
    _run(engine, t0 + timedelta(minutes=6))
    session.expire_all()
    assert session.get(WebhookEndpoint, endpoint_id).consecutive_failures == 0

    webhook_receiver.script(410)
    _emit(session, user.id, "position.closed:10")
    _run(engine, t0 + timedelta(hours=1))
    session.expire_all()
    assert _webhook_deliveries(session)[-1].status == DeliveryStatus.DEAD
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    assert not endpoint.enabled and "410" in endpoint.disabled_reason


def test_fan_out_follows_each_endpoints_subscription(engine, session, factory, webhook_receiver):
    user, other = _user(factory), _user(factory)
    everything = _endpoint(session, user, webhook_receiver, events=())
    closes = endpoints.create_endpoint(
        session, user, webhook_receiver.url, ["position.closed"], "", DEV, CIPHER
    )
    opens = endpoints.create_endpoint(
        session, user, webhook_receiver.url, ["position.opened"], "", DEV, CIPHER
    )
    gone = endpoints.create_endpoint(session, user, webhook_receiver.url, [], "", DEV, CIPHER)
    endpoints.delete_endpoint(session, user, gone.endpoint.id)
    off = endpoints.create_endpoint(session, user, webhook_receiver.url, [], "", DEV, CIPHER)
    endpoints.update_endpoint(session, user, off.endpoint.id, enabled=False, settings=DEV)
    endpoints.create_endpoint(session, other, webhook_receiver.url, [], "", DEV, CIPHER)

    sender = WebhookSender(DEV)
    assert sender.targets(session, user.id, "position.closed") == [everything, closes.endpoint.id]
    assert sender.targets(session, user.id, "position.opened") == [opens.endpoint.id]  # off by default
    assert sender.targets(session, user.id, "webhook.test") == []
    assert [e.id for e in endpoints.list_endpoints(session, user.id)] == [
        everything,
        closes.endpoint.id,
        opens.endpoint.id,
        off.endpoint.id,
    ]


def test_an_endpoint_naming_no_events_gets_the_defaults_and_opens_only_by_name(
    engine, session, factory, webhook_receiver
):
    user = _user(factory)
    defaults = endpoints.create_endpoint(session, user, webhook_receiver.url, None, "", DEV, CIPHER)
    assert defaults.endpoint.events == list(endpoints.DEFAULT_EVENTS)
    assert "position.opened" not in defaults.endpoint.events
    assert {"position.closed", "position.needs_attention"} <= set(defaults.endpoint.events)
    webhook_receiver.secret = defaults.secret
    _emit(session, user.id, "position.opened:9", EventType.POSITION_OPENED)
    _emit(session, user.id, "position.closed:9")
    _run(engine, utcnow())
    assert [d.type for d in webhook_receiver.wait_for(1)] == ["position.closed"]

    updated = endpoints.update_endpoint(
        session, user, defaults.endpoint.id, events=["position.opened"], settings=DEV
    )
    assert updated.events == ["position.opened"]
    _emit(session, user.id, "position.opened:10", EventType.POSITION_OPENED)
    _run(engine, utcnow())
    assert [d.type for d in webhook_receiver.wait_for(2)] == ["position.closed", "position.opened"]
    back = endpoints.update_endpoint(session, user, defaults.endpoint.id, events=[], settings=DEV)
    assert back.events == list(endpoints.DEFAULT_EVENTS)
    # A row saved before the defaults were stored (an empty list) means the defaults too.
    session.execute(sa.update(WebhookEndpoint).values(events=[]))
    session.commit()
    assert WebhookSender(DEV).targets(session, user.id, "position.opened") == []
    assert WebhookSender(DEV).targets(session, user.id, "position.closed") == [defaults.endpoint.id]


def test_the_url_guard_in_prod_at_creation_and_at_send_time(engine, session, factory, webhook_receiver):
    user = _user(factory)
    for url in (
        "http://93.184.216.34/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://localhost/hook",
    ):
        with pytest.raises(WebhookError) as refused:
            endpoints.create_endpoint(session, user, url, [], "", PROD, CIPHER)
        assert refused.value.field == "url"
    assert endpoints.list_endpoints(session, user.id) == []

    # Saved while the address was acceptable (here: dev); the prod sender checks again and sends nothing.
    endpoint_id = _endpoint(session, user, webhook_receiver)
    _emit(session, user.id, "position.closed:9")
    _run(engine, utcnow(), PROD)
    [delivery] = _webhook_deliveries(session)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.startswith("refused to send: only https")
    assert webhook_receiver.requests == 0
    with pytest.raises(WebhookError):
        endpoints.update_endpoint(session, user, endpoint_id, url="https://127.0.0.1:1/x", settings=PROD)


def test_test_send_and_redeliver_go_to_that_endpoint_only(engine, session, factory, webhook_receiver):
    user, stranger = _user(factory), _user(factory)
    endpoint_id = _endpoint(session, user, webhook_receiver, events=())
    other = endpoints.create_endpoint(session, user, webhook_receiver.url, [], "", DEV, CIPHER)

    delivery_id = endpoints.send_test(session, user, endpoint_id)
    _run(engine, utcnow())
    [got] = webhook_receiver.wait_for(1)
    assert got.type == "webhook.test" and got.body["data"]["endpoint_id"] == endpoint_id
    assert [d.endpoint_id for d in _webhook_deliveries(session)] == [endpoint_id]
    assert endpoints.delivery_log(session, user.id, other.endpoint.id) == []

    with pytest.raises(WebhookNotFound):
        endpoints.redeliver(session, stranger, delivery_id)
    with pytest.raises(WebhookNotFound):
        endpoints.redeliver(session, user, delivery_id, endpoint_id=other.endpoint.id)
    assert endpoints.redeliver(session, user, delivery_id) == delivery_id
    pending = endpoints.delivery_log(session, user.id, endpoint_id)
    assert [(a.attempt, a.status) for a in pending] == [(1, "PENDING")]
    _run(engine, utcnow())
    again = webhook_receiver.wait_for(2)
    assert again[1].webhook_id == again[0].webhook_id == f"msg_{delivery_id}"
    log = endpoints.delivery_log(session, user.id, endpoint_id)
    assert [(a.attempt, a.ok, a.status) for a in log] == [(2, True, "DELIVERED"), (1, True, "DELIVERED")]
    assert session.exec(select(AuditLog).where(AuditLog.action == "webhook.redelivered")).one()


def test_validation_limits_and_ownership(session, factory, webhook_receiver):
    user, stranger = _user(factory), _user(factory)
    with pytest.raises(WebhookError) as bad:
        endpoints.create_endpoint(session, user, webhook_receiver.url, ["position.nope"], "", DEV, CIPHER)
    assert bad.value.field == "events"
    with pytest.raises(WebhookError) as bad:
        endpoints.create_endpoint(session, user, webhook_receiver.url, ["webhook.test"], "", DEV, CIPHER)
    assert bad.value.field == "events"
    with pytest.raises(WebhookError) as bad:
        endpoints.create_endpoint(session, user, webhook_receiver.url, [], "x" * 201, DEV, CIPHER)
    assert bad.value.field == "description"
    for _ in range(endpoints.MAX_ENDPOINTS):
        created = endpoints.create_endpoint(session, user, webhook_receiver.url, [], "", DEV, CIPHER)
    with pytest.raises(WebhookError) as bad:
        endpoints.create_endpoint(session, user, webhook_receiver.url, [], "", DEV, CIPHER)
    assert bad.value.field == "url"
    endpoint_id = created.endpoint.id
    for call in (
        lambda: endpoints.get_endpoint(session, stranger.id, endpoint_id),
        lambda: endpoints.update_endpoint(session, stranger, endpoint_id, description="x", settings=DEV),
        lambda: endpoints.delete_endpoint(session, stranger, endpoint_id),
        lambda: endpoints.rotate_secret(session, stranger, endpoint_id, CIPHER),
        lambda: endpoints.send_test(session, stranger, endpoint_id),
        lambda: endpoints.delivery_log(session, stranger.id, endpoint_id),
    ):
        with pytest.raises(WebhookNotFound):
            call()
    actions = session.exec(select(AuditLog.action).where(AuditLog.entity_type == "webhook_endpoint")).all()
    assert set(actions) == {"webhook.created"}


def test_the_secret_is_stored_encrypted_and_never_logged(engine, session, factory, webhook_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    user = _user(factory)
    created = endpoints.create_endpoint(session, user, webhook_receiver.url, [], "", DEV, CIPHER)
    endpoint_id = created.endpoint.id
    rotated = endpoints.rotate_secret(session, user, endpoint_id, CIPHER)
    webhook_receiver.secret = rotated
    _emit(session, user.id, "position.closed:9")
    _run(engine, utcnow())
    webhook_receiver.wait_for(1)

    with engine.connect() as conn:
        raw = conn.execute(
            sa.text("SELECT secret_encrypted FROM webhook_endpoints WHERE id = :id"), {"id": endpoint_id}
        ).scalar_one()
    for secret in (created.secret, rotated):
        assert secret not in caplog.text and secret.removeprefix("whsec_") not in caplog.text
        assert secret.encode() not in bytes(raw) and secret.removeprefix("whsec_").encode() not in bytes(raw)
        assert secret not in repr(created)
    assert CIPHER.decrypt(endpoint_id, bytes(raw)) == rotated
    audits = session.exec(select(AuditLog.details).where(AuditLog.entity_type == "webhook_endpoint")).all()
    assert rotated not in str(audits) and created.secret not in str(audits)


def test_a_slow_receiver_times_out_and_is_retried(engine, session, factory, webhook_receiver):
    user = _user(factory)
    endpoint_id = _endpoint(session, user, webhook_receiver)
    webhook_receiver.slow = 3.0  # longer than the settings' 2 s
    _emit(session, user.id, "position.closed:9")

    _run(engine, utcnow())

    [attempt] = endpoints.delivery_log(session, user.id, endpoint_id)
    assert (attempt.ok, attempt.response_code, attempt.error) == (False, None, "no answer within 2 s")
    assert 2000 <= attempt.latency_ms < 3000
    assert attempt.status == "FAILED"


def test_a_pinned_request_goes_to_the_checked_address_with_the_name_as_host(webhook_receiver):
    """What prod does after its check: connect to the address, keep the URL's name in Host (and SNI)."""
    secret = webhook_receiver.secret = new_secret()
    named = httpx.URL(f"http://hooks.example.com:{webhook_receiver.port}/hook")
    pinned = urls.pinned_to(named, ipaddress.ip_address("127.0.0.1"))
    body = '{"type":"webhook.test","timestamp":"2026-12-06T00:00:00+00:00","data":{}}'

    result = WebhookSender(DEV).post(pinned, body, sign(secret, "msg_1", body, utcnow()))

    assert result.ok
    [got] = webhook_receiver.wait_for(1)
    assert got.headers["host"] == f"hooks.example.com:{webhook_receiver.port}"


class RebindingResolver:
    """`socket.getaddrinfo` for one name whose answers change (an attacker's DNS with a zero TTL): each
    lookup of `NAME` takes the next answer; a connection to `PUBLIC` is refused before any packet leaves.
    Every other name goes to the real resolver. `calls` records the hosts asked, in order."""

    NAME = "hooks.rebind.example"
    PUBLIC = "93.184.216.34"

    def __init__(self, real, *answers: str) -> None:
        self.real, self.answers, self.calls = real, list(answers), []

    def __call__(self, host, port, *args, **kwargs):
        if host in (self.NAME, self.PUBLIC):
            self.calls.append(host)
        if host == self.PUBLIC:
            raise OSError("test: no route to the public address")
        if host != self.NAME:
            return self.real(host, port, *args, **kwargs)
        address = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 443))]


def _rebinding_endpoint(session, user, monkeypatch, receiver: WebhookReceiver) -> tuple[int, str]:
    """An endpoint saved in prod while its name resolved to a public address."""
    resolver = RebindingResolver(socket.getaddrinfo, RebindingResolver.PUBLIC)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    url = f"https://{RebindingResolver.NAME}:{receiver.port}/hook"
    created = endpoints.create_endpoint(session, user, url, ["position.closed"], "", PROD, CIPHER)
    assert resolver.calls == [RebindingResolver.NAME]
    receiver.secret = created.secret
    return created.endpoint.id, url


def test_a_name_that_turns_private_after_saving_is_refused_at_send_time(
    engine, session, factory, webhook_receiver, monkeypatch, caplog
):
    user = _user(factory)
    endpoint_id, url = _rebinding_endpoint(session, user, monkeypatch, webhook_receiver)
    resolver = RebindingResolver(socket.getaddrinfo, "127.0.0.1")  # where the receiver really listens
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    _emit(session, user.id, "position.closed:9")
    caplog.set_level(logging.WARNING, logger="backend.notify.webhooks.sender")

    _run(engine, utcnow(), PROD)

    [delivery] = _webhook_deliveries(session)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "refused to send: the URL must point to a public address " + (
        "(not loopback, private or link-local)"
    )
    assert webhook_receiver.requests == 0
    assert resolver.calls == [RebindingResolver.NAME]  # looked up once, and nothing connected to
    [logged] = [r for r in caplog.records if r.name == "backend.notify.webhooks.sender"]
    assert logged.getMessage() == (
        f"webhook endpoint {endpoint_id}: refused to send delivery {delivery.id}: the URL must point to a "
        "public address (not loopback, private or link-local)"
    )
    assert url not in caplog.text


def test_a_delivery_connects_to_the_address_it_checked_without_a_second_lookup(
    engine, session, factory, webhook_receiver, monkeypatch
):
    """The name answers public to the check and private to any later lookup: a sender that looked the name
    up again to connect would reach the receiver on 127.0.0.1. It connects to the checked address instead."""
    user = _user(factory)
    _rebinding_endpoint(session, user, monkeypatch, webhook_receiver)
    resolver = RebindingResolver(socket.getaddrinfo, RebindingResolver.PUBLIC, "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    _emit(session, user.id, "position.closed:9")

    _run(engine, utcnow(), PROD)

    # The name once (the check), then the checked address itself, as the socket's connect resolves a literal.
    assert resolver.calls == [RebindingResolver.NAME, RebindingResolver.PUBLIC]
    assert webhook_receiver.requests == 0
    [delivery] = _webhook_deliveries(session)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.startswith("ConnectError: test: no route to the public address")


def test_after_a_rotation_both_secrets_verify_for_the_grace_then_only_the_new(
    engine, session, factory, webhook_receiver
):
    """Receivers verify with `standardwebhooks`, which accepts any of the space-separated signatures."""
    user = _user(factory)
    endpoint_id = _endpoint(session, user, webhook_receiver)
    old = webhook_receiver.secret
    new = endpoints.rotate_secret(session, user, endpoint_id, CIPHER, settings=DEV)
    row = session.get(WebhookEndpoint, endpoint_id)
    assert old.encode() not in bytes(row.previous_secret_encrypted)
    assert CIPHER.decrypt(endpoint_id, row.previous_secret_encrypted) == old
    assert row.previous_secret_until > utcnow() + timedelta(hours=23)

    for n, secret in enumerate((old, new), start=1):  # a receiver still on the old secret, then one switched
        webhook_receiver.secret = secret
        _emit(session, user.id, f"position.closed:{n}")
        _run(engine, utcnow())
        got = webhook_receiver.wait_for(n)
        assert len(got[-1].headers["webhook-signature"].split(" ")) == 2
    assert webhook_receiver.rejected == []

    session.execute(sa.update(WebhookEndpoint).values(previous_secret_until=utcnow() - timedelta(seconds=1)))
    session.commit()  # the grace is over
    webhook_receiver.secret = old
    _emit(session, user.id, "position.closed:3")
    _run(engine, utcnow())
    webhook_receiver.wait_for(1, rejected=True)
    webhook_receiver.secret = new
    _emit(session, user.id, "position.closed:4")
    _run(engine, utcnow())
    got = webhook_receiver.wait_for(3)
    assert [d.body["data"]["key"] for d in got] == [
        "position.closed:1",
        "position.closed:2",
        "position.closed:4",
    ]
    assert " " not in got[-1].headers["webhook-signature"]


def test_a_rotation_without_grace_stops_the_old_secret_at_once(engine, session, factory, webhook_receiver):
    user = _user(factory)
    endpoint_id = _endpoint(session, user, webhook_receiver)
    no_grace = DEV.model_copy(update={"webhook_secret_rotation_grace_hours": 0})
    endpoints.rotate_secret(session, user, endpoint_id, CIPHER, settings=no_grace)
    row = session.get(WebhookEndpoint, endpoint_id)
    assert (row.previous_secret_encrypted, row.previous_secret_until) == (None, None)
    _emit(session, user.id, "position.closed:1")
    _run(engine, utcnow())
    webhook_receiver.wait_for(1, rejected=True)
    assert webhook_receiver.received == []
