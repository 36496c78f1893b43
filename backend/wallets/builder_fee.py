"""approveBuilderFee: what the user's own wallet signs so the platform, as Hyperliquid builder, may charge a
fee on the orders it places for them (collected by Hyperliquid; the platform never touches the account),
who signed it, handing it to Hyperliquid, and reading back the maximum a user approved.

The flow mirrors approveAgent (`backend.wallets.approval`): the service builds the action, the browser signs
`approve_builder_fee_typed_data(action)` with `eth_signTypedData_v4`, the service checks
`recover_builder_fee_approver` is the user's main wallet (an agent wallet cannot sign it), then submits.
Fees are in tenths of a basis point (10 = 0.01% of the notional); the signed `maxFeeRate` is a percent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hyperliquid.api import API

from backend.trading.fees import MAX_BUILDER_FEE_TENTHS_BPS
from backend.venues.base import VenueError
from backend.venues.hyperliquid_errors import sdk_errors
from backend.wallets.signatures import (
    post_user_signed,
    recover_user_signer,
    user_signed_action,
    user_signed_typed_data,
)

APPROVE_BUILDER_FEE_PRIMARY_TYPE = "HyperliquidTransaction:ApproveBuilderFee"
# What the SDK's `signing.sign_approve_builder_fee` signs; tests sign with both and compare the signatures.
APPROVE_BUILDER_FEE_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "maxFeeRate", "type": "string"},
    {"name": "builder", "type": "address"},
    {"name": "nonce", "type": "uint64"},
]
TENTHS_BPS_PER_PERCENT = 1000


def fee_rate_percent(tenths_bps: int) -> str:
    """Tenths of a basis point as the percent `maxFeeRate` takes (and people read): 10 -> "0.01%"."""
    if not 0 <= tenths_bps <= MAX_BUILDER_FEE_TENTHS_BPS:
        raise ValueError(f"a perp builder fee is 0 to {MAX_BUILDER_FEE_TENTHS_BPS} tenths of a basis point")
    percent = (Decimal(tenths_bps) / TENTHS_BPS_PER_PERCENT).normalize()
    return f"{percent:f}%"


def approve_builder_fee_action(
    builder: str, tenths_bps: int, nonce: int, *, base_url: str, chain_id: int
) -> dict:
    """The approveBuilderFee action as Hyperliquid expects it: `builder` may charge up to `tenths_bps`.

    `chain_id` is the chain the user's wallet is on when it signs; `hyperliquidChain` binds the approval to
    mainnet or testnet. The builder is written lower-case, as orders name it.
    """
    return {
        **user_signed_action("approveBuilderFee", builder, nonce, base_url=base_url, chain_id=chain_id),
        "maxFeeRate": fee_rate_percent(tenths_bps),
        "builder": builder.lower(),
        "nonce": nonce,
    }


def approve_builder_fee_typed_data(action: dict) -> dict[str, Any]:
    """EIP-712 typed data (domain, types with EIP712Domain, primaryType, message) for eth_signTypedData_v4."""
    return user_signed_typed_data(APPROVE_BUILDER_FEE_PRIMARY_TYPE, APPROVE_BUILDER_FEE_TYPES, action)


def recover_builder_fee_approver(action: dict, signature: str) -> str:
    """The checksummed address whose wallet signed this approval; ValueError when it recovers no one."""
    return recover_user_signer(APPROVE_BUILDER_FEE_PRIMARY_TYPE, APPROVE_BUILDER_FEE_TYPES, action, signature)


def submit_builder_fee_approval(base_url: str, action: dict, signature: str, *, timeout: float) -> None:
    """Post the signed approval to /exchange; Hyperliquid's refusal raises InvalidOrder with its reason,
    network trouble TemporaryVenueError."""
    post_user_signed(
        base_url, action, action["nonce"], signature, doing="approving the builder fee", timeout=timeout
    )


def max_builder_fee(base_url: str, user: str, builder: str, *, timeout: float) -> int:
    """The most `user` approved `builder` to charge, in tenths of a basis point (0: not approved).

    One info request of weight 20; TemporaryVenueError when Hyperliquid cannot be asked.
    """
    body = {"type": "maxBuilderFee", "user": user.lower(), "builder": builder.lower()}
    with sdk_errors("reading the approved builder fee"):
        reply = API(base_url.rstrip("/"), timeout).post("/info", body)
    if not isinstance(reply, int) or isinstance(reply, bool) or reply < 0:
        raise VenueError(f"Hyperliquid answered maxBuilderFee with {reply!r}")
    return reply
