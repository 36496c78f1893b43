"""How `maxxit up` runs the Hyperliquid sandbox: its command line, and what the processes it starts are told.

The sandbox becomes the Hyperliquid venue of the demo: the worker and the app get `HYPERLIQUID_API` pointing
at it, a platform address to pay invoices to and a builder fee to approve (unless set already), and
`HYPERLIQUID_SANDBOX_URL` so the pages label the venue "Hyperliquid sandbox (no real funds)" and offer the
faucet. Balances and approvals persist across restarts (`SANDBOX_STATE_PATH`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from eth_account import Account
from eth_utils import keccak

from backend.config import Settings

# Invoices in the sandbox are paid to this address; no one holds a real key for it that matters.
SANDBOX_PLATFORM_ADDRESS = Account.from_key(keccak(text="maxxit hyperliquid sandbox platform")).address
SANDBOX_BUILDER_FEE_TENTHS_BPS = 10  # 0.01% of each order's notional, as a platform might charge


def wanted(settings: Settings) -> bool:
    """Start the sandbox: it is on, not prod, and the operator did not point HYPERLIQUID_API elsewhere."""
    return (
        settings.hyperliquid_sandbox
        and settings.env != "prod"
        and "hyperliquid_api" not in settings.model_fields_set
    )


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.sandbox_port}"


def command(settings: Settings) -> list[str]:
    return [
        sys.executable, "-m", "backend.sandbox.hyperliquid",
        "--port", str(settings.sandbox_port), "--seed", str(settings.price_feed_seed),
        "--state", str(settings.sandbox_state_path), "--faucet", str(settings.sandbox_faucet_usd),
    ]  # fmt: skip


def environment(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """`base` plus what the worker and the app need to trade on the sandbox; explicit settings win."""
    env = dict(base)
    env["HYPERLIQUID_API"] = env["HYPERLIQUID_SANDBOX_URL"] = url(settings)
    if settings.platform_address is None:
        env["PLATFORM_ADDRESS"] = SANDBOX_PLATFORM_ADDRESS
    if settings.builder_fee_tenths_bps is None:
        env["BUILDER_FEE_TENTHS_BPS"] = str(SANDBOX_BUILDER_FEE_TENTHS_BPS)
    return env
