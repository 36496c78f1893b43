"""Charges: every one a billing event, exactly once, keyed by an idempotency key."""
