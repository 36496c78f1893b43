"""GET /api/v1/venues (public) and POST /api/v1/admin/refresh-venues (admins; audited; the report)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from backend.api.app import create_api
from backend.audit import Action
from backend.auth.users import create_admin
from backend.config import Settings
from backend.models import AuditLog
from tests.integration.test_api_rebuild_metrics import _sign_in
from tests.wallets import TEST_SECRET_KEY, Wallet

REFRESH = "/api/v1/admin/refresh-venues"


@pytest.fixture
def app(engine: sa.Engine, tmp_path: Path, hl_server) -> FastAPI:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        huey_sqlite_path=tmp_path / "huey.db",
        maxxit_secret_key=TEST_SECRET_KEY,
        public_url="http://testserver",
        auth_rate_limit_per_ip=1000,
        auth_rate_limit_per_address=1000,
        hyperliquid_api=hl_server.url,
        hyperliquid_timeout_seconds=2,
    )
    return create_api(engine=engine, settings=settings)


@pytest.fixture
def admin(client: TestClient, engine: sa.Engine) -> dict[str, str]:
    wallet = Wallet()
    with Session(engine) as s:
        create_admin(s, wallet.address)
    return _sign_in(client, wallet)


def test_refresh_is_for_admins_only(client: TestClient):
    assert client.post(REFRESH).status_code == 401
    assert client.post(REFRESH, json={"anything": 1}).status_code == 401  # 401 before any body check
    trader = _sign_in(client, Wallet())
    refused = client.post(REFRESH, headers=trader)
    assert (refused.status_code, refused.json()) == (403, {"detail": "admins only"})
    assert client.get("/api/v1/venues").json() == {"venues": []}  # nothing was refreshed


def test_an_admin_refreshes_and_everyone_reads_the_venues(
    client: TestClient, admin: dict[str, str], session: Session, hl_server
):
    answer = client.post(REFRESH, headers=admin)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    paper, hyperliquid = sorted(report["venues"], key=lambda v: v["venue"] != "PAPER")
    assert paper["venue"] == "PAPER" and "BTC" in paper["added"] and paper["error"] is None
    assert hyperliquid["listed"] >= 190 and "PEPE" in hyperliquid["added"]
    assert set(hyperliquid) == {
        "venue",
        "listed",
        "active",
        "added",
        "changed",
        "delisted",
        "relisted",
        "error",
    }
    [audited] = session.exec(select(AuditLog).where(AuditLog.action == Action.VENUES_REFRESHED)).all()
    assert audited.actor_user_id is not None and audited.details["venues"] == report["venues"]

    hl_server.delist("kBONK")
    again = client.post(REFRESH, headers=admin).json()
    changed = {v["venue"]: v for v in again["venues"]}
    assert changed["HYPERLIQUID"]["delisted"] == ["BONK"] and changed["HYPERLIQUID"]["added"] == []

    page = client.get("/api/v1/venues")  # public: no session needed
    assert page.status_code == 200
    venues = {v["venue"]: v for v in page.json()["venues"]}
    assert set(venues) == {"PAPER", "HYPERLIQUID"}
    live = venues["HYPERLIQUID"]
    assert (
        live["markets_listed"] == hyperliquid["listed"]
        and live["markets_active"] == live["markets_listed"] - 11
    )
    pepe = next(m for m in live["markets"] if m["symbol"] == "PEPE")
    assert pepe == {
        "symbol": "PEPE",
        "name": "Pepe",
        "venue_market": "kPEPE",
        "units": 1000,
        "size_decimals": -3,
        "size_step": "1000",
        "min_size": "1000",
        "tick_size": pepe["tick_size"],
        "min_notional_usd": "10",
        "max_leverage": "10",
        "is_active": True,
        "updated_at": pepe["updated_at"],
    }
    delisted = client.get("/api/v1/venues", params={"venue": "HYPERLIQUID", "active": "false"}).json()
    assert "BONK" in {m["symbol"] for m in delisted["venues"][0]["markets"]}
    assert all(not m["is_active"] for m in delisted["venues"][0]["markets"])
    only_paper = client.get("/api/v1/venues", params={"venue": "PAPER"}).json()["venues"]
    assert [v["venue"] for v in only_paper] == ["PAPER"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"venue": "BINANCE"}, "venue"), ({"active": "maybe"}, "active"), ({"limit": "5"}, "limit")],
)
def test_bad_queries_are_422_naming_the_field(client: TestClient, params: dict, field: str):
    answer = client.get("/api/v1/venues", params=params)
    assert answer.status_code == 422
    assert field in answer.text
