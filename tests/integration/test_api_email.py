"""Email over HTTP against a real SMTP server, on SQLite and PostgreSQL: 401 signed out first, 422 on the
field, 409 when email is off here, 503 when the mail server is down, the mailed token verifies only its
own user's address."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from backend.api import create_api
from backend.auth.sessions import create_session
from backend.config import Settings
from backend.models import EmailAddress, User
from tests.smtp_server import SmtpServer, free_port

BASE = "/api/v1/notifications/email"
LINK = re.compile(r"/settings/notifications/verify-email\?token=([A-Za-z0-9_-]+)")
Headers = dict[str, str]


def _client(engine, settings: Settings) -> TestClient:
    return TestClient(create_api(engine=engine, settings=settings))


@pytest.fixture
def mail_settings(api_settings: Settings, smtp_server: SmtpServer) -> Settings:
    return api_settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port, "smtp_starttls": False}
    )


@pytest.fixture
def mail_client(engine, mail_settings: Settings) -> Iterator[TestClient]:
    with _client(engine, mail_settings) as c:
        yield c


@pytest.fixture
def signed_in(session: Session, api_settings: Settings) -> Callable[[User], Headers]:
    def headers(user: User) -> Headers:
        return {"Authorization": f"Bearer {create_session(session, user.id, settings=api_settings).token}"}

    return headers


def _token(server: SmtpServer, to: str) -> str:
    found = LINK.search(server.to(to)[-1].part("plain"))
    assert found
    return found.group(1)


def test_every_email_path_is_401_signed_out_before_the_body_is_judged(mail_client):
    bad = {"content": b'{"address": 1', "headers": {"Content-Type": "application/json"}}
    answers = [
        mail_client.get(BASE).status_code,
        mail_client.request("PUT", BASE, **bad).status_code,
        mail_client.request("PATCH", BASE, **bad).status_code,
        mail_client.delete(BASE).status_code,
        mail_client.request("POST", f"{BASE}/verify", **bad).status_code,
    ]
    assert answers == [401] * 5


def test_set_verify_and_change_over_http(mail_client, factory, signed_in, smtp_server, session):
    user = factory.user()
    me = signed_in(user)
    assert mail_client.get(BASE, headers=me).json() == {
        "configured": True,
        "address": None,
        "verified": False,
        "frequency": "each",
        "verification_expires_at": None,
    }
    answer = mail_client.put(BASE, json={"address": "me@example.com", "frequency": "daily"}, headers=me)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["address"], body["verified"], body["frequency"]) == ("me@example.com", False, "daily")
    assert body["verification_expires_at"] is not None
    token = _token(smtp_server, "me@example.com")

    verified = mail_client.post(f"{BASE}/verify", json={"token": token}, headers=me)
    assert verified.status_code == 200 and verified.json()["verified"] is True
    again = mail_client.post(f"{BASE}/verify", json={"token": token}, headers=me)
    assert again.status_code == 404

    assert mail_client.patch(BASE, json={"frequency": "each"}, headers=me).json()["frequency"] == "each"
    assert mail_client.delete(BASE, headers=me).status_code == 204
    assert mail_client.get(BASE, headers=me).json()["address"] is None
    assert mail_client.patch(BASE, json={"frequency": "daily"}, headers=me).status_code == 404


def test_another_users_token_is_404_and_verifies_nothing(
    mail_client, factory, signed_in, smtp_server, session
):
    owner, stranger = factory.user(), factory.user()
    assert (
        mail_client.put(BASE, json={"address": "own@example.com"}, headers=signed_in(owner)).status_code
        == 200
    )
    token = _token(smtp_server, "own@example.com")
    answer = mail_client.post(f"{BASE}/verify", json={"token": token}, headers=signed_in(stranger))
    assert answer.status_code == 404
    assert "not valid" in answer.json()["detail"]
    assert session.exec(select(EmailAddress)).one().verified_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"address": "victim@example.com\r\nBcc: all@example.com"}, "address"),
        ({"address": "not-an-address"}, "address"),
        ({"address": "a@b.com", "frequency": "hourly"}, "frequency"),
        ({"address": "a@b.com", "extra": 1}, "extra"),
        ({}, "address"),
    ],
)
def test_bad_bodies_are_422_on_the_field_and_send_nothing(
    mail_client, factory, signed_in, smtp_server, body, field
):
    answer = mail_client.put(BASE, json=body, headers=signed_in(factory.user()))
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["detail"]] == [field]
    assert smtp_server.received() == []


def test_bad_patch_and_verify_bodies_are_422(mail_client, factory, signed_in):
    me = signed_in(factory.user())
    assert mail_client.patch(BASE, json={"frequency": "weekly"}, headers=me).status_code == 422
    assert mail_client.post(f"{BASE}/verify", json={"token": ""}, headers=me).status_code == 422
    assert mail_client.post(f"{BASE}/verify", json={"token": "x" * 500}, headers=me).status_code == 422


def test_409_when_email_is_off_and_503_when_the_server_is_down(
    engine, api_settings, mail_settings, factory, signed_in
):
    me = signed_in(factory.user())
    with _client(engine, api_settings) as off:  # no SMTP_HOST
        answer = off.put(BASE, json={"address": "me@example.com"}, headers=me)
        assert answer.status_code == 409 and "email is off" in answer.json()["detail"]
        assert off.get(BASE, headers=me).json()["configured"] is False
        bad = off.put(BASE, json={"address": "not an address"}, headers=me)  # bad input is judged first
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "address"
    down = mail_settings.model_copy(update={"smtp_port": free_port()})
    with _client(engine, down) as c:
        answer = c.put(BASE, json={"address": "me@example.com"}, headers=me)
        assert answer.status_code == 503 and "could not be sent" in answer.json()["detail"]
        assert c.get(BASE, headers=me).json()["address"] is None


def test_a_refused_recipient_is_422_and_too_many_links_429(mail_client, factory, signed_in, smtp_server):
    me = signed_in(factory.user())
    smtp_server.refuse["nobody@example.com"] = "550 5.1.1 no such user"
    answer = mail_client.put(BASE, json={"address": "nobody@example.com"}, headers=me)
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "address"
    codes = [
        mail_client.put(BASE, json={"address": f"a{n}@example.com"}, headers=me).status_code for n in range(6)
    ]
    assert codes == [200] * 4 + [429, 429]  # the refused try counted too: it was a mail sent
    limited = mail_client.put(BASE, json={"address": "z@example.com"}, headers=me)
    assert int(limited.headers["Retry-After"]) > 0 and "too many" in limited.json()["detail"]
