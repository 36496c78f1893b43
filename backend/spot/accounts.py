"""The account a spot deployment trades on: the user's Safe, swapped for by the module's executor."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.models import AgentDeployment, SafeExecutor
from backend.venues.base import InvalidOrder, VenueAccount
from backend.wallets.keys import WalletCipher


def safe_account(session: Session, deployment: AgentDeployment, cipher: WalletCipher) -> VenueAccount:
    """The deployment's Safe with its executor key decrypted for one call.

    InvalidOrder (the executor's "awaiting approval" skip) until the chain showed the module enabled with
    this executor allowed, and again once it showed it revoked.
    """
    row = session.exec(select(SafeExecutor).where(SafeExecutor.deployment_id == deployment.id)).first()
    if row is None or row.enabled_at is None or row.disabled_at is not None:
        raise InvalidOrder("Safe module not enabled for this deployment")
    signer = cipher.decrypt(row.address, row.encrypted_private_key)
    return VenueAccount(deployment_id=deployment.id, address=row.safe_address, signer=signer)
