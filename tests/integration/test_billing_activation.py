"""A live deployment's subscription starts when it becomes active, through the deployments service: at once
in the wizard's flow, on approval in the REST flow; paper deployments have none; cancelling ends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from sqlmodel import Session, select

from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.deployments.schemas import ApprovalSignature, DeploymentRequest
from backend.deployments.service import change_status, create_deployment, submit_deployment_approval
from backend.models import AgentWallet, Subscription
from backend.models.enums import DeploymentStatus, ExecutionVenue, Role, SubscriptionStatus, Venue
from backend.wallets.keys import WalletCipher
from backend.wallets.service import approval_request, prepare_agent_wallet, submit_approval
from tests.billing_support import actions
from tests.wallets import TEST_SECRET_KEY

TRIAL_DAYS = 14


@pytest.fixture
def settings(hl_server) -> Settings:
    return Settings(hyperliquid_api=hl_server.url, maxxit_secret_key=TEST_SECRET_KEY, trial_days=TRIAL_DAYS)


@pytest.fixture
def cipher(settings) -> WalletCipher:
    return WalletCipher.from_settings(settings)


@pytest.fixture
def trader(factory, hl_user) -> CurrentUser:
    user = factory.user(address=hl_user.address.lower())
    return CurrentUser(user.id, user.address, Role.TRADER)


def signed(session, trader, wallet_id, hl_user, settings) -> ApprovalSignature:
    """The approveAgent typed data signed by the user's own key, as the browser wallet would."""
    request = approval_request(
        session, trader, wallet_id, settings=settings, chain_id=42161, now=datetime.now(UTC)
    )
    signature = Account.sign_typed_data(hl_user.key, full_message=request.typed_data).signature.to_0x_hex()
    return ApprovalSignature(signature=signature, nonce=request.nonce, chain_id=42161)


def subscription_of(session: Session, deployment_id: int) -> Subscription | None:
    session.expire_all()
    return session.exec(select(Subscription).where(Subscription.deployment_id == deployment_id)).first()


def test_the_wizards_live_deployment_starts_its_trial_at_once(
    session, factory, hl_user, trader, settings, cipher
) -> None:
    wallet = prepare_agent_wallet(session, trader, hl_user.address, cipher=cipher)
    submit_approval(
        session, trader, wallet.id, signed(session, trader, wallet.id, hl_user, settings), settings=settings
    )
    request = DeploymentRequest(
        agent_id=factory.agent(venue=Venue.HYPERLIQUID).id,
        venue=ExecutionVenue.HYPERLIQUID,
        user_wallet=hl_user.address,
        agent_wallet_id=wallet.id,
    )

    deployment = create_deployment(session, trader, request, settings=settings, cipher=cipher)

    assert deployment.status == DeploymentStatus.ACTIVE
    subscription = subscription_of(session, deployment.id)
    assert (subscription.status, subscription.user_id) == (SubscriptionStatus.TRIALING, trader.id)
    assert subscription.trial_ends_at == deployment.trial_ends_at
    assert subscription.trial_ends_at - subscription.created_at == timedelta(days=TRIAL_DAYS)
    assert actions(session, "subscription", subscription.id) == [Action.SUBSCRIPTION_STARTED]


def test_the_rest_flow_starts_the_trial_on_approval_and_cancelling_ends_it(
    session, factory, hl_user, trader, settings, cipher
) -> None:
    request = DeploymentRequest(
        agent_id=factory.agent(venue=Venue.HYPERLIQUID).id,
        venue=ExecutionVenue.HYPERLIQUID,
        user_wallet=hl_user.address,
    )
    deployment = create_deployment(session, trader, request, settings=settings, cipher=cipher)
    assert deployment.status == DeploymentStatus.PENDING_APPROVAL
    assert subscription_of(session, deployment.id) is None  # not trading yet: no trial running

    wallet = session.exec(select(AgentWallet).where(AgentWallet.deployment_id == deployment.id)).one()
    body = signed(session, trader, wallet.id, hl_user, settings)
    active = submit_deployment_approval(session, trader, deployment.id, body, settings=settings)

    assert active.status == DeploymentStatus.ACTIVE
    subscription = subscription_of(session, deployment.id)
    assert subscription.status == SubscriptionStatus.TRIALING
    assert subscription.trial_ends_at == active.trial_ends_at

    change_status(session, trader, deployment.id, "cancel")

    assert subscription_of(session, deployment.id).status == SubscriptionStatus.CANCELED
    assert actions(session, "subscription", subscription.id) == [
        Action.SUBSCRIPTION_STARTED,
        Action.SUBSCRIPTION_CANCELED,
    ]


def test_a_paper_deployment_has_no_subscription(session, factory, trader, settings, cipher) -> None:
    request = DeploymentRequest(
        agent_id=factory.agent(venue=Venue.HYPERLIQUID).id, venue=ExecutionVenue.PAPER
    )

    deployment = create_deployment(session, trader, request, settings=settings, cipher=cipher)

    assert deployment.status == DeploymentStatus.ACTIVE
    assert subscription_of(session, deployment.id) is None
