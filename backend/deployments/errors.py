"""What deployment services refuse, named so the API and the UI can say why."""

from __future__ import annotations

from backend.signals.errors import InputRejected

__all__ = ["DeploymentConflict", "DeploymentNotFound", "InputRejected", "WalletNotFound"]


class DeploymentNotFound(LookupError):
    """Unknown, or someone else's: the two look the same from outside (404)."""

    def __init__(self, deployment_id: int) -> None:
        super().__init__(f"deployment {deployment_id} not found")


class WalletNotFound(LookupError):
    def __init__(self, wallet_id: int) -> None:
        super().__init__(f"agent wallet {wallet_id} not found")


class DeploymentConflict(RuntimeError):
    """The request does not fit the deployment's state, e.g. resuming a cancelled one (409)."""
