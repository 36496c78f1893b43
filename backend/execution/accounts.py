"""Which venue account a deployment trades on, with its agent wallet decrypted for one call."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.models import AgentDeployment, AgentWallet
from backend.models.enums import ExecutionVenue
from backend.spot.accounts import safe_account
from backend.venues.base import InvalidOrder, VenueAccount, VenueAdapter
from backend.venues.capabilities import SignerKind, capabilities_of
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher


def trading_account(
    session: Session,
    deployment: AgentDeployment,
    venue: ExecutionVenue,
    venues: VenueRegistry,
    cipher: WalletCipher,
) -> tuple[VenueAdapter, VenueAccount]:
    """The adapter and the account to order on; InvalidOrder when the agent wallet is not approved."""
    adapter = venues.get(venue)
    if venue == ExecutionVenue.PAPER:
        return adapter, VenueAccount(deployment_id=deployment.id)
    if (declared := capabilities_of(venue)) is not None and declared.signer == SignerKind.SAFE_EXECUTOR:
        return adapter, safe_account(session, deployment, cipher)
    wallet = session.exec(select(AgentWallet).where(AgentWallet.deployment_id == deployment.id)).first()
    if wallet is None or wallet.approved_at is None:
        raise InvalidOrder(f"agent wallet for {venue} not approved")
    signer = cipher.decrypt(wallet.address, wallet.encrypted_private_key)
    return adapter, VenueAccount(deployment_id=deployment.id, address=deployment.user_wallet, signer=signer)
