"""GET /api/v1/signals on SQLite and PostgreSQL: the 422s, who may read, and the JSON a client gets."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from backend.auth.users import create_admin
from backend.models import Agent
from backend.models.enums import SignalStatus, Visibility
from tests.factories import Factory
from tests.wallets import Wallet


def bearer_for(client: TestClient, wallet: Wallet) -> dict[str, str]:
    """Sign in as the wallet through SIWE; the Bearer header only (the cookie is dropped)."""
    message = client.post("/api/v1/auth/nonce", json={"address": wallet.address}).json()["message"]
    verified = client.post(
        "/api/v1/auth/verify", json={"message": message, "signature": wallet.sign(message)}
    )
    assert verified.status_code == 200, verified.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {verified.json()['token']}"}


@pytest.fixture
def owner_wallet() -> Wallet:
    return Wallet()


@pytest.fixture
def private_agent(factory: Factory, owner_wallet: Wallet) -> Agent:
    owner = factory.user(address=owner_wallet.lower)
    agent = factory.agent(owner, visibility=Visibility.PRIVATE, weight_tweet=60, weight_rsi=20)
    factory.signal(agent, token="ETH", features={"tweet": "0.9", "rsi": "0.5"}, score=D("0.8"))
    return agent


def test_agent_id_is_required(client: TestClient):
    response = client.get("/api/v1/signals")
    assert response.status_code == 422
    assert response.json() == {"detail": [{"field": "agent_id", "message": "Field required"}]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("agent_id=0", "agent_id"),
        ("agent_id=abc", "agent_id"),
        ("agent_id=1&limit=101", "limit"),
        ("agent_id=1&offset=-1", "offset"),
        ("agent_id=1&token=" + "X" * 17, "token"),
        ("agent_id=1&agent=2", "agent"),
    ],
)
def test_bad_query_values_are_422_on_the_field(client: TestClient, query: str, field: str):
    response = client.get(f"/api/v1/signals?{query}")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == [field]


def test_public_agent_signals_for_anyone(client: TestClient, factory: Factory):
    account = factory.ct_account(handle="TapeOwlTrades")
    agent = factory.agent(weight_tweet=60, weight_rsi=20)
    post = factory.post(account, text="$ETH longing the reclaim", confidence=D("0.9"), classifier="gpt-x")
    factory.signal(agent, token="BTC", status=SignalStatus.PENDING)
    executed = factory.signal(
        agent, post, token="ETH", score=D("0.8"), features={"tweet": "0.9", "rsi": "0.5"}
    )
    factory.closed_position(factory.deployment(agent), D("3"), signal_id=executed.id)

    response = client.get(f"/api/v1/signals?agent_id={agent.id}&token=eth")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (1, 25, 0)
    assert (body["agent_name"], body["threshold"]) == (agent.name, "0.550000")
    (item,) = body["items"]
    assert item["post_handle"] == "TapeOwlTrades" and item["post_text"] == post.text
    assert item["features"] == {"tweet": "0.9", "rsi": "0.5"}  # decimal strings, WEIGHT_NAMES order
    assert item["contributions"] == {"tweet": "0.675000", "rsi": "0.125000"}  # 60*0.9/80, 20*0.5/80
    assert item["outcome"] == "Traded: 1 position"

    everything = client.get(f"/api/v1/signals?agent_id={agent.id}&limit=1&offset=1").json()
    assert everything["total"] == 2 and everything["items"][0]["outcome"] == "Awaiting execution"


def test_private_agent_is_404_for_others_as_an_unknown_one(
    client: TestClient, private_agent: Agent, factory: Factory
):
    anonymous = client.get(f"/api/v1/signals?agent_id={private_agent.id}")
    assert anonymous.status_code == 404
    assert anonymous.json() == {"detail": f"agent {private_agent.id} not found"}
    unknown = client.get("/api/v1/signals?agent_id=999999")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "agent 999999 not found"}

    stranger = bearer_for(client, Wallet())
    assert client.get(f"/api/v1/signals?agent_id={private_agent.id}", headers=stranger).status_code == 404


def test_owner_and_admin_see_a_private_agents_signals(
    client: TestClient, private_agent: Agent, owner_wallet: Wallet, session: Session
):
    url = f"/api/v1/signals?agent_id={private_agent.id}"
    owner = client.get(url, headers=bearer_for(client, owner_wallet))
    assert owner.status_code == 200, owner.text
    assert [i["token"] for i in owner.json()["items"]] == ["ETH"]

    admin_wallet = Wallet()
    _, changed = create_admin(session, admin_wallet.address)
    assert changed
    admin = client.get(url, headers=bearer_for(client, admin_wallet))
    assert admin.status_code == 200 and admin.json()["total"] == 1


def test_the_session_cookie_works_too(client: TestClient, private_agent: Agent, owner_wallet: Wallet):
    headers = bearer_for(client, owner_wallet)
    client.cookies.set("maxxit_session", headers["Authorization"].removeprefix("Bearer "))
    assert client.get(f"/api/v1/signals?agent_id={private_agent.id}").status_code == 200


def test_a_dead_token_is_401_not_anonymous(client: TestClient, factory: Factory):
    agent = factory.agent()
    response = client.get(f"/api/v1/signals?agent_id={agent.id}", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
