"""A Hyperliquid deployment end to end on the local server: approve, trade a signal once, keep the key hidden.

The wizard's flow: the platform creates an agent wallet, the user's own key signs the approveAgent typed data
(as the browser wallet would), the platform submits it, and the deployment trades through the real SDK.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from eth_account import Account
from sqlmodel import func, select

from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.deployments.errors import DeploymentConflict, InputRejected
from backend.deployments.schemas import ApprovalSignature, DeploymentRequest
from backend.deployments.service import change_status, create_deployment
from backend.execution.service import Executor, client_order_id
from backend.models import AgentWallet, AuditLog, BillingEvent, Position
from backend.models.enums import (
    BillingKind,
    CloseReason,
    DeploymentStatus,
    ExecutionStatus,
    ExecutionVenue,
    PositionStatus,
    Role,
    Side,
    SignalStatus,
    Venue,
)
from backend.monitor.close import close_order_id, finish_close, request_close
from backend.monitor.cycle import Monitor
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.fees import FeePolicy
from backend.trading.money import money
from backend.venues.base import VenueAccount
from backend.venues.hyperliquid import HyperliquidVenue
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher
from backend.wallets.service import approval_request, free_agent_name, prepare_agent_wallet, submit_approval
from tests.hyperliquid_server.pytest_plugin import approve_agent, approve_agent_address
from tests.wallets import TEST_SECRET_KEY

SHARE = Decimal("0.10")


class Crash(BaseException):
    pass


@pytest.fixture
def settings(hl_server) -> Settings:
    return Settings(hyperliquid_api=hl_server.url, maxxit_secret_key=TEST_SECRET_KEY)


@pytest.fixture
def cipher(settings) -> WalletCipher:
    return WalletCipher.from_settings(settings)


@pytest.fixture
def trader(factory, hl_user):
    user = factory.user(address=hl_user.address.lower())
    return CurrentUser(user.id, user.address, Role.TRADER)


@pytest.fixture
def venues(engine, settings) -> VenueRegistry:
    return VenueRegistry(
        {
            ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7)),
            ExecutionVenue.HYPERLIQUID: HyperliquidVenue(settings.hyperliquid_base_url),
        }
    )


def approve_in_browser(session, trader, hl_user, settings, cipher) -> int:
    """What the deploy wizard does; the user's key stands in for the browser wallet."""
    wallet = prepare_agent_wallet(session, trader, hl_user.address, cipher=cipher)
    request = approval_request(
        session, trader, wallet.id, settings=settings, chain_id=42161, now=datetime.now(UTC)
    )
    signature = Account.sign_typed_data(hl_user.key, full_message=request.typed_data).signature.to_0x_hex()
    submit_approval(
        session,
        trader,
        wallet.id,
        ApprovalSignature(signature=signature, nonce=request.nonce, chain_id=42161),
        settings=settings,
    )
    return wallet.id


def deploy(session, trader, agent, hl_user, settings, cipher, **kw):
    request = DeploymentRequest(
        agent_id=agent.id, venue=ExecutionVenue.HYPERLIQUID, user_wallet=hl_user.address, **kw
    )
    return create_deployment(session, trader, request, settings=settings, cipher=cipher)


def test_an_approved_deployment_trades_a_signal_once_through_the_sdk(
    session, factory, hl_server, hl_user, trader, settings, cipher, venues
):
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    wallet_id = approve_in_browser(session, trader, hl_user, settings, cipher)
    wallet = session.get(AgentWallet, wallet_id)
    assert hl_server.agents(hl_user.address) == {"maxxit 1": wallet.address}

    deployment = deploy(
        session,
        trader,
        agent,
        hl_user,
        settings,
        cipher,
        agent_wallet_id=wallet_id,
        risk={"leverage_cap": "3"},
    )
    assert deployment.status == DeploymentStatus.ACTIVE
    signal = factory.signal(agent, token="ETH", status=SignalStatus.PENDING, score=Decimal("0.8"))

    crashing = Executor(venues, cipher, fault=lambda point: (_ for _ in ()).throw(Crash(point)))
    with pytest.raises(Crash):
        crashing.execute(session, signal.id, deployment.id)
    session.rollback()
    outcome = Executor(venues, cipher).execute(session, signal.id, deployment.id)

    assert outcome.status == ExecutionStatus.FILLED
    orders = hl_server.orders(hl_user.address)
    assert len(orders) == 1, "the retry asked for the order instead of placing another"
    fills = hl_server.fills(hl_user.address)
    assert [f["cloid"] for f in fills] == [client_order_id(deployment.id, signal.id)]
    position = session.get(Position, outcome.position_id)
    assert (position.venue, position.market, position.leverage) == (ExecutionVenue.HYPERLIQUID, "ETH", 3)
    assert position.size == Decimal(fills[0]["sz"]) and position.entry_price == Decimal(fills[0]["px"])
    assert position.entry_fee == Decimal(fills[0]["fee"])
    [fee] = session.exec(select(BillingEvent).where(BillingEvent.position_id == position.id)).all()
    assert (fee.kind, fee.amount) == (BillingKind.TRADE_FEE, Decimal("0.20"))  # live: billed, once


def test_the_rest_flow_waits_for_approval_and_the_agent_key_stays_encrypted(
    session, factory, hl_server, hl_user, trader, settings, cipher, caplog
):
    agent = factory.agent(venue=Venue.MULTI)
    deployment = deploy(session, trader, agent, hl_user, settings, cipher)
    assert deployment.status == DeploymentStatus.PENDING_APPROVAL
    with pytest.raises(DeploymentConflict, match="approve the agent wallet first"):
        change_status(session, trader, deployment.id, "resume")

    wallet = session.exec(select(AgentWallet).where(AgentWallet.deployment_id == deployment.id)).one()
    key_hex = bytes(cipher.decrypt(wallet.address, wallet.encrypted_private_key).key).hex()
    assert key_hex not in wallet.encrypted_private_key.hex()
    audit_text = " ".join(str(r.details) for r in session.exec(select(AuditLog)).all())
    assert key_hex not in audit_text and key_hex not in caplog.text
    assert key_hex not in repr(wallet.address)


def test_an_account_has_three_agent_slots_and_a_cancelled_deployment_frees_its_slot(
    session, factory, hl_server, hl_user, trader, settings, cipher
):
    agent = factory.agent(venue=Venue.HYPERLIQUID)

    def approved_deployment():
        wallet_id = approve_in_browser(session, trader, hl_user, settings, cipher)
        return deploy(session, trader, agent, hl_user, settings, cipher, agent_wallet_id=wallet_id)

    deployments = [approved_deployment() for _ in range(3)]
    assert set(hl_server.agents(hl_user.address)) == {"maxxit 1", "maxxit 2", "maxxit 3"}
    with pytest.raises(InputRejected, match="3 agent wallets per account"):
        prepare_agent_wallet(session, trader, hl_user.address, cipher=cipher)

    change_status(session, trader, deployments[1].id, "cancel")
    replacement = approved_deployment()

    wallet = session.exec(select(AgentWallet).where(AgentWallet.deployment_id == replacement.id)).one()
    # Approved under the cancelled deployment's name, it replaced that agent at Hyperliquid.
    assert wallet.agent_name == "maxxit 2"
    assert hl_server.agents(hl_user.address)["maxxit 2"] == wallet.address


def test_unapproved_wallets_hold_no_slot_and_an_abandoned_one_is_reused(
    session, factory, hl_user, trader, cipher
):
    stranger = factory.user()
    squatter = CurrentUser(stranger.id, stranger.address, Role.TRADER)
    squatted = prepare_agent_wallet(session, squatter, hl_user.address, cipher=cipher)

    first = prepare_agent_wallet(session, trader, hl_user.address, cipher=cipher)
    again = prepare_agent_wallet(session, trader, hl_user.address, cipher=cipher)

    assert again.id == first.id != squatted.id  # a reloaded wizard gets the wallet it created before
    assert session.exec(select(func.count()).select_from(AgentWallet)).one() == 2
    # Typing someone else's address takes nothing from them: only approved wallets hold a name.
    assert free_agent_name(session, hl_user.address) == "maxxit 1"


def test_a_trailing_stop_closes_a_hyperliquid_position_through_the_monitor(
    session, factory, hl_server, hl_user, trader, settings, cipher, venues
):
    agent = factory.agent(venue=Venue.HYPERLIQUID)  # stop 10%, trailing arms +3%, trails 1%
    wallet_id = approve_in_browser(session, trader, hl_user, settings, cipher)
    deployment = deploy(session, trader, agent, hl_user, settings, cipher, agent_wallet_id=wallet_id)
    hl_server.set_mid("ETH", Decimal("3000"))
    signal = factory.signal(agent, token="ETH", status=SignalStatus.PENDING, score=Decimal("0.8"))
    opened = Executor(venues, cipher).execute(session, signal.id, deployment.id)
    position = session.get(Position, opened.position_id)

    def close(position_id: int) -> None:
        finish_close(session, position_id, venues=venues, cipher=cipher, fees=FeePolicy())

    monitor = Monitor(venues, close, holder="test")
    for mid in ("3060", "3150", "3100"):  # up 5%: armed; the stop trails 1% under 3150 = 3118.5
        hl_server.set_mid("ETH", Decimal(mid))
        monitor.run_cycle(session)

    session.refresh(position)
    assert (position.status, position.close_reason) == (PositionStatus.CLOSED, CloseReason.TRAILING_STOP)
    assert position.trailing_high == Decimal("3150")
    [close_fill] = [f for f in hl_server.fills(hl_user.address) if f["cloid"] == close_order_id(position.id)]
    assert position.exit_price == Decimal(close_fill["px"]) and position.realized_pnl > 0
    shares = session.exec(select(BillingEvent).where(BillingEvent.kind == BillingKind.PROFIT_SHARE)).all()
    assert [(s.position_id, s.amount, s.beneficiary_user_id) for s in shares] == [
        (position.id, money(position.realized_pnl * Decimal("0.10")), agent.creator_id)
    ]  # a live, profitable close the agent made: its creator's share, once
    assert (
        venues.get(ExecutionVenue.HYPERLIQUID).positions(VenueAccount(deployment.id, hl_user.address)) == []
    )


def test_a_close_refused_for_a_revoked_agent_stays_closing_until_the_agent_is_approved_again(
    session, factory, hl_server, hl_user, trader, settings, cipher, venues
):
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    wallet_id = approve_in_browser(session, trader, hl_user, settings, cipher)
    wallet = session.get(AgentWallet, wallet_id)
    deployment = deploy(session, trader, agent, hl_user, settings, cipher, agent_wallet_id=wallet_id)
    hl_server.set_mid("ETH", Decimal("3000"))
    signal = factory.signal(agent, token="ETH", status=SignalStatus.PENDING, score=Decimal("0.8"))
    position = session.get(
        Position, Executor(venues, cipher).execute(session, signal.id, deployment.id).position_id
    )
    hl, account = venues.get(ExecutionVenue.HYPERLIQUID), VenueAccount(deployment.id, hl_user.address)

    # At Hyperliquid the user approves another agent under ours' name: ours is revoked.
    approve_agent(hl_server, hl_user, wallet.agent_name)
    request_close(session, trader, position.id)
    t0 = datetime.now(UTC)
    refused = finish_close(
        session, position.id, venues=venues, cipher=cipher, fees=FeePolicy(creator_share=SHARE), now=t0
    )

    assert (refused.status, refused.close_reason) == (PositionStatus.CLOSING, CloseReason.MANUAL)
    assert refused.close_error == f"User or API Wallet {wallet.address.lower()} does not exist."
    assert refused.close_attempts == 1 and refused.next_close_attempt_at == t0 + timedelta(seconds=5)
    [held] = hl.positions(account)  # the real position is still open at the venue
    assert (held.market, held.side, held.size) == ("ETH", Side.LONG, position.size)
    [audited] = session.exec(select(AuditLog).where(AuditLog.action == "position.close_refused")).all()
    assert audited.details["reason"] == refused.close_error and audited.details["venue"] == "HYPERLIQUID"

    # The monitor does not hammer the venue: before the retry is due, the position is not handed out.
    orders_sent = len(hl_server.actions("order"))
    handed: list[int] = []
    early = Monitor(venues, handed.append, holder="test", clock=lambda: t0 + timedelta(seconds=4))
    assert early.run_cycle(session).closing_handed_out == 0 and handed == []
    assert len(hl_server.actions("order")) == orders_sent

    # Approved again under its name: the retry goes through at the close's own fill and the error clears.
    approve_agent_address(hl_server, hl_user, wallet.address, wallet.agent_name)
    due = Monitor(venues, handed.append, holder="test", clock=lambda: t0 + timedelta(seconds=5))
    assert due.run_cycle(session).closing_handed_out == 1 and handed == [position.id]
    closed = finish_close(
        session,
        position.id,
        venues=venues,
        cipher=cipher,
        fees=FeePolicy(creator_share=SHARE),
        now=t0 + timedelta(seconds=5),
    )

    assert (closed.status, closed.close_reason) == (PositionStatus.CLOSED, CloseReason.MANUAL)
    assert closed.close_error is None and closed.next_close_attempt_at is None
    [fill] = [f for f in hl_server.fills(hl_user.address) if f["cloid"] == close_order_id(position.id)]
    assert closed.exit_price == Decimal(fill["px"])
    assert hl.positions(account) == []
