"""The REST API over HTTP on SQLite and PostgreSQL: marketplace reads, errors, health probes and metrics."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from huey import SqliteHuey
from prometheus_client.parser import text_string_to_metric_families

from backend.api import create_api
from backend.api.health import run_checks
from backend.config import Settings
from backend.db import make_engine
from backend.models import Position
from backend.models.enums import DeploymentStatus, PositionStatus, Side, Venue, Visibility
from tests.pgtools import PG_ADMIN_URL

REDIS_URL = "redis://127.0.0.1:6379/15"
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"
PG_BASE = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)


def _settings(engine: sa.Engine, tmp_path: Path, redis_url: str | None = None) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        redis_url=redis_url,
        huey_sqlite_path=tmp_path / "huey.db",
    )


@pytest.fixture
def huey_file(tmp_path: Path) -> Path:
    """A queue file laid out by Huey itself, as the embedded consumer leaves it."""
    path = tmp_path / "huey.db"
    SqliteHuey(filename=str(path))
    return path


@pytest.fixture
def client(engine: sa.Engine, tmp_path: Path, huey_file: Path) -> Iterator[TestClient]:
    with TestClient(create_api(engine=engine, settings=_settings(engine, tmp_path))) as c:
        yield c


CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/postgres"


def _dead_client(url: str, tmp_path: Path) -> Iterator[TestClient]:
    engine = make_engine(url)
    try:
        with TestClient(create_api(engine=engine, settings=_settings(engine, tmp_path))) as c:
            yield c
    finally:
        engine.dispose()


@pytest.fixture
def offline_client(tmp_path: Path) -> Iterator[TestClient]:
    """An app whose database port has nothing listening: for what must work without a database."""
    yield from _dead_client(CLOSED_PORT_URL, tmp_path)


@pytest.fixture(params=["missing-database", "closed-port"])
def dead_db_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """An app whose database cannot be reached: a database that does not exist, or nothing listening."""
    missing = f"{PG_BASE}/maxxit_missing_{uuid.uuid4().hex[:8]}"
    yield from _dead_client(missing if request.param == "missing-database" else CLOSED_PORT_URL, tmp_path)


def _names(response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    return [a["name"] for a in (body["items"] if isinstance(body, dict) else body)]


def _samples(client: TestClient) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


# --- marketplace -------------------------------------------------------------------------------------------


def test_lists_filters_searches_sorts_and_pages(client, factory):
    whale = factory.ct_account(handle="WhaleWatcher")
    factory.agent(name="High", venue=Venue.HYPERLIQUID, apr_30d=Decimal("80.5"), trades_count=4)
    factory.agent(name="Mid", venue=Venue.SPOT, apr_30d=Decimal("20"), trades_count=2, follows=[whale])
    factory.agent(name="Low", venue=Venue.GMX, apr_30d=Decimal("5"), trades_count=1)
    factory.agent(name="Untraded", venue=Venue.SPOT)
    factory.agent(name="Secret", visibility=Visibility.PRIVATE)

    page = client.get("/api/v1/agents").json()
    assert [a["name"] for a in page["items"]] == ["High", "Mid", "Low", "Untraded"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 20, 0)
    # Decimals travel as strings so no precision is lost on the way.
    assert isinstance(page["items"][0]["apr_30d"], str)
    assert Decimal(page["items"][0]["apr_30d"]) == Decimal("80.5")
    assert page["items"][1]["ct_accounts"] == ["WhaleWatcher"]

    assert _names(client.get("/api/v1/agents", params={"venue": "SPOT"})) == ["Mid", "Untraded"]
    assert _names(client.get("/api/v1/agents", params={"q": "  whalewatch "})) == ["Mid"]
    assert _names(client.get("/api/v1/agents", params={"sort": "name"})) == ["High", "Low", "Mid", "Untraded"]

    second = client.get("/api/v1/agents", params={"sort": "name", "limit": 2, "offset": 2}).json()
    assert [a["name"] for a in second["items"]] == ["Mid", "Untraded"]
    assert (second["total"], second["limit"], second["offset"]) == (4, 2, 2)


def test_agent_detail_and_not_found(client, factory):
    account = factory.ct_account(handle="cobie")
    agent = factory.agent(follows=[account], weight_macd=40)
    factory.closed_position(factory.deployment(agent), Decimal("12.5"))
    private = factory.agent(visibility=Visibility.PRIVATE)

    response = client.get(f"/api/v1/agents/{agent.id}")
    assert response.status_code == 200
    detail = response.json()
    assert detail["weights"]["macd"] == 40 and detail["weights"]["tweet"] == 60
    assert [a["handle"] for a in detail["accounts"]] == ["cobie"]
    assert detail["my_positions"] == []  # anonymous: nobody's positions
    assert detail["active_deployments"] == 1

    for agent_id in (private.id, 999_999):
        response = client.get(f"/api/v1/agents/{agent_id}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"agent {agent_id} not found"}


def test_leaderboard_ranks_traded_agents_by_the_chosen_figure(client, factory):
    factory.agent(name="Untraded")
    factory.agent(name="Good", apr_30d=Decimal("40"), trades_count=9)
    factory.agent(name="Best", apr_30d=Decimal("90"), trades_count=5)

    assert _names(client.get("/api/v1/leaderboard")) == ["Best", "Good"]
    assert _names(client.get("/api/v1/leaderboard", params={"sort": "trades"})) == ["Good", "Best"]
    assert _names(client.get("/api/v1/leaderboard", params={"limit": 1})) == ["Best"]


def test_stats_are_counted_from_rows(client, factory):
    deployment = factory.deployment(factory.agent())
    factory.closed_position(deployment, Decimal("10"), size=Decimal("0.5"), entry_price=Decimal("100"))
    factory.closed_position(deployment, Decimal("-4"), size=Decimal("1"), entry_price=Decimal("50"))

    response = client.get("/api/v1/stats")
    assert response.status_code == 200
    stats = response.json()
    assert (stats["agents"], stats["active_deployments"], stats["trades"]) == (1, 1, 2)
    assert (stats["volume_usd"], stats["realized_pnl"]) == ("100.00", "6.00")


# --- errors (validation answers before any database access, so these run without one) ----------------------


@pytest.mark.parametrize(
    ("path", "params", "field", "message"),
    [
        ("/api/v1/agents", {"limit": 0}, "limit", "Input should be greater than or equal to 1"),
        ("/api/v1/agents", {"limit": 101}, "limit", "Input should be less than or equal to 100"),
        ("/api/v1/agents", {"limit": "abc"}, "limit", "Input should be a valid integer"),
        ("/api/v1/agents", {"offset": -1}, "offset", "Input should be greater than or equal to 0"),
        ("/api/v1/agents", {"sort": "luck"}, "sort", "Input should be 'apr_30d', 'apr_90d'"),
        ("/api/v1/agents", {"venue": "NYSE"}, "venue", "Input should be 'SPOT', 'GMX'"),
        ("/api/v1/agents", {"q": "x" * 65}, "q", "String should have at most 64 characters"),
        ("/api/v1/agents", {"colour": "red"}, "colour", "Extra inputs are not permitted"),
        ("/api/v1/leaderboard", {"limit": 0}, "limit", "Input should be greater than or equal to 1"),
        ("/api/v1/leaderboard", {"sort": "luck"}, "sort", "Input should be 'apr_30d', 'apr_90d'"),
        ("/api/v1/agents/abc", {}, "agent_id", "Input should be a valid integer"),
        ("/api/v1/agents/0", {}, "agent_id", "Input should be greater than or equal to 1"),
        ("/api/v1/agents/99999999999", {}, "agent_id", "Input should be less than or equal to 2147483647"),
    ],
)
def test_bad_values_get_a_422_naming_the_field(offline_client, path, params, field, message):
    response = offline_client.get(path, params=params)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == field
    assert error["message"].startswith(message)
    assert set(error) == {"field", "message"}


def test_422_shape_is_exactly_field_and_message_per_bad_field(offline_client):
    response = offline_client.get("/api/v1/agents", params={"limit": 101, "sort": "luck"})
    assert response.status_code == 422
    detail = {e["field"]: e["message"] for e in response.json()["detail"]}
    assert detail["limit"] == "Input should be less than or equal to 100"
    assert set(detail) == {"limit", "sort"}


def test_unreachable_database_answers_503_without_internals(dead_db_client):
    response = dead_db_client.get("/api/v1/stats")
    assert response.status_code == 503
    assert response.json() == {"detail": "database unavailable"}


def test_openapi_lists_the_paths_and_documents_the_error_shape(offline_client):
    spec = offline_client.get("/api/openapi.json").json()
    assert spec["info"]["title"] == "Maxxit API"
    assert {
        "/api/v1/agents",
        "/api/v1/agents/{agent_id}",
        "/api/v1/leaderboard",
        "/api/v1/stats",
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
    } <= set(spec["paths"])
    listing = spec["paths"]["/api/v1/agents"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"venue", "q", "sort", "limit", "offset"}
    invalid = listing["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert invalid.endswith("/ValidationErrorBody")
    assert set(spec["components"]["schemas"]["FieldError"]["properties"]) == {"field", "message"}
    assert '"field"' in spec["info"]["description"]

    docs = offline_client.get("/api/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "/api/openapi.json" in docs.text


def test_docs_page_works_offline_from_assets_the_app_serves(offline_client):
    """Swagger UI from the app itself: a blank page on machines without internet, otherwise."""
    docs = offline_client.get("/api/docs").text
    referenced = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", docs)
    assert referenced, docs
    assert [url for url in referenced if "//" in url] == []  # no CDN, no other host
    assets = [url for url in referenced if url.endswith((".js", ".css"))]
    assert {url.rsplit(".", 1)[1] for url in assets} == {"js", "css"}
    for url in assets:
        response = offline_client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 1000, url


# --- health ------------------------------------------------------------------------------------------------


def test_live_is_up_even_when_the_database_is_not(offline_client):
    response = offline_client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_with_redis_queue(engine, tmp_path):
    app = create_api(engine=engine, settings=_settings(engine, tmp_path, redis_url=REDIS_URL))
    with TestClient(app) as c:
        response = c.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["queue"] == {"status": "ok", "detail": "redis PING ok"}


def test_ready_and_health_with_huey_sqlite_queue(client):
    response = client.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["queue"] == {"status": "ok", "detail": "huey sqlite readable"}

    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["version"] == "0.1.0"
    assert set(health["checks"]) == {"database", "queue"}


def test_ready_fails_when_the_huey_file_is_missing(engine, tmp_path):
    with TestClient(create_api(engine=engine, settings=_settings(engine, tmp_path))) as c:
        response = c.get("/health/ready")
    assert response.status_code == 503
    queue = response.json()["checks"]["queue"]
    assert queue["status"] == "fail"
    assert "huey sqlite file not found" in queue["detail"]
    assert not (tmp_path / "huey.db").exists()  # the probe never creates an empty queue


def test_ready_fails_when_redis_is_unreachable(engine, tmp_path):
    app = create_api(engine=engine, settings=_settings(engine, tmp_path, redis_url=DEAD_REDIS_URL))
    with TestClient(app) as c:
        for path in ("/health/ready", "/health"):
            response = c.get(path)
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "fail"
            assert body["checks"]["database"]["status"] == "ok"
            assert body["checks"]["queue"]["status"] == "fail"
            assert "ConnectionError" in body["checks"]["queue"]["detail"]


def test_ready_fails_when_the_database_is_unreachable(dead_db_client, huey_file):
    response = dead_db_client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["status"] == "fail"
    assert body["checks"]["database"]["detail"].startswith("OperationalError: ")
    assert body["checks"]["queue"]["status"] == "ok"
    assert "Traceback" not in response.text and "SELECT" not in response.text


def test_a_hung_check_is_reported_as_timed_out_not_waited_for():
    release = threading.Event()
    try:
        results = run_checks({"stuck": release.wait, "fine": lambda: "fine"}, timeout=0.05)
    finally:
        release.set()
    assert results["stuck"].status == "fail"
    assert results["stuck"].detail == "timed out after 0.05s"
    assert results["fine"].status == "ok"


# --- metrics -----------------------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_template(client):
    client.get("/api/v1/agents/7")
    client.get("/api/v1/agents/8")
    client.get("/no/such/path")
    samples = _samples(client)

    def requests(route: str, status: str) -> float | None:
        labels = frozenset({"method": "GET", "route": route, "status": status}.items())
        return samples.get(("maxxit_http_requests_total", labels))

    assert requests("/api/v1/agents/{agent_id}", "404") == 2
    assert requests("<unmatched>", "404") == 1
    assert not any("/api/v1/agents/7" in str(key) for key in samples)
    latency = frozenset({"method": "GET", "route": "/api/v1/agents/{agent_id}", "status": "404"}.items())
    assert samples[("maxxit_http_request_duration_seconds_count", latency)] == 2


def test_metrics_domain_gauges_are_read_from_the_database(client, factory, session):
    agent = factory.agent()
    factory.agent(visibility=Visibility.PRIVATE)
    factory.agent()
    active = factory.deployment(agent)
    factory.deployment(agent, status=DeploymentStatus.PAUSED)
    factory.closed_position(active, Decimal("3"))
    factory.closed_position(active, Decimal("-1"))
    factory.closed_position(active, Decimal("2"))
    for status in (PositionStatus.OPEN, PositionStatus.CLOSING):
        session.add(
            Position(
                deployment_id=active.id,
                venue=active.venue,
                market="ETH",
                side=Side.SHORT,
                size=Decimal("1"),
                entry_price=Decimal("3000"),
                status=status,
            )
        )
    session.commit()

    samples = _samples(client)
    gauges = {name: value for (name, labels), value in samples.items() if not labels}
    assert gauges["maxxit_domain_metrics_up"] == 1
    assert gauges["maxxit_public_agents"] == 2
    assert gauges["maxxit_active_deployments"] == 1
    assert gauges["maxxit_open_positions"] == 2
    assert gauges["maxxit_closed_trades"] == 3


def test_metrics_still_serve_when_the_database_is_down(dead_db_client):
    gauges = {name: value for (name, labels), value in _samples(dead_db_client).items() if not labels}
    assert gauges["maxxit_domain_metrics_up"] == 0
    assert "maxxit_public_agents" not in gauges


def test_each_app_owns_its_metrics(engine, tmp_path):
    first = TestClient(create_api(engine=engine, settings=_settings(engine, tmp_path)))
    second = TestClient(create_api(engine=engine, settings=_settings(engine, tmp_path)))
    first.get("/health/live")
    first.get("/health/live")
    second.get("/health/live")
    live = frozenset({"method": "GET", "route": "/health/live", "status": "200"}.items())
    assert _samples(first)[("maxxit_http_requests_total", live)] == 2
    assert _samples(second)[("maxxit_http_requests_total", live)] == 1
