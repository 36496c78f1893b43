"""usdSend and the non-funding ledger: a user's own wallet moves USDC to another address, as Hyperliquid.

usdSend is user-signed (EIP-712 `HyperliquidTransaction:UsdSend`), never an L1 action an agent may sign: only
a funded user's own key moves money ("Must deposit before performing actions" for anyone else, agents
included). Its nonce is the action's `time`. Each send is recorded once and shows in
`userNonFundingLedgerUpdates` for both the sender and the destination.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_utils import is_address
from hyperliquid.utils.signing import USD_SEND_SIGN_TYPES, recover_user_from_user_signed_action

from tests.hyperliquid_server.numbers import USD_STEP, ZERO, fmt, parse
from tests.hyperliquid_server.state import State

USD_SEND = "usdSend"
USD_SEND_PRIMARY_TYPE = "HyperliquidTransaction:UsdSend"


@dataclass(frozen=True)
class Send:
    """One usdSend that went through: what both parties' ledgers show."""

    time: int
    hash: str
    user: str  # the sender, lower case
    destination: str  # lower case
    amount: Decimal
    nonce: int

    def to_api(self) -> dict[str, Any]:
        delta = {
            "type": "send",
            "user": self.user,
            "destination": self.destination,
            "sourceDex": "",
            "destinationDex": "",
            "token": "USDC",
            "amount": fmt(self.amount),
            "usdcValue": fmt(self.amount),
            "fee": "0.0",
            "nativeTokenFee": "0.0",
            "nonce": self.nonce,
        }
        return {"time": self.time, "hash": self.hash, "delta": delta}


def recover_usd_send(state: State, body: dict[str, Any]) -> tuple[str, str | None]:
    """Who signed the usdSend, or why the signature cannot say (outside the lock: recovery is slow)."""
    action, signature, nonce = body["action"], body.get("signature"), body["nonce"]
    chain = "Mainnet" if state.is_mainnet else "Testnet"
    if action.get("hyperliquidChain") != chain:
        return "", f"Invalid hyperliquidChain {action.get('hyperliquidChain')!r}: this server is {chain}."
    if action.get("time") != nonce:
        return "", "Invalid nonce: the action's time differs from the request's nonce."
    try:
        signer = recover_user_from_user_signed_action(
            action, signature, USD_SEND_SIGN_TYPES, USD_SEND_PRIMARY_TYPE, state.is_mainnet
        )
    except Exception as e:  # bad hex, a point off the curve, missing fields: no signer either way
        return "", f"Invalid signature: {type(e).__name__}: {e}"
    return signer, None


def usd_send(state: State, signer: str, action: dict[str, Any], nonce: int) -> dict[str, Any]:
    """Move USDC from the signer's own account (under the lock, nonce already checked unused)."""
    sender = state.account(signer)
    if sender is None:  # an agent wallet, or an address that never deposited
        return _err(f"Must deposit before performing actions. User: {signer.lower()}")
    destination, amount = action.get("destination"), parse(action.get("amount"))
    if not (isinstance(destination, str) and is_address(destination)):
        return _err(f"Invalid destination {destination!r}.")
    if amount is None or amount <= ZERO or amount != amount.quantize(USD_STEP):
        return _err(f"Invalid amount {action.get('amount')!r}.")
    if amount > sender.withdrawable(state.mids()):
        return _err("Insufficient balance for withdrawal or transfer.")
    state.use_nonce(signer, nonce)
    state.fund(destination, amount)  # creates the destination's account when it is new
    sender.cash -= amount
    now = state.now_ms()
    digest = hashlib.sha256(f"usdSend:{signer.lower()}:{nonce}".encode()).hexdigest()
    state.sends.append(Send(now, "0x" + digest, signer.lower(), destination.lower(), amount, nonce))
    return {"status": "ok", "response": {"type": "default"}}


def ledger_updates(state: State, body: dict[str, Any]) -> list[dict[str, Any]]:
    """userNonFundingLedgerUpdates: the user's sends and receipts in [startTime, endTime], oldest first."""
    user, start, end = str(body["user"]).lower(), body["startTime"], body.get("endTime")
    return [
        s.to_api()
        for s in state.sends
        if user in (s.user, s.destination) and s.time >= start and (end is None or s.time <= end)
    ]


def _err(reason: str) -> dict[str, Any]:
    return {"status": "err", "response": reason}
