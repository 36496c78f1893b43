"""The builder fee through the platform, on SQLite and PostgreSQL with the local Hyperliquid server: the user
approves it beside the agent wallet, a live trade carries it, and the billing line says the venue collected
it (no invoiced trade fee)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from backend.api import create_api
from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.auth.sessions import create_session
from backend.config import Settings
from backend.deployments.builder_fee import builder_fee_request, builder_fee_status, submit_builder_fee
from backend.deployments.errors import DeploymentConflict, InputRejected
from backend.deployments.schemas import ApprovalSignature, DeploymentRequest
from backend.deployments.service import create_deployment
from backend.execution.service import Executor
from backend.models import AuditLog, BillingEvent, Position
from backend.models.enums import (
    BillingKind,
    BillingStatus,
    DeploymentStatus,
    ExecutionStatus,
    ExecutionVenue,
    Role,
    SignalStatus,
    Venue,
)
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.fees import builder_fee
from backend.venues.hyperliquid import HyperliquidVenue
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher
from backend.wallets.service import approval_request, prepare_agent_wallet, submit_approval
from tests.hyperliquid_server import HyperliquidServer
from tests.wallets import TEST_SECRET_KEY

FEE = 10  # 0.01%
CHAIN = 421614
PLATFORM = Account.create().address


@pytest.fixture
def settings(hl_server: HyperliquidServer) -> Settings:
    return Settings(
        hyperliquid_api=hl_server.url,
        maxxit_secret_key=TEST_SECRET_KEY,
        platform_address=PLATFORM,
        builder_fee_tenths_bps=FEE,
    )


@pytest.fixture
def cipher(settings: Settings) -> WalletCipher:
    return WalletCipher.from_settings(settings)


@pytest.fixture
def trader(factory, hl_user: LocalAccount) -> CurrentUser:
    user = factory.user(address=hl_user.address.lower())
    return CurrentUser(user.id, user.address, Role.TRADER)


def sign(wallet: LocalAccount, typed_data: dict) -> str:
    return Account.sign_typed_data(wallet.key, full_message=typed_data).signature.to_0x_hex()


def approve_wallet(session: Session, trader: CurrentUser, user: LocalAccount, settings, cipher) -> int:
    """The wizard's agent-wallet approval; the user's key stands in for the browser wallet."""
    wallet = prepare_agent_wallet(session, trader, user.address, cipher=cipher)
    request = approval_request(
        session, trader, wallet.id, settings=settings, chain_id=CHAIN, now=datetime.now(UTC)
    )
    body = ApprovalSignature(signature=sign(user, request.typed_data), nonce=request.nonce, chain_id=CHAIN)
    submit_approval(session, trader, wallet.id, body, settings=settings)
    return wallet.id


def approve_fee(session: Session, trader: CurrentUser, signer: LocalAccount, master: str, settings) -> None:
    request = builder_fee_request(settings, master, chain_id=CHAIN, now=datetime.now(UTC))
    body = ApprovalSignature(signature=sign(signer, request.typed_data), nonce=request.nonce, chain_id=CHAIN)
    submit_builder_fee(session, trader, master, body, settings=settings)


def live_trade(session, factory, trader, hl_user, settings, cipher, engine) -> Position:
    """Deploy on Hyperliquid and execute one signal through the platform's configured adapter."""
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    wallet_id = approve_wallet(session, trader, hl_user, settings, cipher)
    request = DeploymentRequest(
        agent_id=agent.id,
        venue=ExecutionVenue.HYPERLIQUID,
        user_wallet=hl_user.address,
        agent_wallet_id=wallet_id,
    )
    deployment = create_deployment(session, trader, request, settings=settings, cipher=cipher)
    assert deployment.status == DeploymentStatus.ACTIVE
    venues = VenueRegistry(
        {
            ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7)),
            ExecutionVenue.HYPERLIQUID: HyperliquidVenue.from_settings(settings),
        }
    )
    signal = factory.signal(agent, token="ETH", status=SignalStatus.PENDING, score=Decimal("0.8"))
    outcome = Executor(venues, cipher).execute(session, signal.id, deployment.id)
    assert outcome.status == ExecutionStatus.FILLED, outcome.reason
    return session.get(Position, outcome.position_id)


def lines(session: Session, position: Position) -> list[BillingEvent]:
    query = select(BillingEvent).where(BillingEvent.position_id == position.id).order_by(col(BillingEvent.id))
    return list(session.exec(query).all())


def test_a_live_trade_with_the_builder_fee_is_billed_as_collected(
    session, factory, engine, hl_server, hl_user, trader, settings, cipher
):
    hl_server.set_mid("ETH", Decimal(3000))
    approve_fee(session, trader, hl_user, hl_user.address, settings)
    assert builder_fee_status(settings, hl_user.address).approved

    position = live_trade(session, factory, trader, hl_user, settings, cipher, engine)

    [fill] = hl_server.fills(hl_user.address)
    collected = Decimal(fill["builderFee"])
    assert collected == builder_fee(Decimal(fill["sz"]) * Decimal(fill["px"]), FEE) > 0
    assert hl_server.actions("order")[-1]["builder"] == {"b": PLATFORM.lower(), "f": FEE}
    [line] = lines(session, position)
    assert (line.kind, line.status, line.amount) == (
        BillingKind.TRADE_FEE,
        BillingStatus.COLLECTED,
        collected,
    )
    assert line.invoice_id is None
    pending = select(BillingEvent).where(BillingEvent.status == BillingStatus.PENDING)
    assert session.exec(pending).all() == []  # no $0.20 line to invoice
    [audit] = session.exec(select(AuditLog).where(AuditLog.action == Action.BUILDER_FEE_APPROVED)).all()
    assert audit.entity_id == hl_user.address.lower()
    assert audit.details["max_fee_rate"] == "0.01%"


def test_without_the_approval_the_trade_fee_is_invoiced_as_before(
    session, factory, engine, hl_server, hl_user, trader, settings, cipher
):
    hl_server.set_mid("ETH", Decimal(3000))
    assert not builder_fee_status(settings, hl_user.address).approved

    position = live_trade(session, factory, trader, hl_user, settings, cipher, engine)

    assert "builder" not in hl_server.actions("order")[-1]
    assert "builderFee" not in hl_server.fills(hl_user.address)[0]
    [line] = lines(session, position)
    assert (line.status, line.amount) == (BillingStatus.PENDING, Decimal("0.20"))


def test_only_the_accounts_own_wallet_approves_the_fee(
    session, hl_server, hl_user, hl_agent, trader, settings
):
    for someone_else in (Account.create(), hl_agent):
        with pytest.raises(InputRejected, match="signed by") as refused:
            approve_fee(session, trader, someone_else, hl_user.address, settings)
        assert refused.value.field == "signature"
    assert hl_server.actions("approveBuilderFee") == []
    assert session.exec(select(AuditLog).where(AuditLog.action == Action.BUILDER_FEE_APPROVED)).all() == []


def test_with_the_builder_fee_off_there_is_nothing_to_approve(hl_user, settings):
    off = settings.model_copy(update={"builder_fee_tenths_bps": None})
    with pytest.raises(DeploymentConflict):
        builder_fee_request(off, hl_user.address, chain_id=CHAIN, now=datetime.now(UTC))


# -- REST ----------------------------------------------------------------------------------------------


@pytest.fixture
def client(engine: sa.Engine, api_settings: Settings, hl_server: HyperliquidServer) -> Iterator[TestClient]:
    update = {"hyperliquid_api": hl_server.url, "platform_address": PLATFORM, "builder_fee_tenths_bps": FEE}
    with TestClient(create_api(engine=engine, settings=api_settings.model_copy(update=update))) as c:
        yield c


@pytest.fixture
def headers(session: Session, api_settings: Settings, trader: CurrentUser) -> dict[str, str]:
    issued = create_session(session, trader.id, settings=api_settings)
    return {"Authorization": f"Bearer {issued.token}"}


def _deployment(client: TestClient, headers: dict[str, str], factory, user: LocalAccount) -> int:
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    body = {"agent_id": agent.id, "venue": "HYPERLIQUID", "user_wallet": user.address}
    created = client.post("/api/v1/deployments", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _signed(client, headers, deployment_id: int, signer: LocalAccount) -> dict:
    reply = client.get(f"/api/v1/deployments/{deployment_id}/builder-fee?chain_id={CHAIN}", headers=headers)
    assert reply.status_code == 200, reply.text
    request = reply.json()
    assert request["fee_percent"] == "0.01%"
    assert request["description"] == "0.01% of each order's notional, collected by Hyperliquid"
    assert request["typed_data"]["message"]["builder"] == PLATFORM.lower()
    return {"signature": sign(signer, request["typed_data"]), "nonce": request["nonce"], "chain_id": CHAIN}


def test_rest_a_signature_by_someone_else_is_422_on_signature(client, headers, factory, hl_server, hl_user):
    deployment_id = _deployment(client, headers, factory, hl_user)
    body = _signed(client, headers, deployment_id, Account.create())

    reply = client.post(f"/api/v1/deployments/{deployment_id}/builder-fee", json=body, headers=headers)

    assert reply.status_code == 422, reply.text
    [error] = reply.json()["detail"]
    assert error["field"] == "signature" and hl_user.address.lower() in error["message"].lower()
    assert hl_server.actions("approveBuilderFee") == []


def test_rest_the_owners_signature_approves_the_fee(
    client, headers, factory, hl_server, hl_user, settings, session
):
    deployment_id = _deployment(client, headers, factory, hl_user)
    body = _signed(client, headers, deployment_id, hl_user)
    path = f"/api/v1/deployments/{deployment_id}/builder-fee"

    reply = client.post(path, json=body, headers=headers)

    assert reply.status_code == 200, reply.text
    assert reply.json()["approved"] is True and reply.json()["fee_tenths_bps"] == FEE
    assert builder_fee_status(settings, hl_user.address).approved  # Hyperliquid holds it
    assert (
        len(session.exec(select(AuditLog).where(AuditLog.action == Action.BUILDER_FEE_APPROVED)).all()) == 1
    )
    assert client.get(path).status_code == 401
    other = f"/api/v1/deployments/{deployment_id + 1000}/builder-fee"
    assert client.post(other, json=body, headers=headers).status_code == 404


def test_rest_a_paper_deployment_has_no_builder_fee_to_approve(client, headers, factory):
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    created = client.post(
        "/api/v1/deployments", json={"agent_id": agent.id, "venue": "PAPER"}, headers=headers
    )
    assert created.status_code == 201, created.text
    reply = client.get(f"/api/v1/deployments/{created.json()['id']}/builder-fee", headers=headers)
    assert reply.status_code == 409
