"""Agent wallets of a user: create one, build its approveAgent request, check and submit the signature.

The platform creates the key and keeps it encrypted; the user's own wallet signs `approveAgent` in the
browser, so the agent can trade for that account but never withdraw. Hyperliquid allows an account three
named agent wallets, which caps live Hyperliquid deployments per account at three.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from backend import audit
from backend.auth.errors import InvalidAddress
from backend.auth.identity import CurrentUser, normalize_address
from backend.config import Settings
from backend.db import transaction
from backend.deployments.errors import InputRejected, WalletNotFound
from backend.deployments.schemas import AgentWalletView, ApprovalSignature
from backend.models import AgentDeployment, AgentWallet
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus
from backend.venues.base import InvalidOrder
from backend.wallets.approval import (
    approve_agent_action,
    approve_agent_typed_data,
    recover_approver,
    submit_agent_approval,
)
from backend.wallets.keys import WalletCipher, new_agent_key

logger = logging.getLogger(__name__)

NAMED_AGENTS_PER_ACCOUNT = 3
AGENT_NAME_PREFIX = "maxxit "
WALLET_CREATED = "agent_wallet.created"
WALLET_APPROVED = "agent_wallet.approved"


class ApprovalRequest(BaseModel):
    """What the browser signs with `eth_signTypedData_v4`, and the values to send back with the signature."""

    wallet_id: int
    agent_address: str
    master_address: str
    nonce: int
    chain_id: int
    typed_data: dict


def wallet_view(wallet: AgentWallet) -> AgentWalletView:
    return AgentWalletView(
        id=wallet.id,
        address=wallet.address,
        master_address=wallet.master_address,
        agent_name=wallet.agent_name,
        approved=wallet.approved_at is not None,
        deployment_id=wallet.deployment_id,
    )


def live_agent_names(session: Session, master_address: str, *, besides: int | None = None) -> set[str]:
    """Names Hyperliquid holds for the account's approved wallets that still serve (or may serve) deployments.

    Unapproved wallets hold nothing at Hyperliquid, so an abandoned wizard or someone typing another's address
    takes no slot; a cancelled deployment's wallet gives its name back.
    """
    query = (
        select(AgentWallet.agent_name)
        .outerjoin(AgentDeployment, AgentDeployment.id == AgentWallet.deployment_id)
        .where(
            func.lower(AgentWallet.master_address) == master_address.lower(),
            col(AgentWallet.approved_at).is_not(None),
            col(AgentWallet.deployment_id).is_(None) | (AgentDeployment.status != DeploymentStatus.CANCELLED),
        )
    )
    if besides is not None:
        query = query.where(AgentWallet.id != besides)
    return set(session.exec(query).all())


def free_agent_name(session: Session, master_address: str, *, besides: int | None = None) -> str | None:
    """The first of the account's three slots no live approved wallet holds.

    Hyperliquid keeps one agent per name: approving a new wallet under a cancelled deployment's name replaces
    that old agent, so a cancelled deployment's wallet loses its right to trade instead of holding a slot.
    """
    taken = live_agent_names(session, master_address, besides=besides)
    for slot in range(1, NAMED_AGENTS_PER_ACCOUNT + 1):
        name = f"{AGENT_NAME_PREFIX}{slot}"
        if name not in taken:
            return name
    return None


def _slots_full(field: str) -> InputRejected:
    return InputRejected(
        field,
        f"Hyperliquid allows {NAMED_AGENTS_PER_ACCOUNT} agent wallets per account; "
        "cancel a deployment on this account first",
    )


def agent_wallet_for(
    session: Session, user: CurrentUser, master_address: str, cipher: WalletCipher
) -> AgentWallet:
    """The user's unattached wallet for this account (approved ones first), or a fresh one, in the caller's
    transaction; refused when the account's three slots are taken."""
    try:
        master = normalize_address(master_address)
    except InvalidAddress as error:
        raise InputRejected("user_wallet", str(error)) from None
    unattached = session.exec(
        select(AgentWallet)
        .where(
            AgentWallet.user_id == user.id,
            func.lower(AgentWallet.master_address) == master,
            col(AgentWallet.deployment_id).is_(None),
        )
        .order_by(col(AgentWallet.approved_at).is_(None), col(AgentWallet.id))
    ).first()
    if unattached is not None:
        return unattached
    if free_agent_name(session, master) is None:
        raise _slots_full("user_wallet")
    address, encrypted = new_agent_key(cipher)
    wallet = AgentWallet(
        user_id=user.id, master_address=master, address=address, encrypted_private_key=encrypted
    )
    session.add(wallet)
    session.flush()
    audit.record_by(session, user, WALLET_CREATED, "agent_wallet", wallet.id, {"address": address}, None)
    return wallet


def prepare_agent_wallet(
    session: Session, user: CurrentUser, master_address: str, *, cipher: WalletCipher
) -> AgentWalletView:
    """The deploy wizard's wallet: one left unattached before, or a new one; it joins a deployment later."""
    with transaction(session):
        wallet = agent_wallet_for(session, user, master_address, cipher)
    logger.info("user %s prepared agent wallet %s", user.id, wallet.address)
    return wallet_view(wallet)


def owned_wallet(session: Session, user: CurrentUser, wallet_id: int) -> AgentWallet:
    wallet = session.get(AgentWallet, wallet_id)
    if wallet is None or wallet.user_id != user.id:
        raise WalletNotFound(wallet_id)
    return wallet


def approval_request(
    session: Session, user: CurrentUser, wallet_id: int, *, settings: Settings, chain_id: int, now: datetime
) -> ApprovalRequest:
    wallet = owned_wallet(session, user, wallet_id)
    if wallet.approved_at is None:
        # The slot name is chosen now, and signed: the submission must use the same one.
        name = free_agent_name(session, wallet.master_address, besides=wallet.id)
        if name is None:
            raise _slots_full("user_wallet")
        with transaction(session):
            wallet.agent_name = name
    nonce = int(now.timestamp() * 1000)
    action = approve_agent_action(
        wallet.address, wallet.agent_name, nonce, base_url=settings.hyperliquid_base_url, chain_id=chain_id
    )
    return ApprovalRequest(
        wallet_id=wallet.id,
        agent_address=wallet.address,
        master_address=wallet.master_address,
        nonce=nonce,
        chain_id=chain_id,
        typed_data=approve_agent_typed_data(action),
    )


def submit_approval(
    session: Session, user: CurrentUser, wallet_id: int, body: ApprovalSignature, *, settings: Settings
) -> AgentWallet:
    """Check the signature is the account owner's, submit it to Hyperliquid, and mark the wallet approved.

    TemporaryVenueError (Hyperliquid unreachable) propagates and nothing changes.
    """
    wallet = owned_wallet(session, user, wallet_id)
    if wallet.approved_at is not None:
        return wallet
    if not wallet.agent_name or wallet.agent_name in live_agent_names(
        session, wallet.master_address, besides=wallet.id
    ):
        raise InputRejected("signature", "this approval is out of date; start the approval again")
    action = approve_agent_action(
        wallet.address,
        wallet.agent_name,
        body.nonce,
        base_url=settings.hyperliquid_base_url,
        chain_id=body.chain_id,
    )
    try:
        signer = recover_approver(action, body.signature)
    except ValueError:
        raise InputRejected("signature", "the signature does not recover to any address") from None
    if signer.lower() != wallet.master_address.lower():
        raise InputRejected(
            "signature", f"signed by {signer}, but the Hyperliquid account is {wallet.master_address}"
        )
    try:
        submit_agent_approval(
            settings.hyperliquid_base_url,
            action,
            body.signature,
            timeout=settings.hyperliquid_timeout_seconds,
        )
    except InvalidOrder as error:
        raise InputRejected("signature", f"Hyperliquid refused the approval: {error.reason}") from error
    with transaction(session):
        wallet.approved_at = utcnow()
        wallet.approval_nonce = body.nonce
        details = {"address": wallet.address, "master_address": wallet.master_address}
        audit.record_by(session, user, WALLET_APPROVED, "agent_wallet", wallet.id, details, None)
    logger.info("agent wallet %s approved by %s", wallet.address, wallet.master_address)
    return wallet
