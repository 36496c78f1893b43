"""The HTTP surface's guards over real requests: same-origin cookie writes, CORS, security headers, body size
and the client address behind proxies, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from backend.api import create_api
from backend.api.deps import ClientIpDep
from backend.auth.sessions import SESSION_COOKIE, create_session
from backend.config import Settings
from backend.models import Agent, AgentDeployment, User
from backend.models.enums import DeploymentStatus, Role

OURS = "http://testserver"
EVIL = "http://testserver:6666"  # same host, another port: same-site, so SameSite alone would not stop it
WEIGHTS = ("tweet", "rsi", "macd", "bollinger", "volume", "moving_average", "momentum", "volatility")
AGENT_DRAFT = {"name": "Forged agent", "venue": "HYPERLIQUID", "weights": dict.fromkeys(WEIGHTS, 10)}


def _cookie_client(client: TestClient, session: Session, user: User, settings: Settings) -> TestClient:
    client.cookies.set(SESSION_COOKIE, create_session(session, user.id, settings=settings).token)
    return client


# -- same-origin writes --------------------------------------------------------------------------------


def test_forged_origin_cannot_pause_create_or_grant_with_the_cookie(client, session, factory, api_settings):
    admin = factory.user(role=Role.ADMIN)
    victim = factory.user()
    agent = factory.agent()
    deployment = factory.deployment(agent, user=admin)
    _cookie_client(client, session, admin, api_settings)
    forged = {"Origin": EVIL}

    paused = client.post(f"/api/v1/deployments/{deployment.id}/pause", headers=forged)
    created = client.post("/api/v1/agents", json=AGENT_DRAFT, headers=forged)
    granted = client.put(f"/api/v1/admin/users/{victim.address}/role", json={"role": "admin"}, headers=forged)

    assert [paused.status_code, created.status_code, granted.status_code] == [403, 403, 403]
    assert "Origin" in paused.json()["detail"]
    session.expire_all()
    assert session.get(AgentDeployment, deployment.id).status == DeploymentStatus.ACTIVE
    assert session.exec(select(func.count()).select_from(Agent)).one() == 1
    assert session.get(User, victim.id).role == Role.TRADER


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {}],
    ids=["null-origin", "cross-site", "same-site", "no-origin-headers"],
)
def test_cookie_writes_without_proof_of_our_origin_are_403(client, session, factory, api_settings, headers):
    user = factory.user()
    _cookie_client(client, session, user, api_settings)
    assert client.post("/api/v1/agents", json=AGENT_DRAFT, headers=headers).status_code == 403


@pytest.mark.parametrize(
    "headers", [{"Origin": OURS}, {"Sec-Fetch-Site": "same-origin"}], ids=["origin", "fetch"]
)
def test_same_origin_cookie_writes_work(client, session, factory, api_settings, headers):
    user = factory.user(role=Role.ADMIN)
    deployment = factory.deployment(factory.agent(), user=user)
    _cookie_client(client, session, user, api_settings)

    assert client.post(f"/api/v1/deployments/{deployment.id}/pause", headers=headers).status_code == 200
    assert client.post("/api/v1/agents", json=AGENT_DRAFT, headers=headers).status_code == 201


def test_bearer_requests_and_cookieless_clients_need_no_origin(client, session, factory, api_settings):
    user = factory.user()
    token = create_session(session, user.id, settings=api_settings).token
    created = client.post(
        "/api/v1/agents", json=AGENT_DRAFT, headers={"Authorization": f"Bearer {token}", "Origin": EVIL}
    )
    assert created.status_code == 201
    # No cookie, no Origin: a script or curl, which cannot ride on anyone's session.
    assert client.post("/api/v1/auth/nonce", json={"address": "0x" + "ab" * 20}).status_code == 200


def test_reads_are_not_refused_for_their_origin(client, session, factory, api_settings):
    _cookie_client(client, session, factory.user(), api_settings)
    assert client.get("/api/v1/auth/me", headers={"Origin": EVIL}).status_code == 200


# -- CORS, as Reflex applies it to the API it mounts --------------------------------------------------


@pytest.fixture
def reflex_config(monkeypatch: pytest.MonkeyPatch):
    """rxconfig.py loaded afresh with PUBLIC_URL naming the test server, as `reflex run` loads it."""
    from reflex_base.config import reload_config

    from backend.config import get_settings

    monkeypatch.setenv("PUBLIC_URL", OURS)
    monkeypatch.setenv("ENV", "dev")
    get_settings.cache_clear()
    yield reload_config()
    monkeypatch.undo()
    get_settings.cache_clear()
    reload_config()


def test_cors_allows_our_origin_only(engine: sa.Engine, api_settings: Settings, reflex_config):
    from reflex.app import App

    assert "*" not in reflex_config.cors_allowed_origins
    assert OURS in reflex_config.cors_allowed_origins
    app = create_api(engine=engine, settings=api_settings)
    App._add_cors(app)  # what rx.App(api_transformer=...) does to the API it mounts
    with TestClient(app) as client:
        evil = client.get("/api/v1/stats", headers={"Origin": EVIL})
        ours = client.get("/api/v1/stats", headers={"Origin": OURS})
        preflight = client.options(
            "/api/v1/agents", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
        )
    assert "access-control-allow-origin" not in evil.headers
    assert ours.headers["access-control-allow-origin"] == OURS
    assert ours.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in preflight.headers


def test_rxconfig_names_public_url_and_dev_frontend_never_star(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    dev = Settings(public_url="https://maxxit.example", frontend_port=3000, app_host="127.0.0.1")
    assert dev.allowed_origins == ("https://maxxit.example", "http://127.0.0.1:3000", "http://localhost:3000")
    prod = Settings(env="prod", public_url="https://maxxit.example/", maxxit_secret_key="x" * 40)
    assert prod.allowed_origins == ("https://maxxit.example",)
    assert "*" not in dev.allowed_origins + prod.allowed_origins


# -- security headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/stats", "/api/v1/no-such-path", "/health/live"])
def test_security_headers_on_every_answer(client, path):
    reply = client.get(path)
    csp = reply.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self' " in csp and "https:" not in csp and "*" not in csp
    assert "connect-src 'self' http://testserver ws://testserver" in csp
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_pages_mounted_inside_the_api_get_the_headers_too(engine, api_settings):
    """`reflex run --env prod` mounts the exported pages inside the app it was given (ours), as here."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    app = create_api(engine=engine, settings=api_settings)
    pages = Starlette(routes=[Route("/marketplace", lambda _request: HTMLResponse("<html></html>"))])
    app.mount("", pages)  # what rx.App does with an api_transformer
    with TestClient(app) as client:
        reply = client.get("/marketplace")
    assert reply.status_code == 200
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
    assert reply.headers["x-frame-options"] == "DENY"


# -- request body size -----------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_with_content_length(client, api_settings):
    body = b'{"address": "' + b"a" * api_settings.max_request_body_bytes + b'"}'
    reply = client.post("/api/v1/auth/nonce", content=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 413


def test_a_chunked_body_over_the_limit_is_413(client, api_settings):
    chunk = b"a" * 8192

    def chunks() -> Iterator[bytes]:  # a generator body goes out chunked, with no Content-Length
        for _ in range(api_settings.max_request_body_bytes // len(chunk) + 2):
            yield chunk

    reply = client.post("/api/v1/auth/nonce", content=chunks(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 413
    assert reply.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in reply.request.headers


def test_the_limit_is_a_setting(engine, api_settings):
    small = api_settings.model_copy(update={"max_request_body_bytes": 2048})
    with TestClient(create_api(engine=engine, settings=small)) as client:
        reply = client.post("/api/v1/auth/nonce", json={"address": "0x" + "ab" * 1100})
    assert reply.status_code == 413


# -- the client address behind proxies -------------------------------------------------------------------


def _ip_echo(settings: Settings, peer: str) -> TestClient:
    app = create_api(settings=settings)

    @app.get("/test/ip")
    def ip(address: ClientIpDep) -> dict[str, str | None]:
        return {"ip": address}

    return TestClient(app, client=(peer, 50000))


def test_forwarded_for_from_an_untrusted_peer_is_ignored(api_settings):
    settings = api_settings.model_copy(update={"trusted_proxies": "10.0.0.1"})
    with _ip_echo(settings, "203.0.113.9") as client:
        reply = client.get("/test/ip", headers={"X-Forwarded-For": "1.2.3.4"})
    assert reply.json() == {"ip": "203.0.113.9"}
    with _ip_echo(api_settings, "10.0.0.1") as client:  # nobody trusted by default
        assert client.get("/test/ip", headers={"X-Forwarded-For": "1.2.3.4"}).json() == {"ip": "10.0.0.1"}


def test_forwarded_for_from_a_trusted_proxy_gives_the_right_most_untrusted_address(api_settings):
    settings = api_settings.model_copy(update={"trusted_proxies": "10.0.0.0/8, 192.168.1.7"})
    with _ip_echo(settings, "10.0.0.1") as client:
        # The client forged "6.6.6.6"; the edge proxy (192.168.1.7) appended the address it saw.
        reply = client.get("/test/ip", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.4, 192.168.1.7"})
        assert reply.json() == {"ip": "198.51.100.4"}
        assert client.get("/test/ip").json() == {"ip": "10.0.0.1"}  # no header: the proxy itself


def test_trusted_proxies_must_be_addresses_or_networks():
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/8,proxy.example")


def test_the_event_socket_sees_the_same_client_address():
    """Reflex's `router.session.client_ip` (UI sign-in limit, audit) reads the websocket scope's client."""
    import ipaddress

    from backend.api.middleware.client_address import ClientAddressMiddleware
    from tests.coroutines import run_coroutine

    seen = []

    async def socket_app(scope, receive, send):
        seen.append(scope["client"])

    trusted = [ipaddress.ip_network("10.0.0.0/8")]
    guarded = ClientAddressMiddleware(socket_app, trusted=lambda: trusted)
    for peer in ("10.0.0.1", "203.0.113.9"):
        scope = {
            "type": "websocket",
            "client": (peer, 1234),
            "headers": [(b"x-forwarded-for", b"198.51.100.4")],
        }
        run_coroutine(guarded(scope, None, None))
    assert seen == [("198.51.100.4", 1234), ("203.0.113.9", 1234)]
