"""Deployments, agent-wallet approval and positions over HTTP, on SQLite and PostgreSQL.

Paper deployments run on the app's own paper venue; Hyperliquid ones against the local Hyperliquid-compatible
server, which verifies the approveAgent signature the test signs as the user's browser wallet would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from backend.agents.drafts import AgentPatch
from backend.agents.editing import update_agent
from backend.agents.reference import ensure_reference_book
from backend.api import create_api
from backend.api.deps import app_venues
from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.auth.sessions import create_session
from backend.config import Settings
from backend.execution.service import Executor
from backend.models import AgentDeployment, AgentWallet, AuditLog, User
from backend.models.enums import AgentStatus, ExecutionVenue, Role, SignalStatus, Venue, Visibility
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher
from tests.hyperliquid_server import HyperliquidServer

Headers = dict[str, str]
ARBITRUM_SEPOLIA = 421614


@pytest.fixture
def settings(api_settings: Settings) -> Settings:
    return api_settings


@pytest.fixture
def app(engine: sa.Engine, settings: Settings) -> FastAPI:
    return create_api(engine=engine, settings=settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def signed_in(session: Session, settings: Settings) -> Callable[[User], Headers]:
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


@pytest.fixture
def agent(factory):
    return factory.agent(venue=Venue.HYPERLIQUID)


def _deployments(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AgentDeployment)).one()


def _audit(session: Session, action: str) -> int:
    return session.exec(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)).one()


def _paper(client: TestClient, headers: Headers, agent_id: int, **body: Any) -> dict[str, Any]:
    reply = client.post(
        "/api/v1/deployments", json={"agent_id": agent_id, "venue": "PAPER", **body}, headers=headers
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


# -- paper ---------------------------------------------------------------------------------------------


def test_a_paper_deployment_is_active_with_its_balance_and_listed(client, as_owner, agent, session):
    reply = client.post(
        "/api/v1/deployments",
        json={"agent_id": agent.id, "venue": "PAPER", "starting_balance_usd": "2500"},
        headers=as_owner,
    )

    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert reply.headers["location"] == f"/api/v1/deployments/{created['id']}"
    assert (created["status"], created["venue"], created["agent_id"]) == ("ACTIVE", "PAPER", agent.id)
    assert created["agent_name"] == agent.name
    assert Decimal(created["balance_usd"]) == Decimal("2500") == Decimal(created["available_usd"])
    assert (created["open_positions"], Decimal(created["fees_paid"])) == (0, Decimal(0))
    assert created["agent_wallet_address"] is None
    assert _audit(session, "deployment.created") == 1

    listed = client.get("/api/v1/deployments", headers=as_owner)
    assert listed.status_code == 200
    assert listed.json() == [created]
    one = client.get(f"/api/v1/deployments/{created['id']}", headers=as_owner)
    assert one.status_code == 200
    assert one.json() == created


def test_the_default_balance_comes_from_settings(client, as_owner, agent, settings):
    created = _paper(client, as_owner, agent.id, risk={"sizing_profile": "aggressive", "leverage_cap": "3"})

    assert Decimal(created["balance_usd"]) == settings.paper_default_balance_usd
    assert created["risk"]["sizing_profile"] == "aggressive"
    assert Decimal(created["risk"]["leverage_cap"]) == 3


def test_pause_resume_cancel_and_no_way_back(client, as_owner, agent, session):
    deployment = _paper(client, as_owner, agent.id)
    path = f"/api/v1/deployments/{deployment['id']}"

    steps = [("pause", "PAUSED"), ("resume", "ACTIVE"), ("pause", "PAUSED"), ("cancel", "CANCELLED")]
    for action, status in steps:
        reply = client.post(f"{path}/{action}", headers=as_owner)
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] == status

    for action in ("resume", "pause", "cancel"):
        refused = client.post(f"{path}/{action}", headers=as_owner)
        assert refused.status_code == 409, refused.text
        assert "cancelled" in refused.json()["detail"]
    assert client.get(path, headers=as_owner).json()["status"] == "CANCELLED"
    assert _audit(session, "deployment.cancelled") == 1


def test_a_transition_that_does_not_fit_is_409(client, as_owner, agent):
    path = f"/api/v1/deployments/{_paper(client, as_owner, agent.id)['id']}"

    reply = client.post(f"{path}/resume", headers=as_owner)

    assert reply.status_code == 409
    assert reply.json() == {"detail": "only a paused deployment can be resumed"}


def test_someone_elses_deployment_is_not_found(client, factory, signed_in, as_owner, agent):
    theirs = factory.paper_deployment(agent, factory.user())
    mine = _paper(client, as_owner, agent.id)

    for method, path in [
        ("GET", f"/api/v1/deployments/{theirs.id}"),
        ("POST", f"/api/v1/deployments/{theirs.id}/pause"),
        ("POST", f"/api/v1/deployments/{theirs.id}/cancel"),
        ("GET", f"/api/v1/deployments/{theirs.id}/approval"),
        ("GET", f"/api/v1/positions?deployment_id={theirs.id}"),
        ("GET", "/api/v1/deployments/999999"),
    ]:
        reply = client.request(method, path, headers=as_owner)
        assert reply.status_code == 404, (path, reply.text)
        assert reply.json()["detail"].startswith("deployment ")
    assert [d["id"] for d in client.get("/api/v1/deployments", headers=as_owner).json()] == [mine["id"]]


def test_anonymous_callers_are_401(client, factory, agent):
    deployment = factory.paper_deployment(agent)
    path = f"/api/v1/deployments/{deployment.id}"
    for method, url, body in [
        ("POST", "/api/v1/deployments", {"agent_id": agent.id, "venue": "PAPER"}),
        ("GET", "/api/v1/deployments", None),
        ("GET", path, None),
        ("POST", f"{path}/pause", None),
        ("POST", f"{path}/resume", None),
        ("POST", f"{path}/cancel", None),
        ("POST", f"{path}/accept-version", None),
        ("GET", f"{path}/approval", None),
        ("POST", f"{path}/approval", {"signature": "0x" + "ab" * 65, "nonce": 1}),
        ("GET", "/api/v1/positions", None),
    ]:
        reply = client.request(method, url, json=body)
        assert reply.status_code == 401, (url, reply.text)
        assert reply.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"venue": "GMX"}, "venue"),
        ({"venue": "SPOT"}, "safe_address"),
        ({"venue": "SPOT", "safe_address": "0x12345"}, "safe_address"),
        ({"venue": "SPOT", "safe_address": "0x" + "aB" * 20}, "safe_address"),  # not its checksum
        ({"starting_balance_usd": "-100"}, "starting_balance_usd"),
        ({"colour": "blue"}, "colour"),
        ({"risk": {"leverage_cap": "0"}}, "risk.leverage_cap"),
        ({"risk": {"stoploss": "1.5"}}, "risk.stoploss"),
        ({"user_wallet": "not-an-address"}, "user_wallet"),
        ({"agent_id": 0}, "agent_id"),
    ],
)
def test_invalid_bodies_are_422_on_the_field_and_write_nothing(
    client, as_owner, agent, session, changes, field
):
    body = {"agent_id": agent.id, "venue": "PAPER"} | changes

    reply = client.post("/api/v1/deployments", json=body, headers=as_owner)

    assert reply.status_code == 422, reply.text
    errors = reply.json()["detail"]
    assert field in [e["field"] for e in errors], errors
    assert all(e["message"] for e in errors)
    assert _deployments(session) == 0


def test_hyperliquid_without_the_users_wallet_is_422(client, as_owner, agent, session):
    reply = client.post(
        "/api/v1/deployments", json={"agent_id": agent.id, "venue": "HYPERLIQUID"}, headers=as_owner
    )

    assert reply.status_code == 422, reply.text
    [error] = reply.json()["detail"]
    assert error["field"] == "user_wallet"
    assert "Hyperliquid account address is required" in error["message"]
    assert _deployments(session) == 0


@pytest.mark.parametrize("venue", [Venue.SPOT, Venue.GMX, Venue.OSTIUM])
def test_hyperliquid_for_an_agent_of_another_venue_is_422_on_venue(client, as_owner, factory, session, venue):
    agent = factory.agent(venue=venue)
    body = {"agent_id": agent.id, "venue": "HYPERLIQUID", "user_wallet": Account.create().address}

    reply = client.post("/api/v1/deployments", json=body, headers=as_owner)

    assert reply.status_code == 422, reply.text
    [error] = reply.json()["detail"]
    assert error["field"] == "venue"
    assert "PAPER" in error["message"]
    assert _deployments(session) == 0 and session.exec(select(AgentWallet)).first() is None


@pytest.mark.parametrize("preferences", [["HYPERLIQUID", "PAPER"], ["PAPER", "HYPERLIQUID"]])
def test_a_route_mixing_paper_and_a_live_venue_is_422_on_venue_preferences(
    client, as_owner, factory, session, preferences
):
    """Paper is never a fallback for a live deployment: a MULTI route is all live or paper only."""
    agent = factory.agent(venue=Venue.MULTI)
    body = {
        "agent_id": agent.id,
        "venue": preferences[0],
        "venue_preferences": preferences,
        "user_wallet": Account.create().address,
    }

    reply = client.post("/api/v1/deployments", json=body, headers=as_owner)

    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"] == [
        {
            "field": "venue_preferences",
            "message": "paper cannot back up a live venue: choose live venues only, or paper only",
        }
    ]
    assert _deployments(session) == 0 and session.exec(select(AgentWallet)).first() is None


def test_a_paper_only_route_of_a_multi_agent_is_deployed(client, as_owner, factory):
    agent = factory.agent(venue=Venue.MULTI)

    made = _paper(client, as_owner, agent.id, venue_preferences=["PAPER"])

    assert (made["venue"], made["venue_preferences"], made["status"]) == ("PAPER", ["PAPER"], "ACTIVE")


def test_an_agent_you_cannot_see_is_422_on_agent_id(client, as_owner, factory, session):
    private = factory.agent(visibility=Visibility.PRIVATE)

    for agent_id in (private.id, 999_999):
        reply = client.post(
            "/api/v1/deployments", json={"agent_id": agent_id, "venue": "PAPER"}, headers=as_owner
        )
        assert reply.status_code == 422, reply.text
        assert reply.json()["detail"] == [{"field": "agent_id", "message": f"agent {agent_id} not found"}]
    assert _deployments(session) == 0


def test_an_agent_that_is_not_active_is_409(client, as_owner, owner, factory, session):
    paused = factory.agent(owner, status=AgentStatus.PAUSED)

    reply = client.post(
        "/api/v1/deployments", json={"agent_id": paused.id, "venue": "PAPER"}, headers=as_owner
    )

    assert reply.status_code == 409, reply.text
    assert "only active agents" in reply.json()["detail"]
    assert _deployments(session) == 0


def test_a_paper_deployment_has_no_approval_to_sign(client, as_owner, agent):
    path = f"/api/v1/deployments/{_paper(client, as_owner, agent.id)['id']}/approval"

    reply = client.get(path, headers=as_owner)

    assert reply.status_code == 409
    assert "paper only" in reply.json()["detail"]


def test_positions_show_the_executed_signal_with_its_fees(app, client, as_owner, agent, factory, session):
    deployment = _paper(client, as_owner, agent.id, starting_balance_usd="10000")
    post = factory.post(factory.ct_account(), text="$ETH looks heavy, shorting the bounce")
    signal = factory.signal(
        agent, post, token="ETH", side="short", score=Decimal("0.81"), status=SignalStatus.PENDING
    )
    paper = app_venues(app).get(ExecutionVenue.PAPER)
    executor = Executor(VenueRegistry({ExecutionVenue.PAPER: paper}), WalletCipher(b"k" * 32))

    outcome = executor.execute(session, signal.id, deployment["id"])

    assert outcome.status == "FILLED", outcome
    reply = client.get("/api/v1/positions", headers=as_owner)
    assert reply.status_code == 200, reply.text
    [position] = reply.json()
    assert (position["id"], position["deployment_id"]) == (outcome.position_id, deployment["id"])
    assert (position["market"], position["side"], position["status"]) == ("ETH", "short", "OPEN")
    assert (position["venue"], position["agent_id"], position["agent_name"]) == (
        "PAPER",
        agent.id,
        agent.name,
    )
    assert Decimal(position["trade_fee"]) == 0  # paper trading is free
    assert Decimal(position["figures"]["total_fees"]) == Decimal(position["entry_fee"])
    assert Decimal(position["entry_fee"]) > 0
    assert (position["signal_id"], Decimal(position["signal_score"])) == (signal.id, Decimal("0.81"))
    assert position["post_excerpt"] == post.text
    assert Decimal(position["size"]) > 0 and Decimal(position["entry_price"]) > 0

    filtered = client.get(
        f"/api/v1/positions?deployment_id={deployment['id']}&status=OPEN&limit=1", headers=as_owner
    )
    assert filtered.json() == [position]
    assert client.get("/api/v1/positions?status=CLOSED", headers=as_owner).json() == []
    after = client.get(f"/api/v1/deployments/{deployment['id']}", headers=as_owner).json()
    assert after["open_positions"] == 1
    assert Decimal(after["fees_paid"]) == Decimal(position["entry_fee"])


def test_other_users_positions_are_not_listed(client, as_owner, agent, factory):
    theirs = factory.paper_deployment(agent, factory.user())
    factory.closed_position(theirs, Decimal("12.5"))

    assert client.get("/api/v1/positions", headers=as_owner).json() == []


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=501", "limit"), ("status=OPENED", "status"), ("dep=1", "dep")],
)
def test_bad_position_queries_are_422(client, as_owner, query, field):
    reply = client.get(f"/api/v1/positions?{query}", headers=as_owner)

    assert reply.status_code == 422, reply.text
    assert [e["field"] for e in reply.json()["detail"]] == [field]


def test_the_endpoints_are_documented(client):
    paths = client.get("/api/openapi.json").json()["paths"]

    create = paths["/api/v1/deployments"]["post"]
    assert {"201", "401", "409", "422", "503"} <= set(create["responses"])
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "DeploymentView"
    )
    for action in ("pause", "resume", "cancel"):
        assert {"200", "401", "404", "409"} <= set(
            paths[f"/api/v1/deployments/{{deployment_id}}/{action}"]["post"]["responses"]
        )
    approval = paths["/api/v1/deployments/{deployment_id}/approval"]
    assert approval["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ApprovalRequest"
    )
    assert {"404", "409", "422", "503"} <= set(approval["post"]["responses"])
    assert paths["/api/v1/positions"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
        "items"
    ]["$ref"].endswith("PositionView")


# -- Hyperliquid ---------------------------------------------------------------------------------------


@pytest.fixture
def hl_settings(api_settings: Settings, hl_server: HyperliquidServer) -> Settings:
    return api_settings.model_copy(update={"hyperliquid_api": hl_server.url})


@pytest.fixture
def hl_client(engine: sa.Engine, hl_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_api(engine=engine, settings=hl_settings)) as c:
        yield c


class Recorder:
    """Every response body of a flow, to check no secret ever left the server."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def __call__(self, reply: httpx.Response) -> httpx.Response:
        self.bodies.append(reply.text)
        return reply


def _hl_deployment(client: TestClient, headers: Headers, agent_id: int, user: LocalAccount) -> httpx.Response:
    body = {"agent_id": agent_id, "venue": "HYPERLIQUID", "user_wallet": user.address}
    return client.post("/api/v1/deployments", json=body, headers=headers)


def _signed(client: TestClient, headers: Headers, deployment_id: int, signer: LocalAccount) -> dict[str, Any]:
    approval = client.get(
        f"/api/v1/deployments/{deployment_id}/approval?chain_id={ARBITRUM_SEPOLIA}", headers=headers
    )
    assert approval.status_code == 200, approval.text
    request = approval.json()
    signed = Account.sign_typed_data(signer.key, full_message=request["typed_data"])
    signature = "0x" + signed.signature.hex().removeprefix("0x")
    return {"signature": signature, "nonce": request["nonce"], "chain_id": request["chain_id"]}


def test_hyperliquid_deployment_is_approved_by_the_users_signature(
    hl_client, hl_server, hl_user, hl_settings, as_owner, agent, session
):
    record = Recorder()

    created = record(_hl_deployment(hl_client, as_owner, agent.id, hl_user))
    assert created.status_code == 201, created.text
    deployment = created.json()
    assert deployment["status"] == "PENDING_APPROVAL"
    assert deployment["user_wallet"].lower() == hl_user.address.lower()
    assert deployment["agent_wallet_approved"] is False
    agent_address = deployment["agent_wallet_address"]
    assert agent_address.startswith("0x") and len(agent_address) == 42
    # Trading waits for the approval: the deployment cannot be resumed into ACTIVE around it.
    early = record(hl_client.post(f"/api/v1/deployments/{deployment['id']}/resume", headers=as_owner))
    assert early.status_code == 409

    path = f"/api/v1/deployments/{deployment['id']}/approval"
    approval = record(hl_client.get(f"{path}?chain_id={ARBITRUM_SEPOLIA}", headers=as_owner))
    assert approval.status_code == 200, approval.text
    request = approval.json()
    assert request["agent_address"] == agent_address
    assert request["chain_id"] == ARBITRUM_SEPOLIA
    typed = request["typed_data"]
    assert typed["primaryType"] == "HyperliquidTransaction:ApproveAgent"
    assert typed["domain"]["chainId"] == ARBITRUM_SEPOLIA
    assert typed["message"]["agentAddress"].lower() == agent_address.lower()
    assert typed["message"]["nonce"] == request["nonce"]

    signed = Account.sign_typed_data(hl_user.key, full_message=typed)
    body = {"signature": "0x" + signed.signature.hex().removeprefix("0x"), "nonce": request["nonce"],
            "chain_id": ARBITRUM_SEPOLIA}  # fmt: skip
    approved = record(hl_client.post(path, json=body, headers=as_owner))

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "ACTIVE"
    assert approved.json()["agent_wallet_approved"] is True
    assert Decimal(approved.json()["balance_usd"]) == Decimal(10_000)
    assert agent_address.lower() in {a.lower() for a in hl_server.agents(hl_user.address).values()}
    # Posting the same approval again changes nothing.
    again = record(hl_client.post(path, json=body, headers=as_owner))
    assert again.status_code == 200 and again.json()["status"] == "ACTIVE"
    assert len(hl_server.actions("approveAgent")) == 1

    record(hl_client.get("/api/v1/deployments", headers=as_owner))
    record(hl_client.get(f"/api/v1/deployments/{deployment['id']}", headers=as_owner))
    record(hl_client.post(f"/api/v1/deployments/{deployment['id']}/pause", headers=as_owner))
    record(hl_client.post(f"/api/v1/deployments/{deployment['id']}/cancel", headers=as_owner))
    record(hl_client.get("/api/v1/positions", headers=as_owner))
    wallet = session.exec(select(AgentWallet).where(AgentWallet.deployment_id == deployment["id"])).one()
    key = WalletCipher.from_settings(hl_settings).decrypt(wallet.address, wallet.encrypted_private_key).key
    secret = bytes(key).hex()
    assert len(record.bodies) == 10
    for text in record.bodies:
        assert secret not in text.lower()


def test_a_signature_by_another_key_is_422_on_signature(
    hl_client, hl_server, hl_user, as_owner, agent, session
):
    deployment = _hl_deployment(hl_client, as_owner, agent.id, hl_user).json()
    body = _signed(hl_client, as_owner, deployment["id"], Account.create())

    reply = hl_client.post(f"/api/v1/deployments/{deployment['id']}/approval", json=body, headers=as_owner)

    assert reply.status_code == 422, reply.text
    [error] = reply.json()["detail"]
    assert error["field"] == "signature"
    assert hl_user.address.lower() in error["message"].lower()
    assert hl_server.agents(hl_user.address) == {}
    assert hl_server.actions("approveAgent") == []
    session.expire_all()
    assert session.get(AgentDeployment, deployment["id"]).status == "PENDING_APPROVAL"


def test_a_signature_that_recovers_no_one_is_422_on_signature(hl_client, hl_user, as_owner, agent, session):
    deployment = _hl_deployment(hl_client, as_owner, agent.id, hl_user).json()
    body = _signed(hl_client, as_owner, deployment["id"], hl_user)
    body["signature"] = "0x" + "00" * 64 + "1b"  # r = s = 0: no public key recovers from it

    reply = hl_client.post(f"/api/v1/deployments/{deployment['id']}/approval", json=body, headers=as_owner)

    assert reply.status_code == 422, reply.text
    assert [e["field"] for e in reply.json()["detail"]] == ["signature"]
    session.expire_all()
    assert session.get(AgentDeployment, deployment["id"]).status == "PENDING_APPROVAL"


def test_hyperliquid_unreachable_is_503_and_changes_nothing(
    hl_client, hl_server, hl_user, as_owner, agent, session
):
    deployment = _hl_deployment(hl_client, as_owner, agent.id, hl_user).json()
    body = _signed(hl_client, as_owner, deployment["id"], hl_user)
    hl_server.stop()

    reply = hl_client.post(f"/api/v1/deployments/{deployment['id']}/approval", json=body, headers=as_owner)

    assert reply.status_code == 503, reply.text
    assert reply.json()["detail"].startswith("venue unavailable: ")
    assert reply.headers["retry-after"]
    session.expire_all()
    assert session.get(AgentDeployment, deployment["id"]).status == "PENDING_APPROVAL"
    assert session.exec(select(AgentWallet)).one().approved_at is None
    # Reads still answer, without the balance the venue cannot give right now.
    read = hl_client.get(f"/api/v1/deployments/{deployment['id']}", headers=as_owner)
    assert read.status_code == 200
    assert read.json()["balance_usd"] is None


def test_hyperliquid_hiccup_then_the_same_approval_succeeds(hl_client, hl_server, hl_user, as_owner, agent):
    deployment = _hl_deployment(hl_client, as_owner, agent.id, hl_user).json()
    body = _signed(hl_client, as_owner, deployment["id"], hl_user)
    path = f"/api/v1/deployments/{deployment['id']}/approval"
    hl_server.fail_next(502)

    first = hl_client.post(path, json=body, headers=as_owner)
    assert first.status_code == 503, first.text

    second = hl_client.post(path, json=body, headers=as_owner)
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "ACTIVE"


# -- versions ------------------------------------------------------------------------------------------


def test_a_new_version_waits_for_the_owners_one_click_accept(client, as_owner, factory, signed_in, session):
    creator = factory.user()
    agent = factory.agent(creator=creator, venue=Venue.HYPERLIQUID)
    book = ensure_reference_book(session, agent, capital=Decimal(10000))
    session.commit()
    mine = _paper(client, as_owner, agent.id)
    path = f"/api/v1/deployments/{mine['id']}/accept-version"
    assert (mine["version"], mine["latest_version"], mine["new_version_available"]) == (1, 1, False)
    assert client.post(path, headers=as_owner).status_code == 409, "nothing newer to accept"

    me = CurrentUser(id=creator.id, address=creator.address, role=Role.TRADER)
    update_agent(session, me, agent.id, AgentPatch.model_validate({"risk": {"leverage": "2"}}))
    (listed,) = client.get("/api/v1/deployments", headers=as_owner).json()
    assert (listed["version"], listed["latest_version"], listed["new_version_available"]) == (1, 2, True)

    assert client.post(path).status_code == 401
    assert client.post(path, headers=signed_in(factory.user())).status_code == 404, "someone else's"
    for url in (f"/api/v1/deployments/{book.id}", f"/api/v1/deployments/{book.id}/accept-version"):
        reply = client.request("POST" if url.endswith("version") else "GET", url, headers=signed_in(creator))
        assert reply.status_code == 404, "the reference book is nobody's deployment, its creator's neither"

    reply = client.post(path, headers=as_owner)
    assert reply.status_code == 200, reply.text
    assert (reply.json()["version"], reply.json()["new_version_available"]) == (2, False)
    assert _audit(session, Action.DEPLOYMENT_VERSION_ACCEPTED) == 1
    assert client.post(path, headers=as_owner).status_code == 409
    assert _audit(session, Action.DEPLOYMENT_VERSION_ACCEPTED) == 1
