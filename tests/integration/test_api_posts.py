"""CT accounts and posts over HTTP on SQLite and PostgreSQL: admin writes, 422/404, idempotent pastes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from backend.api import create_api
from backend.auth.users import create_admin
from backend.config import Settings
from backend.models import AuditLog, CtAccount, CtPost
from backend.models.common import utcnow
from backend.signals.dispatch import NoEvents
from tests.wallets import Wallet

Headers = dict[str, str]


@dataclass
class RecordingEvents:
    """The pipeline's queue as the API sees it (an injected port): remembers what it was handed."""

    calls: list[list[int]] = field(default_factory=list)
    fail: bool = False

    def posts_stored(self, post_ids: Sequence[int]) -> None:
        if self.fail:
            raise ConnectionError("queue down")
        self.calls.append(list(post_ids))


@pytest.fixture
def settings(api_settings: Settings) -> Settings:
    return api_settings


@pytest.fixture
def events() -> RecordingEvents:
    return RecordingEvents()


@pytest.fixture
def client(engine: sa.Engine, settings: Settings, events: RecordingEvents) -> Iterator[TestClient]:
    with TestClient(create_api(engine=engine, settings=settings, events=events)) as c:
        yield c


def _sign_in(client: TestClient, wallet: Wallet) -> Headers:
    message = client.post("/api/v1/auth/nonce", json={"address": wallet.address}).json()["message"]
    verified = client.post(
        "/api/v1/auth/verify", json={"message": message, "signature": wallet.sign(message)}
    )
    assert verified.status_code == 200, verified.text
    client.cookies.clear()  # each request below says who it is
    return {"Authorization": f"Bearer {verified.json()['token']}"}


@pytest.fixture
def as_admin(client: TestClient, engine: sa.Engine) -> Headers:
    wallet = Wallet()
    with Session(engine) as s:
        create_admin(s, wallet.address)
    return _sign_in(client, wallet)


@pytest.fixture
def as_trader(client: TestClient) -> Headers:
    return _sign_in(client, Wallet())


def _written(session: Session) -> tuple[int, int, int]:
    """Accounts, posts, and audit rows about either (sign-ins write audit rows of their own)."""
    session.rollback()
    audited = col(AuditLog.entity_type).in_(["ct_account", "ct_post"])
    return (
        session.exec(select(func.count()).select_from(CtAccount)).one(),
        session.exec(select(func.count()).select_from(CtPost)).one(),
        session.exec(select(func.count()).select_from(AuditLog).where(audited)).one(),
    )


def _assert_422(response, field_name: str, message: str | None = None) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [e["field"] for e in detail] == [field_name], detail
    if message is not None:
        assert message in detail[0]["message"], detail


def _add(client: TestClient, headers: Headers, handle: str, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/ct-accounts", json={"handle": handle, **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# -- CT accounts --------------------------------------------------------------------------------

WRITES = [
    ("get", "/api/v1/admin/ct-accounts", None),
    ("post", "/api/v1/ct-accounts", {"handle": "someone"}),
    ("patch", "/api/v1/ct-accounts/1", {"is_active": False}),
    ("delete", "/api/v1/ct-accounts/1", None),
    ("post", "/api/v1/posts", {"ct_account_id": 1, "text": "$SOL breakout"}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_operator_endpoints_need_an_admin(client, session, factory, as_trader, method, path, body):
    factory.ct_account()
    before = _written(session)
    anonymous = client.request(method, path, json=body)
    assert anonymous.status_code == 401
    forbidden = client.request(method, path, json=body, headers=as_trader)
    assert forbidden.status_code == 403
    assert forbidden.json() == {"detail": "admins only"}
    assert _written(session) == before


def test_admin_adds_pauses_resumes_and_removes(client, session, as_admin):
    added = _add(client, as_admin, "@OrbitCaller", display_name="OrbitCaller", followers_count=1200)
    assert {k: added[k] for k in ("handle", "display_name", "status", "followers_count", "posts_count")} == {
        "handle": "OrbitCaller",
        "display_name": "OrbitCaller",
        "status": "active",
        "followers_count": 1200,
        "posts_count": 0,
    }
    assert isinstance(added["impact_factor"], str) and Decimal(added["impact_factor"]) == 0  # never a float
    path = f"/api/v1/ct-accounts/{added['id']}"

    paused = client.patch(path, json={"is_active": False}, headers=as_admin)
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    assert client.get("/api/v1/ct-accounts").json() == []  # the builder's picker: active accounts only
    listed = client.get("/api/v1/admin/ct-accounts", headers=as_admin).json()
    assert [(a["handle"], a["status"]) for a in listed] == [("OrbitCaller", "paused")]

    assert client.patch(path, json={"is_active": True}, headers=as_admin).json()["status"] == "active"
    [picked] = client.get("/api/v1/ct-accounts").json()
    assert set(picked) == {
        "id",
        "handle",
        "display_name",
        "followers_count",
        "impact_factor",
        "impact_calls",
    }  # builder's shape
    assert (picked["id"], picked["handle"], picked["followers_count"]) == (added["id"], "OrbitCaller", 1200)

    for _ in range(2):
        removed = client.delete(path, headers=as_admin)
        assert removed.status_code == 204 and removed.content == b""
    assert client.get("/api/v1/admin/ct-accounts", headers=as_admin).json() == []
    assert client.patch(path, json={"is_active": True}, headers=as_admin).status_code == 404
    assert _written(session) == (1, 0, 4)  # added, paused, resumed, removed


def test_adding_a_removed_handle_restores_it(client, as_admin, factory, session):
    added = _add(client, as_admin, "comeback")
    factory.post(session.get(CtAccount, added["id"]))
    client.delete(f"/api/v1/ct-accounts/{added['id']}", headers=as_admin)
    restored = _add(client, as_admin, "Comeback")
    assert (restored["id"], restored["posts_count"], restored["status"]) == (added["id"], 1, "active")


@pytest.mark.parametrize(
    ("body", "field_name", "message"),
    [
        ({"handle": "two words"}, "handle", "1-15 letters, digits or underscores"),
        ({"handle": "x" * 16}, "handle", "1-15 letters"),
        ({"handle": "fine", "display_name": "n" * 65}, "display_name", "at most 64 characters"),
        ({"handle": "fine", "followers_count": -3}, "followers_count", "greater than or equal to 0"),
        ({"handle": "fine", "is_active": True}, "is_active", "Extra inputs are not permitted"),
        ({}, "handle", "Field required"),
    ],
)
def test_bad_account_is_422_on_the_field_and_nothing_written(
    client, session, as_admin, body, field_name, message
):
    _assert_422(client.post("/api/v1/ct-accounts", json=body, headers=as_admin), field_name, message)
    assert _written(session) == (0, 0, 0)


def test_a_followed_handle_is_422_already_followed(client, session, as_admin):
    _add(client, as_admin, "OrbitCaller")
    response = client.post("/api/v1/ct-accounts", json={"handle": "ORBITCALLER"}, headers=as_admin)
    _assert_422(response, "handle", "already followed")
    assert _written(session) == (1, 0, 1)


@pytest.mark.parametrize(
    ("body", "field_name"),
    [({}, "is_active"), ({"is_active": "maybe"}, "is_active"), ({"is_active": True, "x": 1}, "x")],
)
def test_bad_patch_is_422(client, session, as_admin, body, field_name):
    added = _add(client, as_admin, "patched")
    _assert_422(client.patch(f"/api/v1/ct-accounts/{added['id']}", json=body, headers=as_admin), field_name)
    assert _written(session) == (1, 0, 1)


def test_unknown_account_is_404(client, as_admin):
    missing = client.patch("/api/v1/ct-accounts/987654", json={"is_active": False}, headers=as_admin)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no CT account 987654"}
    assert client.delete("/api/v1/ct-accounts/987654", headers=as_admin).status_code == 404
    _assert_422(client.delete("/api/v1/ct-accounts/0", headers=as_admin), "account_id")


# -- Posts --------------------------------------------------------------------------------------


def _paste(
    client: TestClient, headers: Headers, account_id: int, text: str, key: str | None = None, **body: Any
):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(
        "/api/v1/posts", json={"ct_account_id": account_id, "text": text, **body}, headers=headers | extra
    )


def test_pasted_post_is_stored_queued_and_readable(client, session, as_admin, factory, events):
    account = factory.ct_account(handle="caller")
    response = _paste(client, as_admin, account.id, "  $SOL breakout, longing here  ")
    assert response.status_code == 201, response.text
    post = response.json()
    assert (post["handle"], post["source"], post["text"]) == (
        "caller",
        "manual",
        "$SOL breakout, longing here",
    )
    assert (post["status"], post["is_signal"], post["signals_count"]) == ("pending", None, 0)
    assert events.calls == [[post["id"]]]
    assert client.get(f"/api/v1/posts/{post['id']}").json() == post
    assert _written(session) == (1, 1, 1)


def test_retry_with_the_same_key_answers_200_with_the_first_post(client, session, as_admin, factory, events):
    account = factory.ct_account()
    first = _paste(client, as_admin, account.id, "$ETH to 5k", key="retry-key-0001")
    again = _paste(client, as_admin, account.id, "$ETH to 5k", key="retry-key-0001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert events.calls == [[first.json()["id"]]]  # queued once
    other = _paste(client, as_admin, account.id, "a different post", key="retry-key-0001")
    _assert_422(other, "idempotency_key", "already used for a different post")
    without_key = _paste(client, as_admin, account.id, "$ETH to 5k")
    assert without_key.status_code == 201 and without_key.json()["id"] != first.json()["id"]
    assert _written(session) == (1, 2, 2)


@pytest.mark.parametrize(
    ("text", "key", "extra", "field_name", "message"),
    [
        ("   ", None, {}, "text", "empty"),
        ("x" * 4001, None, {}, "text", "at most 4000 characters"),
        ("fine", "short", {}, "idempotency_key", "8-48 characters"),
        ("fine", None, {"posted_at": "2999-01-01T00:00:00Z"}, "posted_at", "not in the future"),
        ("fine", None, {"posted_at": "2024-01-01T00:00:00"}, "posted_at", "UTC"),
        ("fine", None, {"handle": "x"}, "handle", "Extra inputs are not permitted"),
    ],
)
def test_bad_post_is_422_on_the_field_and_nothing_written(
    client, session, as_admin, factory, events, text, key, extra, field_name, message
):
    account = factory.ct_account()
    _assert_422(_paste(client, as_admin, account.id, text, key, **extra), field_name, message)
    assert _written(session) == (1, 0, 0)
    assert events.calls == []


def test_post_for_an_unknown_or_removed_account_is_422_on_ct_account_id(client, session, as_admin, factory):
    gone = factory.ct_account(removed_at=utcnow(), is_active=False)
    for account_id in (987654, gone.id):
        _assert_422(
            _paste(client, as_admin, account_id, "$BTC"), "ct_account_id", f"no CT account {account_id}"
        )
    assert _written(session) == (1, 0, 0)


def test_a_queue_that_is_down_does_not_lose_the_post(client, session, as_admin, factory, events):
    events.fail = True
    response = _paste(client, as_admin, factory.ct_account().id, "$DOGE send it")
    assert response.status_code == 201, response.text
    assert _written(session)[1] == 1


def test_without_events_nothing_is_queued(engine, settings, session, as_admin, factory):
    app = create_api(engine=engine, settings=settings)
    assert isinstance(app.state.events, NoEvents)
    with TestClient(app) as plain:
        assert _paste(plain, as_admin, factory.ct_account().id, "$BTC").status_code == 201


def test_unknown_post_is_404(client):
    missing = client.get("/api/v1/posts/987654")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no post 987654"}


def _posts_fixture(factory, session) -> dict[str, Any]:
    now = utcnow().replace(microsecond=0)
    alpha, beta = factory.ct_account(handle="alpha"), factory.ct_account(handle="beta")
    sol = factory.post(
        alpha,
        posted_at=now - timedelta(minutes=1),
        is_signal=True,
        token="SOL",
        side="long",
        confidence=Decimal("0.82"),
        reasoning="Names SOL and a long entry",
        classifier="rules-v1",
        classified_at=now,
    )
    factory.signal(factory.agent(follows=[alpha]), post=sol, token="SOL")
    noise = factory.post(alpha, posted_at=now - timedelta(minutes=3), is_signal=False, classifier="rules-v1")
    pending = factory.post(beta, posted_at=now - timedelta(minutes=2))
    eth = factory.post(beta, posted_at=now - timedelta(minutes=4), is_signal=True, token="ETH", side="short")
    return {"alpha": alpha, "beta": beta, "sol": sol, "noise": noise, "pending": pending, "eth": eth}


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["items"]]


def test_posts_are_newest_first_with_filters(client, factory, session):
    p = _posts_fixture(factory, session)
    everything = client.get("/api/v1/posts")
    assert _ids(everything) == [p["sol"].id, p["pending"].id, p["noise"].id, p["eth"].id]
    first = everything.json()["items"][0]
    assert (first["status"], first["token"], first["side"]) == ("signal", "SOL", "long")
    assert isinstance(first["confidence"], str) and Decimal(first["confidence"]) == Decimal("0.82")
    assert (first["classifier"], first["signals_count"], first["handle"]) == ("rules-v1", 1, "alpha")
    statuses = [i["status"] for i in everything.json()["items"]]
    assert statuses == ["signal", "pending", "not_signal", "signal"]

    assert _ids(client.get("/api/v1/posts", params={"ct_account_id": p["beta"].id})) == [
        p["pending"].id,
        p["eth"].id,
    ]
    assert _ids(client.get("/api/v1/posts", params={"is_signal": "true"})) == [p["sol"].id, p["eth"].id]
    assert _ids(client.get("/api/v1/posts", params={"is_signal": "false"})) == [p["noise"].id]
    assert _ids(client.get("/api/v1/posts", params={"token": " eth "})) == [p["eth"].id]
    both = {"ct_account_id": p["alpha"].id, "is_signal": "true"}
    assert _ids(client.get("/api/v1/posts", params=both)) == [p["sol"].id]


def test_posts_page_with_a_total(client, factory, session):
    p = _posts_fixture(factory, session)
    first = client.get("/api/v1/posts", params={"limit": 3})
    assert (first.json()["total"], first.json()["limit"], first.json()["offset"]) == (4, 3, 0)
    second = client.get("/api/v1/posts", params={"limit": 3, "offset": 3})
    assert _ids(first) + _ids(second) == [p["sol"].id, p["pending"].id, p["noise"].id, p["eth"].id]
    assert _ids(client.get("/api/v1/posts", params={"offset": 10})) == []


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"ct_account_id": 0}, "ct_account_id"),
        ({"is_signal": "perhaps"}, "is_signal"),
        ({"token": "T" * 17}, "token"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_post_queries_are_422(client, params, field_name):
    _assert_422(client.get("/api/v1/posts", params=params), field_name)
