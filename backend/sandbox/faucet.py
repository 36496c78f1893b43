"""Asking the running Hyperliquid sandbox for sandbox USDC (its faucet; the real venue has none)."""

from __future__ import annotations

from decimal import Decimal

import requests
from eth_utils import is_address


class FaucetError(Exception):
    """The faucet refused or could not be reached; the message says why, for the page."""


def request_sandbox_usdc(sandbox_url: str, address: str, amount: Decimal, *, timeout: float = 5) -> Decimal:
    """Credit `amount` sandbox USDC to `address`'s sandbox account; its balance afterwards."""
    if not is_address(address):
        raise FaucetError(f"{address!r} is not a wallet address")
    try:
        reply = requests.post(
            f"{sandbox_url.rstrip('/')}/sandbox/faucet",
            json={"user": address, "amount": str(amount)},
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise FaucetError(f"the sandbox is not reachable ({type(error).__name__})") from error
    if reply.status_code != 200:
        raise FaucetError(f"the sandbox refused: {reply.text[:200]}")
    return Decimal(reply.json()["balance"])
