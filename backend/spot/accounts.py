"""The venue account of a spot deployment: the user's Safe, signed for by the deployment's module executor."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.models import AgentDeployment, SafeExecutor
from backend.venues.base import InvalidOrder, VenueAccount
from backend.wallets.keys import WalletCipher

MODULE_NOT_ENABLED = "Safe module not enabled"


def safe_account(session: Session, deployment: AgentDeployment, cipher: WalletCipher) -> VenueAccount:
    """The Safe and its executor, decrypted for one call; InvalidOrder("Safe module not enabled") until the
    chain showed the module enabled for it, and again once it showed it revoked (inside or outside Maxxit)."""
    executor = session.exec(select(SafeExecutor).where(SafeExecutor.deployment_id == deployment.id)).first()
    if executor is None or executor.enabled_at is None or executor.disabled_at is not None:
        raise InvalidOrder(MODULE_NOT_ENABLED)
    signer = cipher.decrypt(executor.address, executor.encrypted_private_key)
    return VenueAccount(deployment_id=deployment.id, address=executor.safe_address, signer=signer)
