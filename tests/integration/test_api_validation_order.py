"""Anonymous callers get 401 before their body is judged, and out-of-range numbers are 422, never 500."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from backend.api.routing import requires_user
from backend.auth.sessions import create_session

JUNK_BODIES = [b"{not json", b"[1, 2", b'{"unexpected": true}']


def _api_routes(routes: list) -> Iterator[APIRoute]:
    """Every endpoint; FastAPI keeps an included router as one entry holding its own routes."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(included.routes)


def _protected_writes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) that needs a signed-in user and takes a body or changes something."""
    found = []
    for route in _api_routes(app.routes):
        if requires_user(route.dependant):
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            found += [(m, path) for m in sorted(route.methods) if m in {"POST", "PUT", "PATCH", "DELETE"}]
    return found


def test_the_protected_writes_are_found(app):
    writes = _protected_writes(app)
    assert ("POST", "/api/v1/deployments") in writes
    assert ("PUT", "/api/v1/admin/users/1/role") in writes
    assert len(writes) >= 10


@pytest.mark.parametrize("body", JUNK_BODIES, ids=["malformed", "truncated", "wrong-fields"])
def test_every_protected_write_answers_401_to_a_junk_body_without_a_session(client, app, body):
    answers = {
        (method, path): client.request(
            method, path, content=body, headers={"Content-Type": "application/json"}
        )
        for method, path in _protected_writes(app)
    }
    wrong = {k: (r.status_code, r.text[:80]) for k, r in answers.items() if r.status_code != 401}
    assert wrong == {}


def test_a_dead_token_is_401_before_a_junk_body_too(client, app):
    reply = client.post(
        "/api/v1/deployments",
        content=b"{not json",
        headers={"Authorization": "Bearer forged", "Content-Type": "application/json"},
    )
    assert reply.status_code == 401


def test_a_signed_in_caller_still_gets_422_naming_the_problem(client, factory, session, api_settings):
    token = create_session(session, factory.user().id, settings=api_settings).token
    reply = client.post(
        "/api/v1/deployments",
        content=b"{not json",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert reply.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agent_id": 7827007510322194694017122304, "venue": "PAPER"}, "agent_id"),
        ({"agent_id": 2**31, "venue": "PAPER"}, "agent_id"),
        ({"agent_id": 2**63, "venue": "PAPER"}, "agent_id"),
        ({"agent_id": 1, "venue": "PAPER", "agent_wallet_id": 2**40}, "agent_wallet_id"),
    ],
)  # fmt: skip
def test_ids_beyond_the_database_range_are_422(client, factory, session, api_settings, body, field):
    token = create_session(session, factory.user().id, settings=api_settings).token
    reply = client.post("/api/v1/deployments", json=body, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 422, reply.text
    assert [e["field"] for e in reply.json()["detail"]] == [field]


@pytest.mark.parametrize("value", [2**31, 2**63, 10**30])
def test_path_ids_beyond_the_database_range_are_422(client, factory, session, api_settings, value):
    token = create_session(session, factory.user().id, settings=api_settings).token
    headers = {"Authorization": f"Bearer {token}"}
    for path in (f"/api/v1/deployments/{value}", f"/api/v1/agents/{value}"):
        assert client.get(path, headers=headers).status_code in (404, 422)
    assert client.post(f"/api/v1/deployments/{value}/pause", headers=headers).status_code in (404, 422)
