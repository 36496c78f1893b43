"""Sign-in, sessions, rate limits and the admin endpoints over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from backend.api import create_api
from backend.audit import Action
from backend.auth.users import create_admin
from backend.config import Settings
from backend.models import AuditLog, AuthSession, User
from backend.models.enums import Role
from tests.wallets import TEST_SECRET_KEY, Wallet


def _settings(engine: sa.Engine, tmp_path: Path, **overrides) -> Settings:
    values = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "huey_sqlite_path": tmp_path / "huey.db",
        "maxxit_secret_key": TEST_SECRET_KEY,
        "public_url": "http://testserver",
        "auth_rate_limit_per_ip": 1000,
        "auth_rate_limit_per_address": 1000,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def client(engine: sa.Engine, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_api(engine=engine, settings=_settings(engine, tmp_path))) as c:
        yield c


def sign_in(client: TestClient, wallet: Wallet) -> dict:
    issued = client.post("/api/v1/auth/nonce", json={"address": wallet.address})
    assert issued.status_code == 200, issued.text
    message = issued.json()["message"]
    verified = client.post(
        "/api/v1/auth/verify", json={"message": message, "signature": wallet.sign(message)}
    )
    assert verified.status_code == 200, verified.text
    return verified.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_sign_in_end_to_end_with_bearer_and_cookie(client: TestClient):
    wallet = Wallet()
    body = sign_in(client, wallet)
    assert body["address"] == wallet.lower
    assert body["role"] == "trader"

    cookie = client.cookies.get("maxxit_session")
    assert cookie == body["token"]
    me = client.get("/api/v1/auth/me")  # the cookie alone authenticates
    assert me.status_code == 200
    assert me.json()["address"] == wallet.lower

    client.cookies.clear()
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(body["token"])).json()["role"] == "trader"


def test_cookie_is_http_only_and_strict(client: TestClient):
    wallet = Wallet()
    message = client.post("/api/v1/auth/nonce", json={"address": wallet.address}).json()["message"]
    verified = client.post(
        "/api/v1/auth/verify", json={"message": message, "signature": wallet.sign(message)}
    )
    header = verified.headers["set-cookie"].lower()
    assert "httponly" in header
    assert "samesite=strict" in header
    assert "path=/" in header


def test_logout_revokes_the_token(client: TestClient):
    token = sign_in(client, Wallet())["token"]
    client.cookies.clear()
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    refused = client.get("/api/v1/auth/me", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json() == {"detail": "this session was signed out"}
    assert refused.headers["www-authenticate"] == "Bearer"
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204


@pytest.mark.parametrize(
    ("token", "detail"),
    [(None, "sign in required"), ("abc.def", "invalid session token"), ("", "sign in required")],
)
def test_missing_or_forged_tokens_get_401(client: TestClient, token: str | None, detail: str):
    headers = {} if token is None else bearer(token)
    answer = client.get("/api/v1/auth/me", headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"detail": detail}


def test_refused_signature_is_401_with_the_reason_and_audited(client: TestClient, engine: sa.Engine):
    wallet, impostor = Wallet(), Wallet()
    message = client.post("/api/v1/auth/nonce", json={"address": wallet.address}).json()["message"]
    answer = client.post(
        "/api/v1/auth/verify", json={"message": message, "signature": impostor.sign(message)}
    )
    assert answer.status_code == 401
    assert answer.json() == {"detail": "the signature does not match the message's address"}
    assert "maxxit_session" not in client.cookies
    with Session(engine) as s:
        failure = s.exec(select(AuditLog).where(AuditLog.action == Action.SIGN_IN_FAILED)).one()
        assert failure.actor == wallet.lower
        assert failure.ip == "testclient"
        assert s.exec(select(AuthSession)).first() is None


@pytest.mark.parametrize(
    ("body", "field"),
    [({"address": "0x12"}, "address"), ({}, "address"), ({"address": "0x" + "g" * 40}, "address")],
)
def test_bad_nonce_requests_get_422(client: TestClient, body: dict, field: str):
    answer = client.post("/api/v1/auth/nonce", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == field


def test_verify_without_signature_gets_422(client: TestClient):
    answer = client.post("/api/v1/auth/verify", json={"message": "x"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == [{"field": "signature", "message": "Field required"}]


def test_per_ip_limit_answers_429_with_retry_after(engine: sa.Engine, tmp_path: Path):
    settings = _settings(engine, tmp_path, auth_rate_limit_per_ip=3)
    with TestClient(create_api(engine=engine, settings=settings)) as limited:
        for _ in range(3):
            assert limited.post("/api/v1/auth/nonce", json={"address": Wallet().address}).status_code == 200
        answer = limited.post("/api/v1/auth/nonce", json={"address": Wallet().address})
    assert answer.status_code == 429
    assert "too many sign-in attempts from your network" in answer.json()["detail"]
    assert 1 <= int(answer.headers["retry-after"]) <= 61


def test_asking_for_nonces_never_locks_a_wallet_out(engine: sa.Engine, tmp_path: Path):
    settings = _settings(engine, tmp_path, auth_rate_limit_per_address=2)
    wallet = Wallet()
    with TestClient(create_api(engine=engine, settings=settings)) as client:
        for _ in range(12):  # a stranger naming the wallet's address
            assert client.post("/api/v1/auth/nonce", json={"address": wallet.address}).status_code == 200
        assert sign_in(client, wallet)["address"] == wallet.lower


def test_failed_verifications_per_ip_and_wallet_answer_429(engine: sa.Engine, tmp_path: Path):
    settings = _settings(engine, tmp_path, auth_rate_limit_per_address=2)
    wallet, impostor = Wallet(), Wallet()
    with TestClient(create_api(engine=engine, settings=settings)) as client:
        codes = []
        for _ in range(3):
            message = client.post("/api/v1/auth/nonce", json={"address": wallet.address}).json()["message"]
            body = {"message": message, "signature": impostor.sign(message)}
            codes.append(client.post("/api/v1/auth/verify", json=body).status_code)
        assert codes == [401, 401, 429]
        refused = client.post("/api/v1/auth/verify", json=body)
        assert "too many failed sign-ins for this wallet" in refused.json()["detail"]
        assert sign_in(client, Wallet())["token"]  # another wallet from the same network is unaffected


def test_overlong_sign_in_messages_get_422(client: TestClient):
    answer = client.post("/api/v1/auth/verify", json={"message": "a" * 2049, "signature": "0x00"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "message"


def test_cookie_only_sign_in_keeps_the_token_out_of_the_body(client: TestClient):
    wallet = Wallet()
    message = client.post("/api/v1/auth/nonce", json={"address": wallet.address}).json()["message"]
    body = {"message": message, "signature": wallet.sign(message), "cookie_only": True}
    answer = client.post("/api/v1/auth/verify", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["token"] is None
    token = answer.cookies["maxxit_session"]
    assert token not in answer.text
    assert client.get("/api/v1/auth/me").json()["address"] == wallet.lower


def test_nothing_secret_reaches_the_logs(client: TestClient, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.DEBUG):
        token = sign_in(client, Wallet())["token"]
        client.get("/api/v1/auth/me", headers=bearer(token))
        client.post("/api/v1/auth/logout", headers=bearer(token))
    assert "signed in" in caplog.text
    assert token not in caplog.text
    assert token.split(".")[0] not in caplog.text
    assert TEST_SECRET_KEY not in caplog.text


# --- admin --------------------------------------------------------------------------------------------


@pytest.fixture
def admin_token(client: TestClient, engine: sa.Engine) -> str:
    wallet = Wallet()
    with Session(engine) as s:
        create_admin(s, wallet.address)
    token = sign_in(client, wallet)["token"]
    client.cookies.clear()
    return token


def test_admin_endpoints_refuse_traders_and_strangers(client: TestClient):
    token = sign_in(client, Wallet())["token"]
    client.cookies.clear()
    for path in ("/api/v1/admin/users", "/api/v1/admin/audit"):
        assert client.get(path).status_code == 401
        forbidden = client.get(path, headers=bearer(token))
        assert forbidden.status_code == 403
        assert forbidden.json() == {"detail": "admins only"}


def test_admin_grants_and_revokes_and_every_change_is_audited(client: TestClient, admin_token: str):
    trader = Wallet()
    sign_in(client, trader)
    client.cookies.clear()

    users = client.get("/api/v1/admin/users", headers=bearer(admin_token)).json()
    assert users["total"] == 2
    assert users["items"][0]["role"] == "admin"

    path = f"/api/v1/admin/users/{trader.address}/role"
    granted = client.put(path, json={"role": "admin"}, headers=bearer(admin_token))
    assert granted.status_code == 200
    assert granted.json()["role"] == "admin"
    revoked = client.put(path, json={"role": "trader"}, headers=bearer(admin_token))
    assert revoked.json()["role"] == "trader"

    log = client.get(
        "/api/v1/admin/audit", params={"action": Action.ROLE_CHANGED}, headers=bearer(admin_token)
    )
    changes = [e["details"] for e in log.json()["items"]]
    assert [(c["from"], c["to"]) for c in changes] == [
        ("admin", "trader"),
        ("trader", "admin"),
        ("trader", "admin"),
    ]
    sign_ins = client.get(
        "/api/v1/admin/audit", params={"action": Action.SIGN_IN}, headers=bearer(admin_token)
    )
    assert sign_ins.json()["total"] == 2


def test_last_admin_cannot_demote_themself(client: TestClient, admin_token: str, engine: sa.Engine):
    me = client.get("/api/v1/auth/me", headers=bearer(admin_token)).json()
    answer = client.put(
        f"/api/v1/admin/users/{me['address']}/role", json={"role": "trader"}, headers=bearer(admin_token)
    )
    assert answer.status_code == 409
    assert answer.json() == {"detail": "cannot remove the last admin"}
    with Session(engine) as s:
        assert s.exec(select(User.role)).all() == [Role.ADMIN]


@pytest.mark.parametrize(
    ("address", "body", "status"),
    [
        ("0x" + "1" * 40, {"role": "admin"}, 404),
        ("nope", {"role": "admin"}, 422),
        ("0x" + "1" * 40, {"role": "emperor"}, 422),
    ],
)
def test_bad_role_changes_are_refused(
    client: TestClient, admin_token: str, address: str, body: dict, status: int
):
    answer = client.put(f"/api/v1/admin/users/{address}/role", json=body, headers=bearer(admin_token))
    assert answer.status_code == status


def test_audit_filters_refuse_unknown_parameters(client: TestClient, admin_token: str):
    answer = client.get("/api/v1/admin/audit", params={"colour": "red"}, headers=bearer(admin_token))
    assert answer.status_code == 422
