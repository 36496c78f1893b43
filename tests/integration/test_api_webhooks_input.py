"""Every bad payload, id or target the webhooks API can be sent answers 4xx and changes nothing, on SQLite and
PostgreSQL: an audit found 500s (an IDNA host, a NUL in a description, a lone surrogate) and a port of 99999
accepted. Each case here is one request; the user's endpoints and the audit log are compared before and after.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session, func, select

from backend.auth.sessions import create_session
from backend.config import Settings
from backend.models import AuditLog, WebhookEndpoint

BASE = "/api/v1/webhooks"
URL = "http://127.0.0.1:9/hook"
LONG = "x" * 100_000

# (name, body as JSON text or a value to send as JSON)
CREATE_BODIES: list[tuple[str, Any]] = [
    ("idna empty label", {"url": "http://xn--/"}),
    ("idna bad punycode", {"url": "http://xn--a.example/"}),
    ("idna bad label in name", {"url": "https://a.xn--zz.example/"}),
    ("port too big", {"url": "http://127.0.0.1:99999/"}),
    ("port 65536", {"url": "http://127.0.0.1:65536/"}),
    ("port zero", {"url": "http://127.0.0.1:0/"}),
    ("port not a number", {"url": "http://127.0.0.1:http/"}),
    ("url too long", {"url": "http://127.0.0.1/" + "a" * 3000}),
    ("url huge", {"url": "http://127.0.0.1/" + LONG}),
    ("url with user", {"url": "http://user@127.0.0.1:9/"}),
    ("url with user and password", {"url": "http://u:p@127.0.0.1:9/"}),
    ("url with NUL", {"url": "http://127.0.0.1:9/\x00"}),
    ("url with newline", {"url": "http://127.0.0.1:9/a\nb"}),
    ("url lone surrogate", {"url": "http://127.0.0.1:9/\ud800"}),
    ("url host lone surrogate", {"url": "http://\ud800.example/"}),
    ("url unclosed ipv6", {"url": "http://[::1/"}),
    ("url fragment", {"url": URL + "#x"}),
    ("url scheme", {"url": "file:///etc/passwd"}),
    ("url no host", {"url": "http:///x"}),
    ("url not a string", {"url": 5}),
    ("url null", {"url": None}),
    ("url list", {"url": [URL]}),
    ("url missing", {"events": ["position.closed"]}),
    ("url blank", {"url": "   "}),
    ("events unknown", {"url": URL, "events": ["position.nope"]}),
    ("events test type", {"url": URL, "events": ["webhook.test"]}),
    ("events duplicate", {"url": URL, "events": ["position.closed", "position.closed"]}),
    ("events number", {"url": URL, "events": [1]}),
    ("events null item", {"url": URL, "events": [None]}),
    ("events a string", {"url": URL, "events": "position.closed"}),
    ("events an object", {"url": URL, "events": {"position.closed": True}}),
    ("events too many", {"url": URL, "events": ["position.closed"] * 65}),
    ("events huge", {"url": URL, "events": ["position.closed"] * 20_000}),
    ("events long name", {"url": URL, "events": ["p" * 10_000]}),
    ("events lone surrogate", {"url": URL, "events": ["\ud800"]}),
    ("events NUL", {"url": URL, "events": ["position.closed\x00"]}),
    ("description NUL", {"url": URL, "description": "a\x00b"}),
    ("description bell", {"url": URL, "description": "ring\x07"}),
    ("description escape", {"url": URL, "description": "\x1b[31mred"}),
    ("description DEL", {"url": URL, "description": "a\x7fb"}),
    ("description C1", {"url": URL, "description": "a\x85b"}),
    ("description lone surrogate", {"url": URL, "description": "a\udfffb"}),
    ("description too long", {"url": URL, "description": "x" * 201}),
    ("description huge", {"url": URL, "description": LONG}),
    ("description number", {"url": URL, "description": 7}),
    ("extra field", {"url": URL, "secret": "whsec_mine"}),
    ("enabled on create", {"url": URL, "enabled": False}),
    ("not json", "{'url': 'x'"),
    ("truncated json", '{"url": "http://127.0.0.1:9/"'),
    ("empty body", ""),
    ("a list", [URL]),
    ("a string", URL),
    ("null", None),
    ("a number", 1),
    ("deep nesting", "[" * 5000 + "]" * 5000),
]

PATCH_BODIES: list[tuple[str, Any]] = [
    (name, body)
    for name, body in CREATE_BODIES
    if name not in {"url missing", "url null", "enabled on create", "events test type"}
] + [
    ("events test type", {"events": ["webhook.test"]}),
    ("enabled number", {"enabled": 5}),
    ("enabled a list", {"enabled": [True]}),
    ("enabled null and url", {"enabled": None, "url": "http://xn--/"}),
    ("id in body", {"id": 1}),
]

BAD_IDS = ["0", "-1", str(2**31), str(2**63), str(2**70), "1.5", "abc", "1e3", "%00"]


@pytest.fixture
def me(session: Session, factory, api_settings: Settings) -> dict[str, str]:
    user = factory.user()
    return {"Authorization": f"Bearer {create_session(session, user.id, settings=api_settings).token}"}


@pytest.fixture
def mine(client, me) -> int:
    created = client.post(
        BASE, json={"url": URL, "events": ["position.closed"], "description": "d"}, headers=me
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _send(client, method: str, path: str, body: Any, headers: dict[str, str]):
    content = body if isinstance(body, str) else json.dumps(body)
    return client.request(
        method, path, content=content, headers={**headers, "Content-Type": "application/json"}
    )


def _state(session: Session) -> tuple[list[tuple], int]:
    session.expire_all()
    endpoints = session.exec(
        select(
            WebhookEndpoint.id,
            WebhookEndpoint.url,
            WebhookEndpoint.events,
            WebhookEndpoint.description,
            WebhookEndpoint.enabled,
            WebhookEndpoint.secret_encrypted,
        ).order_by(WebhookEndpoint.id)
    ).all()
    audits = session.exec(select(func.count()).select_from(AuditLog)).one()
    return [tuple(row) for row in endpoints], audits


def _refused(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code != 413:  # a body over the app's size limit is refused before it is read
        response.json()  # a JSON answer, whatever the input


@pytest.mark.parametrize(("name", "body"), CREATE_BODIES, ids=[n for n, _ in CREATE_BODIES])
def test_a_bad_create_is_4xx_and_changes_nothing(client, me, session, name, body):
    before = _state(session)
    _refused(_send(client, "POST", BASE, body, me))
    assert _state(session) == before


@pytest.mark.parametrize(("name", "body"), PATCH_BODIES, ids=[n for n, _ in PATCH_BODIES])
def test_a_bad_patch_is_4xx_and_changes_nothing(client, me, mine, session, name, body):
    before = _state(session)
    _refused(_send(client, "PATCH", f"{BASE}/{mine}", body, me))
    assert _state(session) == before


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_an_id_out_of_range_is_4xx_on_every_path(client, me, mine, session, bad_id):
    before = _state(session)
    for method, path in (
        ("GET", f"{BASE}/{bad_id}"),
        ("PATCH", f"{BASE}/{bad_id}"),
        ("DELETE", f"{BASE}/{bad_id}"),
        ("POST", f"{BASE}/{bad_id}/rotate-secret"),
        ("POST", f"{BASE}/{bad_id}/test"),
        ("GET", f"{BASE}/{bad_id}/deliveries"),
        ("POST", f"{BASE}/{bad_id}/deliveries/1/redeliver"),
        ("POST", f"{BASE}/{mine}/deliveries/{bad_id}/redeliver"),
    ):
        _refused(_send(client, method, path, {"description": "x"}, me))
    assert _state(session) == before


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "limit=x", "offset=-1", f"offset={2**70}", "limit=1&extra=1"]
)
def test_a_bad_log_query_is_4xx(client, me, mine, query):
    _refused(client.get(f"{BASE}/{mine}/deliveries?{query}", headers=me))


def test_someone_elses_endpoint_is_404_and_unchanged(client, me, mine, session, factory, api_settings):
    stranger = factory.user()
    theirs = {"Authorization": f"Bearer {create_session(session, stranger.id, settings=api_settings).token}"}
    before = _state(session)
    for method, path, body in (
        ("PATCH", f"{BASE}/{mine}", {"url": "http://127.0.0.1:10/", "enabled": False}),
        ("PATCH", f"{BASE}/{mine}", {"description": "a\x00b"}),
        ("DELETE", f"{BASE}/{mine}", None),
        ("POST", f"{BASE}/{mine}/rotate-secret", None),
        ("POST", f"{BASE}/{mine}/test", None),
    ):
        assert _send(client, method, path, body, theirs).status_code == 404
    assert _state(session) == before


def test_ports_at_the_edges_are_accepted(client, me):
    for port in (1, 65535):
        created = client.post(BASE, json={"url": f"http://127.0.0.1:{port}/"}, headers=me)
        assert created.status_code == 201, created.text
