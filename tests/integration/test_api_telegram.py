"""Telegram over HTTP: the user's link endpoints (401 first), and webhook mode end to end, Telegram (the
local Bot API server) posting updates to the real API with a good, a wrong or no secret token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select

from backend.api import create_api
from backend.auth.sessions import create_session
from backend.config import Settings
from backend.models import TelegramLink, User
from backend.notify.telegram.client import TelegramClient
from tests.telegram_server import TelegramServer

WEBHOOK = "http://testserver/api/v1/telegram/updates"
SECRET = "s3cret-token_for-webhooks"
CHAT = 5555


@pytest.fixture
def settings(api_settings: Settings, telegram_server: TelegramServer) -> Settings:
    return api_settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(telegram_server.token),
            "telegram_api_base_url": telegram_server.url,
            "telegram_webhook_secret": SecretStr(SECRET),
        }
    )


@pytest.fixture
def app(engine: sa.Engine, settings: Settings) -> FastAPI:
    return create_api(engine=engine, settings=settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def user_headers(session: Session, factory, settings: Settings) -> tuple[User, dict[str, str]]:
    user = factory.user()
    issued = create_session(session, user.id, settings=settings)
    return user, {"Authorization": f"Bearer {issued.token}"}


@pytest.fixture
def webhook(telegram_server: TelegramServer, client: TestClient) -> TelegramServer:
    """Telegram in webhook mode, posting to the app under test."""
    telegram_server.webhook_client = client
    TelegramClient(telegram_server.url, telegram_server.token).set_webhook(WEBHOOK, SECRET)
    return telegram_server


def test_user_paths_answer_401_first(client: TestClient) -> None:
    assert client.get("/api/v1/telegram").status_code == 401
    assert client.post("/api/v1/telegram/link-code", content=b"{not json").status_code == 401
    assert client.delete("/api/v1/telegram/link").status_code == 401


def test_link_through_the_webhook_then_unlink(
    client: TestClient, webhook: TelegramServer, user_headers, session: Session
) -> None:
    _, headers = user_headers
    status = client.get("/api/v1/telegram", headers=headers).json()
    assert status == {"configured": True, "linked": False, "username": None, "linked_at": None,
                      "bot_username": "maxxit_test_bot"}  # fmt: skip
    issued = client.post("/api/v1/telegram/link-code", headers=headers)
    assert issued.status_code == 200
    code = issued.json()["code"]
    assert issued.json()["url"] == f"https://t.me/maxxit_test_bot?start={code}"

    webhook.user_sends(CHAT, f"/start {code}", username="carol")
    assert [d.status for d in webhook.webhook_deliveries] == [200]
    assert webhook.texts_to(CHAT)[0].startswith("Linked to your Maxxit account")
    linked = client.get("/api/v1/telegram", headers=headers).json()
    assert (linked["linked"], linked["username"]) == (True, "carol")
    webhook.user_sends(CHAT, "/pnl")
    assert "Realised PnL, last 7 days" in webhook.texts_to(CHAT)[-1]

    assert client.delete("/api/v1/telegram/link", headers=headers).json() == {"unlinked": True}
    assert client.delete("/api/v1/telegram/link", headers=headers).json() == {"unlinked": False}
    assert session.exec(select(TelegramLink)).all() == []


def test_webhook_refuses_a_wrong_or_missing_secret(
    client: TestClient, telegram_server: TelegramServer, user_headers
) -> None:
    _, headers = user_headers
    code = client.post("/api/v1/telegram/link-code", headers=headers).json()["code"]
    telegram_server.webhook_client = client
    TelegramClient(telegram_server.url, telegram_server.token).set_webhook(WEBHOOK, "not-the-secret")
    telegram_server.user_sends(CHAT, f"/start {code}")
    update = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": CHAT, "type": "private"},
                                          "from": {"id": CHAT}, "text": f"/start {code}"}}  # fmt: skip
    missing = client.post("/api/v1/telegram/updates", json=update)
    assert [d.status for d in telegram_server.webhook_deliveries] == [401]
    assert missing.status_code == 401
    assert telegram_server.texts_to(CHAT) == []
    assert client.get("/api/v1/telegram", headers=headers).json()["linked"] is False
    good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for bad in (b"not json", b"[]", b'{"update_id": "x"}', b'{"update_id": -1}'):
        answer = client.post("/api/v1/telegram/updates", content=bad, headers=good)
        assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "update_id"
    # The real thing with the right secret links, once, even if Telegram delivers it twice.
    assert client.post("/api/v1/telegram/updates", json=update, headers=good).json() == {"ok": True}
    assert client.post("/api/v1/telegram/updates", json=update, headers=good).json() == {"ok": True}
    assert len(telegram_server.texts_to(CHAT)) == 1


def test_webhook_off_without_a_secret_and_link_code_without_a_bot(
    engine: sa.Engine, api_settings: Settings, session: Session, factory
) -> None:
    user = factory.user()
    token = create_session(session, user.id, settings=api_settings).token
    with TestClient(create_api(engine=engine, settings=api_settings)) as plain:
        update = {"update_id": 1}
        assert plain.post("/api/v1/telegram/updates", json=update).status_code == 401
        headers = {"X-Telegram-Bot-Api-Secret-Token": ""}
        assert plain.post("/api/v1/telegram/updates", json=update, headers=headers).status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        assert plain.post("/api/v1/telegram/link-code", headers=auth).status_code == 409
        assert plain.get("/api/v1/telegram", headers=auth).json()["configured"] is False


ODD_UPDATES = [
    {"update_id": 10},
    {"update_id": 11, "message": None},
    {"update_id": 12, "message": {"chat": [1], "from": "x", "text": 5}},
    {"update_id": 13, "message": {"chat": {"id": "5", "type": "private"}, "from": {"id": "5"},
                                  "text": "/status"}},
    {"update_id": 14, "message": {"chat": {"id": 2**70, "type": "private"}, "from": {"id": 2**70},
                                  "text": "/status"}},
    {"update_id": 15, "message": {"chat": {"id": 9, "type": "group"}, "from": {"id": 9}, "text": "/help"}},
    {"update_id": 16, "message": {"chat": {"id": 9, "type": "private"}, "from": {"id": 9, "username": 5},
                                  "text": "/start " + "x" * 5000}},
    {"update_id": 17, "callback_query": {"id": "1", "data": "c:1:2:3"}},
    {"update_id": 18, "callback_query": {"id": 5, "from": {"id": 9}, "message": {"message_id": "x"}}},
    {"update_id": 19, "edited_message": {"text": "/status"}},
]  # fmt: skip


@pytest.mark.parametrize("update", ODD_UPDATES, ids=lambda u: str(u["update_id"]))
def test_odd_updates_never_fail_the_webhook(
    client: TestClient, telegram_server: TelegramServer, update
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    answer = client.post("/api/v1/telegram/updates", json=update, headers=headers)
    assert answer.status_code == 200
    # Nothing but the answer to a (bad) link code: no data, no crash.
    texts = [c["text"] for c in telegram_server.calls_of("sendMessage")]
    assert all(t.startswith("This link code is not valid") for t in texts)


def test_update_ids_out_of_range_are_422(client: TestClient) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for bad in (2**63, True, 1.5):
        answer = client.post("/api/v1/telegram/updates", json={"update_id": bad}, headers=headers)
        assert answer.status_code == 422
