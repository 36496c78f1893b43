"""Which venue account a deployment trades on, with the signer its venue asks for decrypted for one call."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.models import AgentDeployment, AgentWallet
from backend.models.enums import ExecutionVenue
from backend.venues.base import InvalidOrder, VenueAccount, VenueAdapter
from backend.venues.capabilities import SignerKind
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher


def trading_account(
    session: Session,
    deployment: AgentDeployment,
    venue: ExecutionVenue,
    venues: VenueRegistry,
    cipher: WalletCipher,
) -> tuple[VenueAdapter, VenueAccount]:
    """The adapter and the account to order on, by the signer the venue's capabilities ask for.

    InvalidOrder when that signer is not usable yet (an agent wallet not approved, a Safe module not enabled).
    """
    adapter = venues.get(venue)
    signer = adapter.capabilities.signer
    if signer == SignerKind.NONE:
        return adapter, VenueAccount(deployment_id=deployment.id)
    if signer == SignerKind.SAFE_EXECUTOR:
        from backend.spot.accounts import safe_account  # the spot package is only needed by spot venues

        return adapter, safe_account(session, deployment, cipher)
    return adapter, _agent_wallet_account(session, deployment, venue, cipher)


def _agent_wallet_account(
    session: Session, deployment: AgentDeployment, venue: ExecutionVenue, cipher: WalletCipher
) -> VenueAccount:
    """The user's address at the venue, traded by the deployment's approved agent wallet."""
    wallet = session.exec(select(AgentWallet).where(AgentWallet.deployment_id == deployment.id)).first()
    if wallet is None or wallet.approved_at is None:
        raise InvalidOrder(f"agent wallet for {venue} not approved")
    signer = cipher.decrypt(wallet.address, wallet.encrypted_private_key)
    return VenueAccount(deployment_id=deployment.id, address=deployment.user_wallet, signer=signer)
