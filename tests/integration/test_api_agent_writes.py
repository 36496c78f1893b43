"""The agent builder's REST endpoints on SQLite and PostgreSQL: sessions, ownership and the 422 shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import func, select

from backend.api import create_api
from backend.auth.sessions import create_session
from backend.config import Settings
from backend.models import WEIGHT_NAMES, Agent, AuditLog, User
from backend.models.enums import Role

WEIGHTS = {name: 0 for name in WEIGHT_NAMES} | {"tweet": 60, "rsi": 20}
Headers = dict[str, str]


@pytest.fixture
def settings(engine: sa.Engine, tmp_path: Path) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        huey_sqlite_path=tmp_path / "huey.db",
        maxxit_secret_key="x" * 32,
    )


@pytest.fixture
def client(engine: sa.Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_api(engine=engine, settings=settings)) as c:
        yield c


@pytest.fixture
def signed_in(session, settings) -> Callable[[User], Headers]:
    def headers(user: User) -> Headers:
        issued = create_session(session, user.id, settings=settings)
        return {"Authorization": f"Bearer {issued.token}"}

    return headers


@pytest.fixture
def owner(factory) -> User:
    return factory.user()


@pytest.fixture
def as_owner(signed_in, owner) -> Headers:
    return signed_in(owner)


def _body(**changes: Any) -> dict[str, Any]:
    return {"name": "Momentum", "venue": "HYPERLIQUID", "weights": WEIGHTS} | changes


def _create(client: TestClient, headers: Headers, **changes: Any) -> dict[str, Any]:
    response = client.post("/api/v1/agents", json=_body(**changes), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _counts(session) -> tuple[int, int]:
    session.rollback()
    return tuple(session.exec(select(func.count()).select_from(t)).one() for t in (Agent, AuditLog))


def test_create_answers_201_and_the_agent_is_listed(client, as_owner, factory, owner):
    account = factory.ct_account(handle="whale")
    risk = {"stoploss": "0.08", "take_profit": None}
    created = _create(client, as_owner, ct_account_ids=[account.id], risk=risk, description="CT momentum")
    assert created["creator_id"] == owner.id
    assert created["ct_account_ids"] == [account.id]
    assert Decimal(created["risk"]["stoploss"]) == Decimal("0.08")  # a decimal string, never a float
    assert created["risk"]["take_profit"] is None

    listed = client.get("/api/v1/agents").json()["items"]
    assert [(a["id"], a["ct_accounts"]) for a in listed] == [(created["id"], ["whale"])]
    assert client.get(f"/api/v1/agents/{created['id']}").json()["description"] == "CT momentum"


def test_create_sets_location_of_the_editable_agent(client, as_owner):
    response = client.post("/api/v1/agents", json=_body(), headers=as_owner)
    assert response.headers["location"] == f"/api/v1/me/agents/{response.json()['id']}"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/agents"),
        ("patch", "/api/v1/agents/1"),
        ("delete", "/api/v1/agents/1"),
        ("get", "/api/v1/me/agents"),
        ("get", "/api/v1/me/agents/1"),
    ],
)
def test_writes_and_my_agents_need_a_session(client, method, path):
    response = client.request(method, path, json=_body())
    assert response.status_code == 401
    assert response.json() == {"detail": "sign in required"}


def test_forged_token_is_refused(client):
    response = client.post("/api/v1/agents", json=_body(), headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401


def test_someone_elses_agent_is_forbidden(client, session, as_owner, factory, signed_in):
    created = _create(client, as_owner)
    stranger = signed_in(factory.user())
    path = f"/api/v1/agents/{created['id']}"
    for response in (
        client.patch(path, json={"name": "Mine now"}, headers=stranger),
        client.delete(path, headers=stranger),
        client.get(f"/api/v1/me/agents/{created['id']}", headers=stranger),
    ):
        assert response.status_code == 403, response.text
        assert isinstance(response.json()["detail"], str)
    assert client.get(f"/api/v1/me/agents/{created['id']}", headers=as_owner).json()["name"] == "Momentum"
    assert _counts(session) == (1, 1)


def test_unknown_agent_is_404(client, as_owner):
    assert client.patch("/api/v1/agents/999999", json={"name": "x"}, headers=as_owner).status_code == 404
    assert client.delete("/api/v1/agents/999999", headers=as_owner).status_code == 404
    assert client.get("/api/v1/me/agents/999999", headers=as_owner).status_code == 404


def test_owner_patches_and_admin_may_too(client, as_owner, factory, signed_in):
    created = _create(client, as_owner)
    path = f"/api/v1/agents/{created['id']}"
    patched = client.patch(
        path, json={"description": "v2", "risk": {"signal_threshold": "0.7"}}, headers=as_owner
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == "v2"
    assert patched.json()["name"] == "Momentum"

    admin = signed_in(factory.user(role=Role.ADMIN))
    by_admin = client.patch(path, json={"visibility": "private"}, headers=admin)
    assert by_admin.status_code == 200, by_admin.text
    assert client.get("/api/v1/agents").json()["items"] == []


def test_delete_archives_idempotently(client, as_owner):
    created = _create(client, as_owner)
    path = f"/api/v1/agents/{created['id']}"
    for _ in range(2):
        response = client.delete(path, headers=as_owner)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "archived"
    assert client.get("/api/v1/agents").json()["total"] == 0
    assert client.get(path).status_code == 404
    edit = client.patch(path, json={"name": "Back"}, headers=as_owner)
    assert edit.status_code == 409
    assert "archived" in edit.json()["detail"]
    mine = client.get("/api/v1/me/agents", headers=as_owner).json()
    assert [(a["id"], a["status"]) for a in mine] == [(created["id"], "archived")]


def _assert_422(response, field: str, message: str | None = None) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [e["field"] for e in detail] == [field], detail
    if message is not None:
        assert message in detail[0]["message"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"weights": WEIGHTS | {"rsi": 101}}, "weights.rsi", "less than or equal to 100"),
        ({"weights": WEIGHTS | {"macd": -5}}, "weights.macd", "greater than or equal to 0"),
        ({"weights": {name: 0 for name in WEIGHT_NAMES}}, "weights", "at least one weight must be above 0"),
        ({"venue": "BINANCE"}, "venue", "'SPOT', 'GMX', 'HYPERLIQUID', 'OSTIUM' or 'MULTI'"),
        ({"name": "   "}, "name", "name must not be empty"),
        ({"name": "n" * 65}, "name", "name must be at most 64 characters"),
        ({"risk": {"stoploss": "0.9"}}, "risk.stoploss", "less than or equal to 0.5"),
        ({"creator_id": 1}, "creator_id", "Extra inputs are not permitted"),
    ],
)
def test_bad_draft_is_422_on_the_field(client, session, as_owner, changes, field, message):
    _assert_422(client.post("/api/v1/agents", json=_body(**changes), headers=as_owner), field, message)
    assert _counts(session) == (0, 0)


def test_unknown_ct_account_is_422_on_ct_account_ids(client, session, as_owner, factory):
    known = factory.ct_account()
    response = client.post("/api/v1/agents", json=_body(ct_account_ids=[known.id, 987654]), headers=as_owner)
    _assert_422(response, "ct_account_ids", "987654")
    assert _counts(session) == (0, 0)


def test_duplicate_name_is_422_on_name(client, session, as_owner):
    first = _create(client, as_owner, name="Momentum")
    _assert_422(client.post("/api/v1/agents", json=_body(name="Momentum"), headers=as_owner), "name")
    second = _create(client, as_owner, name="Breakout")
    rename = client.patch(f"/api/v1/agents/{second['id']}", json={"name": "Momentum"}, headers=as_owner)
    _assert_422(rename, "name", "Momentum")
    assert first["id"] != second["id"]
    assert _counts(session) == (2, 2)


def test_bad_patch_is_422(client, as_owner):
    created = _create(client, as_owner)
    path = f"/api/v1/agents/{created['id']}"
    _assert_422(client.patch(path, json={"name": None}, headers=as_owner), "name", "must not be null")
    _assert_422(client.patch(path, json={"ct_account_ids": [424242]}, headers=as_owner), "ct_account_ids")


def test_my_agents_include_private_ones(client, as_owner, factory):
    factory.agent(name="Someone else's")
    public = _create(client, as_owner, name="Public")
    private = _create(client, as_owner, name="Private", visibility="private")
    mine = client.get("/api/v1/me/agents", headers=as_owner).json()
    assert [a["id"] for a in mine] == [private["id"], public["id"]]
    listed = [a["id"] for a in client.get("/api/v1/agents").json()["items"]]
    assert public["id"] in listed and private["id"] not in listed
    editable = client.get(f"/api/v1/me/agents/{private['id']}", headers=as_owner).json()
    assert editable["weights"] == WEIGHTS and editable["visibility"] == "private"


def test_ct_accounts_are_public_and_active_only(client, factory):
    factory.ct_account(handle="zed", followers_count=5)
    factory.ct_account(handle="alpha")
    factory.ct_account(handle="gone", is_active=False)
    response = client.get("/api/v1/ct-accounts")
    assert response.status_code == 200
    assert [a["handle"] for a in response.json()] == ["alpha", "zed"]
    assert set(response.json()[0]) == {
        "id",
        "handle",
        "display_name",
        "followers_count",
        "impact_factor",
        "impact_calls",
    }


def test_openapi_documents_the_builder_routes(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert paths["/api/v1/agents"]["post"]["summary"] == "Create an agent"
    assert {"403", "404", "409", "422"} <= set(paths["/api/v1/agents/{agent_id}"]["patch"]["responses"])
    assert paths["/api/v1/agents/{agent_id}"]["delete"]["summary"] == "Archive an agent"
    assert "get" in paths["/api/v1/me/agents"] and "get" in paths["/api/v1/ct-accounts"]


def test_a_private_agent_page_is_its_owners(client, as_owner, factory, signed_in):
    created = _create(client, as_owner, visibility="private")
    path = f"/api/v1/agents/{created['id']}"

    assert client.get(path, headers=as_owner).json()["visibility"] == "private"
    assert client.get(path).status_code == 404
    assert client.get(path, headers=signed_in(factory.user())).status_code == 404
