"""What billing refuses: the API maps each kind to a status code (errors.py), the UI shows the message."""

from __future__ import annotations


class BillingNotFound(LookupError):
    """An unknown invoice, line, subscription or payment, or someone else's (the two look the same: 404)."""


class BillingConflict(Exception):
    """The action does not fit the current state (409): paying a paid invoice, voiding a paid one, ..."""


class PaymentRejected(ValueError):
    """A payment signature or action that does not match what was prepared (422 on `field`): no change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class BillingUnavailable(RuntimeError):
    """Billing cannot take payments here: no PLATFORM_ADDRESS, or the venue is not Hyperliquid (409)."""
