"""Builder fees: `approveBuilderFee` (user-signed by the main wallet), `maxBuilderFee`, builder-coded orders.

A builder fee is in tenths of a basis point (f=10 is 0.01% of the notional). A user approves a maximum per
builder; an order naming a builder is refused unless the user approved at least its fee for that builder,
even at fee 0 with no approval at all ("Builder fee has not been approved."). Perp orders are capped at
0.1% (f=100). A fill pays notional x f / 100000 on top of the taker fee and reports it as `builderFee`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from eth_utils import is_address

from tests.hyperliquid_server.state import State

# What the SDK's `signing.sign_approve_builder_fee` signs.
APPROVE_BUILDER_FEE_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "maxFeeRate", "type": "string"},
    {"name": "builder", "type": "address"},
    {"name": "nonce", "type": "uint64"},
]
APPROVE_BUILDER_FEE_PRIMARY_TYPE = "HyperliquidTransaction:ApproveBuilderFee"
MAX_PERP_BUILDER_FEE = 100  # tenths of a bp: 0.1%
MAX_APPROVED_FEE = 1000  # 1%, the spot cap: the most a user can approve
TENTHS_PER_PERCENT = 1000
TENTH_BPS = Decimal("0.00001")  # one tenth of a basis point, as a fraction of the notional
NOT_APPROVED = "Builder fee has not been approved."


def parse_fee_rate(text: object) -> int | None:
    """ "0.001%" -> 1 tenth of a bp; None unless a whole number of tenths between 0 and 1%."""
    if not isinstance(text, str) or not text.endswith("%"):
        return None
    try:
        tenths = Decimal(text[:-1]) * TENTHS_PER_PERCENT
    except InvalidOperation:
        return None
    if not tenths.is_finite() or tenths != tenths.to_integral_value() or not 0 <= tenths <= MAX_APPROVED_FEE:
        return None
    return int(tenths)


def approve_builder_fee(state: State, signer: str, action: dict[str, Any], nonce: int) -> dict[str, Any]:
    """The user's main wallet (never an agent) sets its maximum fee for one builder; 0% revokes."""
    user = signer.lower()
    if state.account(user) is None:
        if state.user_for(user) is not None:
            return _err("Builder fee approval must be signed by the user's main wallet, not an API wallet.")
        return _err(f"Must deposit before performing actions. User: {user}")
    builder = action.get("builder")
    if not (isinstance(builder, str) and is_address(builder)):
        return _err(f"Invalid builder address {builder!r}.")
    tenths = parse_fee_rate(action.get("maxFeeRate"))
    if tenths is None:
        return _err(f"Invalid maxFeeRate {action.get('maxFeeRate')!r}: a percent of at most 1%.")
    if tenths:
        state.builder_fees[(user, builder.lower())] = tenths
    else:
        state.builder_fees.pop((user, builder.lower()), None)
    state.use_nonce(user, nonce)
    return {"status": "ok", "response": {"type": "default"}}


def order_builder_rate(state: State, user: str, action: dict[str, Any]) -> tuple[Decimal | None, str | None]:
    """The builder fee rate (a fraction of the notional) an order action pays, None without a builder;
    or why the whole action is refused."""
    builder = action.get("builder")
    if builder is None:
        return None, None
    if not isinstance(builder, dict):
        return None, "Invalid builder: expected {b, f}."
    address, fee = builder.get("b"), builder.get("f")
    if not (isinstance(address, str) and is_address(address)):
        return None, f"Invalid builder address {address!r}."
    if not isinstance(fee, int) or isinstance(fee, bool) or fee < 0:
        return None, f"Invalid builder fee {fee!r}."
    if fee > MAX_PERP_BUILDER_FEE:
        return None, f"Builder fee {fee} exceeds the perp maximum of {MAX_PERP_BUILDER_FEE} (0.1%)."
    approved = state.builder_fees.get((user.lower(), address.lower()))
    if not approved or fee > approved:
        return None, NOT_APPROVED
    return TENTH_BPS * fee, None


def _err(reason: str) -> dict[str, Any]:
    return {"status": "err", "response": reason}
