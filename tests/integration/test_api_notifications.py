"""The inbox and preferences over HTTP and as services, on SQLite and PostgreSQL: pages newest first with
an unread filter, marking read (another user's ids untouched), the preference matrix; 401 signed out
(before any body is judged), 422 on the field for bad input."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session

from backend.auth.sessions import create_session
from backend.config import Settings
from backend.models import User
from backend.models.common import utcnow
from backend.notify import dispatch, inbox
from backend.notify.events import EventType, NewEvent, emit_many

Headers = dict[str, str]
PATHS = [
    ("GET", "/api/v1/notifications"),
    ("GET", "/api/v1/notifications/unread-count"),
    ("POST", "/api/v1/notifications/read"),
    ("GET", "/api/v1/notifications/preferences"),
    ("PUT", "/api/v1/notifications/preferences"),
]


@pytest.fixture
def signed_in(session: Session, api_settings: Settings) -> Callable[[User], Headers]:
    def headers(user: User) -> Headers:
        return {"Authorization": f"Bearer {create_session(session, user.id, settings=api_settings).token}"}

    return headers


def _inbox(engine, session: Session, user: User, count: int) -> list[int]:
    """`count` closes for this user, fanned out to in-app items; their ids, newest first."""
    events = [
        NewEvent(user.id, EventType.POSITION_CLOSED, f"position.closed:{user.id}:{n}",
                 {"market": "ETH", "side": "LONG", "realized_pnl": f"{n}.5", "exit_price": "100"})
        for n in range(count)
    ]  # fmt: skip
    emit_many(session, events)
    session.commit()
    dispatch.run_once(engine, {}, now=utcnow(), claim_seconds=60)
    return [item.id for item in inbox.list_items(session, user.id, limit=200).items]


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_signed_out_is_401_even_with_a_bad_body(client, method, path):
    answer = client.request(method, path, json={"ids": "nonsense", "junk": 1})
    assert answer.status_code == 401


def test_inbox_pages_newest_first_filters_unread_and_counts(client, engine, session, factory, signed_in):
    me = factory.user()
    ids = _inbox(engine, session, me, 5)
    headers = signed_in(me)

    page = client.get("/api/v1/notifications", params={"limit": 2, "offset": 1}, headers=headers).json()
    assert (page["total"], page["unread"]) == (5, 5)
    assert [item["id"] for item in page["items"]] == ids[1:3]
    first = page["items"][0]
    assert first["title"] == "Closed ETH long: +$3.50" and first["path"] == "/dashboard"
    assert ["PnL", "+$3.50"] in first["lines"] and first["read_at"] is None

    answer = client.post("/api/v1/notifications/read", json={"ids": ids[:2]}, headers=headers)
    assert answer.json() == {"marked": 2, "unread": 3}
    unread = client.get("/api/v1/notifications", params={"unread": "true"}, headers=headers).json()
    assert [item["id"] for item in unread["items"]] == ids[2:] and unread["total"] == 3
    assert client.get("/api/v1/notifications/unread-count", headers=headers).json() == {"unread": 3}
    assert client.post("/api/v1/notifications/read", json={"all": True}, headers=headers).json() == {
        "marked": 3, "unread": 0,
    }  # fmt: skip


def test_marking_another_users_items_changes_nothing(client, engine, session, factory, signed_in):
    me, other = factory.user(), factory.user()
    _inbox(engine, session, me, 1)
    theirs = _inbox(engine, session, other, 2)

    answer = client.post("/api/v1/notifications/read", json={"ids": theirs}, headers=signed_in(me))
    assert answer.json() == {"marked": 0, "unread": 1}
    assert inbox.unread_count(session, other.id) == 2
    assert inbox.mark_read(session, me.id, None) == 1 and inbox.unread_count(session, other.id) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ids"),
        ({"ids": [1], "all": True}, "ids"),
        ({"ids": None, "all": False}, "ids"),
        ({"ids": ["x"]}, "ids.0"),
        ({"ids": [0]}, "ids.0"),
        ({"ids": [1], "more": 1}, "more"),
        ({"all": "maybe"}, "all"),
    ],
)
def test_bad_read_bodies_are_422_on_the_field(client, factory, signed_in, body, field):
    answer = client.post("/api/v1/notifications/read", json=body, headers=signed_in(factory.user()))
    assert answer.status_code == 422
    assert field in [error["field"] for error in answer.json()["detail"]]


@pytest.mark.parametrize(
    ("params", "field"), [({"limit": 0}, "limit"), ({"offset": -1}, "offset"), ({"sort": "x"}, "sort")]
)
def test_bad_inbox_queries_are_422_on_the_field(client, factory, signed_in, params, field):
    answer = client.get("/api/v1/notifications", params=params, headers=signed_in(factory.user()))
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == field


def test_preferences_read_and_change_one_cell(client, factory, signed_in):
    me = factory.user()
    headers = signed_in(me)
    rows = client.get("/api/v1/notifications/preferences", headers=headers).json()
    assert rows[0]["event_type"] == "position.opened"
    assert rows[0]["channels"] == {"in_app": False, "telegram": False, "email": False, "webhook": True}

    change = {"event_type": "position.opened", "channel": "telegram", "enabled": True}
    rows = client.put("/api/v1/notifications/preferences", json=change, headers=headers).json()
    assert rows[0]["channels"]["telegram"] is True
    other = client.get("/api/v1/notifications/preferences", headers=signed_in(factory.user())).json()
    assert other[0]["channels"]["telegram"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_type": "position.moon", "channel": "email", "enabled": True}, "event_type"),
        ({"event_type": "webhook.test", "channel": "email", "enabled": True}, "event_type"),
        ({"event_type": "position.closed", "channel": "sms", "enabled": True}, "channel"),
        ({"event_type": "position.closed", "channel": "email"}, "enabled"),
        ({"event_type": "position.closed", "channel": "email", "enabled": "perhaps"}, "enabled"),
    ],
)
def test_bad_preferences_are_422_on_the_field_and_change_nothing(client, factory, signed_in, body, field):
    headers = signed_in(factory.user())
    before = client.get("/api/v1/notifications/preferences", headers=headers).json()
    answer = client.put("/api/v1/notifications/preferences", json=body, headers=headers)
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == field
    assert client.get("/api/v1/notifications/preferences", headers=headers).json() == before
