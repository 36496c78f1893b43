"""What deployment services refuse, named so the API and the UI can say why."""

from __future__ import annotations

from backend.signals.errors import InputRejected

__all__ = [
    "DeploymentConflict",
    "DeploymentLimitReached",
    "DeploymentNotFound",
    "DeploymentRateLimited",
    "InputRejected",
    "WalletNotFound",
]


class DeploymentNotFound(LookupError):
    """Unknown, or someone else's: the two look the same from outside (404)."""

    def __init__(self, deployment_id: int) -> None:
        super().__init__(f"deployment {deployment_id} not found")


class WalletNotFound(LookupError):
    def __init__(self, wallet_id: int) -> None:
        super().__init__(f"agent wallet {wallet_id} not found")


class DeploymentConflict(RuntimeError):
    """The request does not fit the deployment's state, e.g. resuming a cancelled one (409)."""


class DeploymentLimitReached(DeploymentConflict):
    """A trader or an agent already has the most live deployments allowed (409)."""


class DeploymentRateLimited(DeploymentConflict):
    """Too many new deployments in the last minute (429); `retry_after` seconds until one more fits."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
