"""POST /exchange: signatures checked with the SDK's own recovery helpers, then the action, as Hyperliquid.

Orders name no user: the signer is the user itself or an agent (API wallet) a user approved, and the order
goes to that user's account. A cloid is taken once an order carrying it has filled; a rejected order (no
match, margin, minimum value) leaves it free, so a retry of the same order with the same cloid can still
go through.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

from eth_utils import is_address
from hyperliquid.utils.signing import (
    USD_SEND_SIGN_TYPES,
    recover_agent_or_user_from_l1_action,
    recover_user_from_user_signed_action,
)

from tests.hyperliquid_server.book import Order
from tests.hyperliquid_server.builder import (
    APPROVE_BUILDER_FEE_PRIMARY_TYPE,
    APPROVE_BUILDER_FEE_TYPES,
    approve_builder_fee,
    order_builder_rate,
)
from tests.hyperliquid_server.numbers import parse, valid_price, valid_size
from tests.hyperliquid_server.state import State
from tests.hyperliquid_server.transfers import (
    USD_SEND,
    USD_SEND_PRIMARY_TYPE,
    recover_usd_send,
    usd_send,
)

# The SDK keeps these inline in `signing.sign_agent`; what a user's wallet signs to approve an agent.
APPROVE_AGENT_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]
APPROVE_AGENT_PRIMARY_TYPE = "HyperliquidTransaction:ApproveAgent"
CLOID = re.compile(r"^0x[0-9a-fA-F]{32}$")
OK_DEFAULT = {"status": "ok", "response": {"type": "default"}}


def handle_exchange(state: State, body: Any) -> dict[str, Any]:
    """The reply to one POST /exchange body (always HTTP 200, as Hyperliquid answers refusals)."""
    if not isinstance(body, dict) or not isinstance(body.get("action"), dict):
        return _err("Missing action.")
    action = body["action"]
    with state.lock:
        state.actions.append(copy.deepcopy(action))
    kind = action.get("type")
    handler = HANDLERS.get(kind)
    if handler is None and kind not in USER_SIGNED:
        known = ", ".join([*USER_SIGNED, *HANDLERS])
        return _err(f"Unknown action type {kind!r}; this test server handles {known}.")
    nonce = body.get("nonce")
    if not isinstance(nonce, int) or isinstance(nonce, bool):
        return _err("Invalid nonce: missing or not an integer")
    if body.get("vaultAddress"):
        return _err("Vault and subaccount actions are not supported by this test server.")
    expires_after = body.get("expiresAfter")
    if expires_after is not None and expires_after < state.now_ms():
        return _err(f"Action expired: expiresAfter {expires_after} has passed.")
    signer, problem = _recover(state, body, kind)  # outside the lock: recovery is the slow part
    if problem:
        return _err(problem)
    with state.lock:
        problem = state.nonce_problem(signer, nonce)
        if problem:
            return _err(problem)
        if kind in USER_SIGNED:  # signed by a user's own wallet, for itself
            return USER_SIGNED[kind][2](state, signer, action, nonce)
        user = state.user_for(signer)
        if user is None:
            return _err(f"User or API Wallet {signer.lower()} does not exist.")
        state.use_nonce(signer, nonce)
        return handler(state, user, action)


def _recover(state: State, body: dict[str, Any], kind: str) -> tuple[str, str | None]:
    """Who signed the action, or why the signature cannot say."""
    action, signature, nonce = body["action"], body.get("signature"), body["nonce"]
    if not (isinstance(signature, dict) and {"r", "s", "v"} <= signature.keys()):
        return "", "Invalid signature: expected {r, s, v}."
    if kind == USD_SEND:  # its nonce is the action's `time`
        return recover_usd_send(state, body)
    chain = "Mainnet" if state.is_mainnet else "Testnet"
    try:
        if kind not in USER_SIGNED:
            signer = recover_agent_or_user_from_l1_action(
                action, signature, None, nonce, body.get("expiresAfter"), state.is_mainnet
            )
            return signer, None
        if action.get("hyperliquidChain") != chain:
            return "", f"Invalid hyperliquidChain {action.get('hyperliquidChain')!r}: this server is {chain}."
        if action.get("nonce") != nonce:
            return "", "Invalid nonce: the action's nonce differs from the request's."
        types, primary_type, _ = USER_SIGNED[kind]
        signed = action
        if kind == "approveAgent":
            # The SDK signs agentName "" for the unnamed agent and then drops the field from what it posts.
            signed = {**action, "agentName": action.get("agentName", "")}
        signer = recover_user_from_user_signed_action(
            signed, signature, types, primary_type, state.is_mainnet
        )
        return signer, None
    except Exception as e:  # bad hex, a point off the curve, missing fields: no signer either way
        return "", f"Invalid signature: {type(e).__name__}: {e}"


def _approve_agent(state: State, user: str, action: dict[str, Any], nonce: int) -> dict[str, Any]:
    if state.account(user) is None:
        return _err(f"Must deposit before performing actions. User: {user.lower()}")
    agent, name = action.get("agentAddress"), action.get("agentName", "")
    if not (isinstance(agent, str) and is_address(agent)):
        return _err(f"Invalid agentAddress {agent!r}.")
    if not isinstance(name, str):
        return _err("Invalid agentName.")
    problem = state.approve(user, agent, name)
    if problem:
        return _err(problem)
    state.use_nonce(user, nonce)
    return OK_DEFAULT


def _order(state: State, user: str, action: dict[str, Any]) -> dict[str, Any]:
    wires = action.get("orders")
    if not isinstance(wires, list) or not wires:
        return _err("Order action without orders.")
    account = state.account(user)
    assert account is not None  # users act only once funded; agents belong to funded users
    builder_rate, problem = order_builder_rate(state, user, action)
    if problem:
        return _err(problem)
    mids = state.mids()
    statuses = [_place(state, user, wire, mids, builder_rate) for wire in wires]
    return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}


def _place(
    state: State, user: str, wire: Any, mids: dict, builder_rate: Decimal | None = None
) -> dict[str, Any]:
    account = state.account(user)
    assert account is not None
    market = state.market(wire.get("a")) if isinstance(wire, dict) else None
    if market is None:
        return {"error": f"Unknown or delisted asset {wire.get('a') if isinstance(wire, dict) else wire!r}."}
    limit = (wire.get("t") or {}).get("limit") or {}
    if limit.get("tif") != "Ioc":
        return {"error": "This test server only takes IOC limit orders (market orders)."}
    if market.reduce_only and not wire.get("r"):
        return {"error": f"{market.coin} is delisted: only reduce-only orders are accepted."}
    size, price = parse(wire.get("s")), parse(wire.get("p"))
    if size is None or not valid_size(size, market.sz_decimals):
        return {"error": "Order has invalid size."}
    if price is None or not valid_price(price, market.sz_decimals):
        return {"error": "Order has invalid price."}
    cloid = wire.get("c")
    if cloid is not None:
        if not (isinstance(cloid, str) and CLOID.match(cloid)):
            return {"error": "Invalid cloid: expected 0x and 32 hex digits."}
        cloid = cloid.lower()
        previous = account.cloids.get(cloid)
        if previous is not None and previous.status == "filled":
            return {"error": f"Duplicate cloid {cloid}: order {previous.oid} already used it."}
    now = state.now_ms()
    order = Order(
        state.next_oid(), market.coin, bool(wire.get("b")), price, size, bool(wire.get("r")), cloid, now
    )
    account.orders.append(order)
    if cloid:
        account.cloids[cloid] = order
    return account.fill_ioc(order, market, mids, now, state.next_tid(), builder_rate=builder_rate)


def _update_leverage(state: State, user: str, action: dict[str, Any]) -> dict[str, Any]:
    market = state.market(action.get("asset"))
    if market is None:
        return _err(f"Unknown or delisted asset {action.get('asset')!r}.")
    leverage, is_cross = action.get("leverage"), action.get("isCross")
    if (
        not isinstance(leverage, int)
        or isinstance(leverage, bool)
        or not 1 <= leverage <= market.max_leverage
    ):
        return _err("Invalid leverage value")
    if not isinstance(is_cross, bool):
        return _err("Invalid isCross.")
    account = state.account(user)
    assert account is not None
    account.leverage[market.coin] = (is_cross, leverage)
    return OK_DEFAULT


def _cancel(state: State, user: str, action: dict[str, Any]) -> dict[str, Any]:
    """IOC orders never rest, so there is never anything to cancel."""
    cancels = action.get("cancels")
    if not isinstance(cancels, list) or not cancels:
        return _err("Cancel action without cancels.")
    statuses = [{"error": "Order was never placed, already canceled, or filled."} for _ in cancels]
    return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}


def _err(reason: str) -> dict[str, Any]:
    return {"status": "err", "response": reason}


# Actions a user's own wallet signs as EIP-712 typed data: (types, primary type, handler).
USER_SIGNED = {
    "approveAgent": (APPROVE_AGENT_TYPES, APPROVE_AGENT_PRIMARY_TYPE, _approve_agent),
    "approveBuilderFee": (APPROVE_BUILDER_FEE_TYPES, APPROVE_BUILDER_FEE_PRIMARY_TYPE, approve_builder_fee),
    USD_SEND: (USD_SEND_SIGN_TYPES, USD_SEND_PRIMARY_TYPE, usd_send),
}

HANDLERS = {
    "order": _order,
    "updateLeverage": _update_leverage,
    "cancel": _cancel,
    "cancelByCloid": _cancel,
}
