"""Caps on live deployments per trader and per agent, and on new ones a minute, over HTTP and in the service
(which the deploy wizard calls too), on SQLite and PostgreSQL, racing included."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from backend.api import create_api
from backend.auth.identity import CurrentUser
from backend.auth.sessions import create_session
from backend.config import Settings
from backend.deployments.errors import DeploymentConflict, DeploymentLimitReached
from backend.deployments.schemas import DeploymentRequest
from backend.deployments.service import change_status, create_deployment
from backend.models import AgentDeployment, User
from backend.wallets.keys import WalletCipher

ROOMY = {"max_active_deployments_per_user": 100, "max_active_deployments_per_agent": 100}


def _client(engine: sa.Engine, settings: Settings, **limits: int) -> TestClient:
    return TestClient(create_api(engine=engine, settings=settings.model_copy(update=limits)))


def _bearer(session: Session, user: User, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_session(session, user.id, settings=settings).token}"}


def _live(session: Session) -> int:
    query = select(func.count()).select_from(AgentDeployment).where(AgentDeployment.status != "CANCELLED")
    return session.exec(query).one()


def _deploy(client: TestClient, headers: dict[str, str], agent_id: int):
    return client.post("/api/v1/deployments", json={"agent_id": agent_id, "venue": "PAPER"}, headers=headers)


def test_a_trader_at_the_cap_gets_409_until_one_is_cancelled(engine, api_settings, session, factory):
    trader, agent = factory.user(), factory.agent()
    headers = _bearer(session, trader, api_settings)
    with _client(engine, api_settings, max_active_deployments_per_user=3) as client:
        made = [_deploy(client, headers, agent.id) for _ in range(3)]
        assert [r.status_code for r in made] == [201] * 3
        refused = _deploy(client, headers, agent.id)
        assert refused.status_code == 409
        assert "3 live deployments" in refused.json()["detail"]
        assert _live(session) == 3

        assert (
            client.post(f"/api/v1/deployments/{made[0].json()['id']}/cancel", headers=headers).status_code
            == 200
        )
        assert _deploy(client, headers, agent.id).status_code == 201


def test_an_agent_at_its_cap_refuses_every_trader(engine, api_settings, session, factory):
    agent, other_agent = factory.agent(), factory.agent()
    with _client(engine, api_settings, max_active_deployments_per_agent=2) as client:
        for _ in range(2):
            assert (
                _deploy(client, _bearer(session, factory.user(), api_settings), agent.id).status_code == 201
            )
        late = _bearer(session, factory.user(), api_settings)
        refused = _deploy(client, late, agent.id)
        assert refused.status_code == 409
        assert f"agent {agent.id} already has 2 live deployments" in refused.json()["detail"]
        assert _deploy(client, late, other_agent.id).status_code == 201


def test_too_many_new_deployments_a_minute_is_429(engine, api_settings, session, factory):
    trader, agent = factory.user(), factory.agent()
    headers = _bearer(session, trader, api_settings)
    with _client(engine, api_settings, deployment_creations_per_minute=2, **ROOMY) as client:
        first, second = _deploy(client, headers, agent.id), _deploy(client, headers, agent.id)
        for made in (first, second):
            client.post(f"/api/v1/deployments/{made.json()['id']}/cancel", headers=headers)
        refused = _deploy(client, headers, agent.id)  # cancelling does not refill the minute's budget
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "in the last minute" in refused.json()["detail"]
        other = _bearer(session, factory.user(), api_settings)
        assert _deploy(client, other, agent.id).status_code == 201  # the budget is per trader


def test_the_service_refuses_too_so_the_wizard_can_say_why(session, factory, api_settings):
    trader, agent = factory.user(), factory.agent()
    user = CurrentUser(id=trader.id, address=trader.address, role=trader.role)
    settings = api_settings.model_copy(update={"max_active_deployments_per_user": 1})
    cipher = WalletCipher.from_settings(settings)
    request = DeploymentRequest(agent_id=agent.id, venue="PAPER")
    first = create_deployment(session, user, request, settings=settings, cipher=cipher)
    # The wizard shows any DeploymentConflict's message beside the form.
    with pytest.raises(DeploymentConflict, match="most allowed"):
        create_deployment(session, user, request, settings=settings, cipher=cipher)
    change_status(session, user, first.id, "pause")  # paused still counts: resuming needs no room
    with pytest.raises(DeploymentLimitReached):
        create_deployment(session, user, request, settings=settings, cipher=cipher)


def test_creations_racing_at_the_cap_let_exactly_one_through(engine, api_settings, factory):
    trader, agent = factory.user(), factory.agent()
    user = CurrentUser(id=trader.id, address=trader.address, role=trader.role)
    settings = api_settings.model_copy(update={"max_active_deployments_per_user": 1})
    cipher = WalletCipher.from_settings(settings)
    request = DeploymentRequest(agent_id=agent.id, venue="PAPER")
    racers = 6
    start = threading.Barrier(racers)
    outcomes: list[str] = []

    def deploy() -> None:
        with Session(engine, expire_on_commit=False) as session:
            start.wait()
            try:
                create_deployment(session, user, request, settings=settings, cipher=cipher)
                outcomes.append("created")
            except DeploymentLimitReached:
                outcomes.append("refused")

    threads = [threading.Thread(target=deploy) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created"] + ["refused"] * (racers - 1)
    with Session(engine) as session:
        assert _live(session) == 1
