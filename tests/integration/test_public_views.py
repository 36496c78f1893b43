"""What a public agent's pages and REST answers show on SQLite and PostgreSQL: aggregates to everyone, a
trader's own deployments only to that trader, and skip reasons as categories, never anyone's balance."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal as D
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from backend.agents.service import get_agent
from backend.auth.identity import CurrentUser
from backend.execution.reasons import SkipCategory, skip_reason
from backend.models import Agent, AgentDeployment, Position, Signal, SignalExecution, User
from backend.models.enums import ExecutionStatus, PositionStatus, Role
from backend.signals.history import list_signals
from tests.factories import Factory
from tests.integration.test_api_signals import bearer_for
from tests.wallets import Wallet

BALANCE_DETAIL = "$123.45 available, $2000.00 kept in reserve"
SIZE = D("3.217")  # a size no other figure on the page has


@dataclasses.dataclass(frozen=True)
class Followed:
    """A public agent whose latest signal one trader traded, and another trader's two deployments skipped."""

    agent: Agent
    signal: Signal
    trader: User
    trader_wallet: Wallet
    deployment: AgentDeployment
    position: Position
    skipper: User
    skipper_wallet: Wallet
    skipped: tuple[AgentDeployment, AgentDeployment]


def follow(factory: Factory, session: Session) -> Followed:
    trader_wallet, skipper_wallet = Wallet(), Wallet()
    trader = factory.user(address=trader_wallet.lower)
    skipper = factory.user(address=skipper_wallet.lower)
    agent = factory.agent(name="Followed")
    signal = factory.signal(agent, token="ETH")
    deployment = factory.deployment(agent, trader)
    position = factory.closed_position(
        deployment, D("7"), signal_id=signal.id, market="ETH", size=SIZE, status=PositionStatus.CLOSED
    )
    broke, paused = factory.deployment(agent, skipper), factory.deployment(agent, skipper)
    rows = [
        (deployment, ExecutionStatus.FILLED, None, position.id),
        (
            broke,
            ExecutionStatus.SKIPPED,
            skip_reason(SkipCategory.INSUFFICIENT_BALANCE, BALANCE_DETAIL),
            None,
        ),
        (paused, ExecutionStatus.SKIPPED, skip_reason(SkipCategory.DEPLOYMENT_PAUSED), None),
    ]
    for row, status, reason, position_id in rows:
        factory.execution(signal, row, status, reason=reason, position_id=position_id)
    return Followed(
        agent, signal, trader, trader_wallet, deployment, position, skipper, skipper_wallet, (broke, paused)
    )


def viewer(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


def keys(value: Any) -> set[str]:
    """Every key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def assert_public(answer: dict[str, Any], followed: Followed) -> None:
    """No row, id, size, balance or address of any follower's deployment in the answer."""
    text = json.dumps(answer)
    assert "123.45" not in text and "2000.00" not in text
    assert str(SIZE) not in text
    assert followed.trader.address not in text and followed.skipper.address not in text
    assert not keys(answer) & {"deployment_id", "position_id", "size", "user_id", "client_order_id"}


OUTCOME = "Partly traded: 1 position, 2 skipped (1 deployment paused, 1 insufficient balance)"


# --- services -------------------------------------------------------------------------------------------


def test_a_visitor_reads_the_agent_in_aggregates(factory: Factory, session: Session):
    followed = follow(factory, session)
    detail = get_agent(session, followed.agent.id, None)
    (signal,) = detail.recent_signals
    assert signal.outcome == OUTCOME
    assert (signal.positions_opened, signal.skipped) == (
        1,
        {"insufficient balance": 1, "deployment paused": 1},
    )
    assert detail.my_positions == []
    assert_public(detail.model_dump(mode="json"), followed)


def test_a_signed_in_trader_sees_only_their_own_positions(factory: Factory, session: Session):
    followed = follow(factory, session)
    mine = get_agent(session, followed.agent.id, viewer(followed.trader))
    assert [(p.id, p.deployment_id, p.size) for p in mine.my_positions] == [
        (followed.position.id, followed.deployment.id, SIZE)
    ]
    other = get_agent(session, followed.agent.id, viewer(followed.skipper))
    assert other.my_positions == []
    assert_public(other.model_dump(mode="json"), followed)


def test_signal_history_is_aggregates_for_visitors_and_other_traders(factory: Factory, session: Session):
    followed = follow(factory, session)
    for who in (None, viewer(followed.trader)):
        page = list_signals(session, agent_id=followed.agent.id, viewer=who)
        (item,) = page.items
        assert item.outcome == OUTCOME
        assert item.skipped == {"insufficient balance": 1, "deployment paused": 1}
        answer = page.model_dump(mode="json")
        answer["items"][0].pop("mine")  # the trader's own row is checked below
        assert_public(answer, followed)
    (item,) = list_signals(session, agent_id=followed.agent.id, viewer=viewer(followed.trader)).items
    assert [(m.deployment_id, m.status, m.position_id) for m in item.mine] == [
        (followed.deployment.id, ExecutionStatus.FILLED, followed.position.id)
    ]


def test_the_owner_of_a_skipped_deployment_reads_its_full_reason(factory: Factory, session: Session):
    followed = follow(factory, session)
    (item,) = list_signals(session, agent_id=followed.agent.id, viewer=viewer(followed.skipper)).items
    broke, paused = followed.skipped
    assert [(m.deployment_id, m.reason) for m in item.mine] == [
        (broke.id, f"insufficient balance: {BALANCE_DETAIL}"),
        (paused.id, "deployment paused"),
    ]
    assert item.outcome == OUTCOME  # the public sentence stays the same for the owner


def test_a_skip_reason_without_a_category_is_other_in_public(factory: Factory, session: Session):
    """Rows written before categories, whatever their words, show nothing of their detail."""
    followed = follow(factory, session)
    broke, _ = followed.skipped
    execution = session.exec(select(SignalExecution).where(SignalExecution.deployment_id == broke.id)).one()
    execution.reason = "available $123.45 < $10 minimum"
    session.commit()
    (item,) = list_signals(session, agent_id=followed.agent.id, viewer=None).items
    assert item.skipped == {"other": 1, "deployment paused": 1}
    assert "123.45" not in item.outcome


# --- REST ------------------------------------------------------------------------------------------------


def test_rest_agent_detail_anonymous_and_as_another_trader(
    client: TestClient, factory: Factory, session: Session
):
    followed = follow(factory, session)
    url = f"/api/v1/agents/{followed.agent.id}"
    anonymous = client.get(url)
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json()["recent_signals"][0]["outcome"] == OUTCOME
    assert anonymous.json()["my_positions"] == []
    assert_public(anonymous.json(), followed)

    other = client.get(url, headers=bearer_for(client, followed.skipper_wallet))
    assert other.status_code == 200 and other.json()["my_positions"] == []
    assert_public(other.json(), followed)

    own = client.get(url, headers=bearer_for(client, followed.trader_wallet)).json()["my_positions"]
    assert [(p["deployment_id"], D(p["size"])) for p in own] == [(followed.deployment.id, SIZE)]


def test_rest_signals_anonymous_and_as_another_trader(client: TestClient, factory: Factory, session: Session):
    followed = follow(factory, session)
    url = f"/api/v1/signals?agent_id={followed.agent.id}"
    anonymous = client.get(url)
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json()["items"][0]["mine"] == []
    assert_public(anonymous.json(), followed)

    other = client.get(url, headers=bearer_for(client, followed.trader_wallet)).json()
    assert [m["deployment_id"] for m in other["items"][0]["mine"]] == [followed.deployment.id]
    other["items"][0].pop("mine")
    assert_public(other, followed)

    owner = client.get(url, headers=bearer_for(client, followed.skipper_wallet)).json()
    reasons = [m["reason"] for m in owner["items"][0]["mine"]]
    assert reasons == [f"insufficient balance: {BALANCE_DETAIL}", "deployment paused"]
