"""Webhooks over HTTP on SQLite and PostgreSQL: 401 signed out first, 422 on the field, the secret answered
once (201) and never listed, rotation changing what verifies, a test send and a redelivery reaching
a verifying receiver through the real consumer, and another user's endpoint or delivery answering 404."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from backend.api import create_api
from backend.auth.sessions import create_session
from backend.config import Settings
from backend.models import AuditLog, NotificationDelivery, User
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel
from backend.notify import dispatch
from backend.notify.webhooks.endpoints import DEFAULT_EVENTS
from backend.notify.webhooks.sender import WebhookSender
from tests import webhook_receiver as receiver_module

webhook_receiver = receiver_module.webhook_receiver  # the fixture
Headers = dict[str, str]
BASE = "/api/v1/webhooks"


@pytest.fixture
def signed_in(session: Session, api_settings: Settings) -> Callable[[User], Headers]:
    def headers(user: User) -> Headers:
        return {"Authorization": f"Bearer {create_session(session, user.id, settings=api_settings).token}"}

    return headers


@pytest.fixture
def deliver(engine, api_settings: Settings) -> Callable[[], dispatch.DispatchReport]:
    """One pass of the real consumer with the webhook sender built from the API's settings."""
    senders = {NotificationChannel.WEBHOOK: WebhookSender(api_settings)}
    return lambda: dispatch.run_once(engine, senders, now=utcnow(), claim_seconds=60)


def _paths(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        for r in getattr(getattr(route, "original_router", None), "routes", [route]):
            if isinstance(r, APIRoute) and r.path.startswith(BASE):
                found += [(m, re.sub(r"\{[^}]+\}", "1", r.path)) for m in sorted(r.methods)]
    return found


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["detail"]]


def test_every_path_is_401_signed_out_before_anything_else(client, app):
    paths = _paths(app)
    assert len(paths) == 9
    answers = {
        (method, path): client.request(
            method, path, content=b'{"url": 1', headers={"Content-Type": "application/json"}
        ).status_code
        for method, path in paths
    }
    assert {k: v for k, v in answers.items() if v != 401} == {}


def test_bad_input_is_422_on_the_field_and_changes_nothing(client, factory, signed_in, session):
    me = signed_in(factory.user())
    cases = {
        "url": [{"url": "ftp://x.example/"}, {"url": "http://u:p@127.0.0.1/"}, {"url": ""}, {"events": []}],
        "events": [
            {"url": "http://127.0.0.1:9/", "events": ["position.nope"]},
            {"url": "http://127.0.0.1:9/", "events": "position.closed"},
        ],
        "description": [{"url": "http://127.0.0.1:9/", "description": "x" * 201}],
        "extra": [{"url": "http://127.0.0.1:9/", "extra": 1}],
    }
    for field, bodies in cases.items():
        for body in bodies:
            assert field in _fields(client.post(BASE, json=body, headers=me)), body
    assert client.get(BASE, headers=me).json() == []
    assert _fields(client.get(f"{BASE}/0", headers=me)) == ["endpoint_id"]
    assert _fields(client.get(f"{BASE}/1/deliveries?limit=0", headers=me)) == ["limit"]


def test_create_answers_the_secret_once_and_lists_without_it(client, factory, signed_in, webhook_receiver):
    me = signed_in(factory.user())
    body = {"url": webhook_receiver.url, "events": ["position.closed"], "description": " my  bot "}
    created = client.post(BASE, json=body, headers=me)
    assert created.status_code == 201, created.text
    out = created.json()
    assert set(out) == {
        "id",
        "url",
        "events",
        "description",
        "enabled",
        "disabled_reason",
        "created_at",
        "secret",
    }
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", out["secret"])
    assert (out["url"], out["events"], out["description"], out["enabled"]) == (
        webhook_receiver.url,
        ["position.closed"],
        "my bot",
        True,
    )
    listed = client.get(BASE, headers=me).json()
    assert [e["id"] for e in listed] == [out["id"]] and "secret" not in listed[0]
    one = client.get(f"{BASE}/{out['id']}", headers=me).json()
    assert "secret" not in one and out["secret"] not in str(one)

    patched = client.patch(f"{BASE}/{out['id']}", json={"events": [], "enabled": False}, headers=me).json()
    assert (patched["events"], patched["enabled"], patched["disabled_reason"]) == (
        list(DEFAULT_EVENTS),
        False,
        "turned off by you",
    )
    assert client.patch(f"{BASE}/{out['id']}", json={"enabled": True}, headers=me).json()["enabled"] is True
    assert _fields(client.patch(f"{BASE}/{out['id']}", json={"url": "gopher://x/"}, headers=me)) == ["url"]

    assert client.delete(f"{BASE}/{out['id']}", headers=me).status_code == 204
    assert client.get(f"{BASE}/{out['id']}", headers=me).status_code == 404
    assert client.get(BASE, headers=me).json() == []
    assert client.get(f"{BASE}/{out['id']}/deliveries", headers=me).json() == []  # the log outlives it


def test_rotate_test_send_log_and_redeliver(client, factory, signed_in, webhook_receiver, deliver, session):
    me = signed_in(factory.user())
    created = client.post(BASE, json={"url": webhook_receiver.url}, headers=me).json()
    endpoint = f"{BASE}/{created['id']}"
    webhook_receiver.secret = created["secret"]

    rotated = client.post(f"{endpoint}/rotate-secret", headers=me)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != created["secret"]

    sent = client.post(f"{endpoint}/test", headers=me)
    assert sent.status_code == 202
    delivery_id = sent.json()["delivery_id"]
    pending = client.get(f"{endpoint}/deliveries", headers=me).json()
    assert [(r["delivery_id"], r["attempt"], r["status"]) for r in pending] == [(delivery_id, 0, "PENDING")]
    deliver()
    [first] = webhook_receiver.wait_for(1)  # the old secret still verifies during the rotation's grace
    assert len(first.headers["webhook-signature"].split(" ")) == 2

    webhook_receiver.secret = new_secret
    again = client.post(f"{endpoint}/deliveries/{delivery_id}/redeliver", headers=me)
    assert again.status_code == 202 and again.json() == {"delivery_id": delivery_id}
    deliver()
    got = webhook_receiver.wait_for(2)[-1]
    assert got.type == "webhook.test" and got.webhook_id == f"msg_{delivery_id}"
    assert webhook_receiver.rejected == []

    log = client.get(f"{endpoint}/deliveries", headers=me).json()
    assert [(r["attempt"], r["ok"], r["response_code"], r["status"]) for r in log] == [
        (2, True, 200, "DELIVERED"),
        (1, True, 200, "DELIVERED"),
    ]
    assert log[0]["event_type"] == "webhook.test" and isinstance(log[0]["latency_ms"], int)
    actions = session.exec(
        select(AuditLog.action, func.count())
        .where(AuditLog.entity_type == "webhook_endpoint")
        .group_by(AuditLog.action)
    ).all()
    assert dict(actions) == {
        "webhook.created": 1,
        "webhook.secret_rotated": 1,
        "webhook.test_sent": 1,
        "webhook.redelivered": 1,
    }


def test_another_users_endpoint_and_delivery_are_404(client, factory, signed_in, webhook_receiver):
    owner, stranger = signed_in(factory.user()), signed_in(factory.user())
    created = client.post(BASE, json={"url": webhook_receiver.url}, headers=owner).json()
    endpoint = f"{BASE}/{created['id']}"
    delivery_id = client.post(f"{endpoint}/test", headers=owner).json()["delivery_id"]
    mine = client.post(BASE, json={"url": webhook_receiver.url}, headers=stranger).json()

    answers = [
        client.get(endpoint, headers=stranger),
        client.patch(endpoint, json={"description": "mine now"}, headers=stranger),
        client.delete(endpoint, headers=stranger),
        client.post(f"{endpoint}/rotate-secret", headers=stranger),
        client.post(f"{endpoint}/test", headers=stranger),
        client.get(f"{endpoint}/deliveries", headers=stranger),
        client.post(f"{endpoint}/deliveries/{delivery_id}/redeliver", headers=stranger),
        client.post(f"{BASE}/{mine['id']}/deliveries/{delivery_id}/redeliver", headers=stranger),
        client.get(f"{BASE}/999999", headers=owner),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert client.get(endpoint, headers=owner).json()["description"] == ""
    assert [e["id"] for e in client.get(BASE, headers=stranger).json()] == [mine["id"]]


def test_tests_and_redeliveries_share_a_per_user_hourly_quota(
    engine, api_settings, factory, session, webhook_receiver
):
    """Ten endpoints on one URL cannot multiply what it receives: the quota is the user's, 429 beyond it."""
    settings = api_settings.model_copy(update={"webhook_manual_sends_per_hour": 3})
    with TestClient(create_api(engine=engine, settings=settings)) as client:
        user, other = factory.user(), factory.user()
        me, them = (
            {"Authorization": f"Bearer {create_session(session, u.id, settings=settings).token}"}
            for u in (user, other)
        )
        first, second = (
            client.post(BASE, json={"url": webhook_receiver.url}, headers=me).json() for _ in "ab"
        )
        delivery_id = client.post(f"{BASE}/{first['id']}/test", headers=me).json()["delivery_id"]
        assert client.post(f"{BASE}/{second['id']}/test", headers=me).status_code == 202
        redelivered = client.post(f"{BASE}/{first['id']}/deliveries/{delivery_id}/redeliver", headers=me)
        assert redelivered.status_code == 202
        audits = session.exec(select(func.count()).select_from(AuditLog)).one()

        for path in (
            f"{first['id']}/test",
            f"{second['id']}/test",
            f"{first['id']}/deliveries/{delivery_id}/redeliver",
        ):
            refused = client.post(f"{BASE}/{path}", headers=me)
            assert refused.status_code == 429, refused.text
            assert 0 < int(refused.headers["Retry-After"]) <= 3601
            assert "at most 3 test sends and redeliveries an hour" in refused.json()["detail"]
        session.expire_all()
        assert session.exec(select(func.count()).select_from(AuditLog)).one() == audits
        assert session.exec(select(func.count()).select_from(NotificationDelivery)).one() == 2
        # An unknown endpoint is still 404 (looked up before the quota), and another user has their own quota.
        assert client.post(f"{BASE}/999999/test", headers=me).status_code == 404
        mine = client.post(BASE, json={"url": webhook_receiver.url}, headers=them).json()
        assert client.post(f"{BASE}/{mine['id']}/test", headers=them).status_code == 202
