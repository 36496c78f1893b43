"""usdSend: what the user's own wallet signs to move USDC from their Hyperliquid account to the platform's,
who signed it, handing it to Hyperliquid, and reading the sends back from the account's ledger.

The same flow as approveAgent (`backend.wallets.approval`): the service builds the action, the browser signs
`usd_send_typed_data(action)` with `eth_signTypedData_v4`, the service checks `recover_sender` is the account
holder, then submits. An agent wallet can never sign this: only the account's own key moves its money.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hyperliquid.api import API
from hyperliquid.utils.signing import (
    USD_SEND_SIGN_TYPES,
)

from backend.trading.money import money
from backend.venues.base import VenueError
from backend.venues.hyperliquid_errors import parsing, sdk_errors
from backend.wallets.signatures import (
    post_user_signed,
    recover_user_signer,
    user_signed_action,
    user_signed_typed_data,
)

USD_SEND_PRIMARY_TYPE = "HyperliquidTransaction:UsdSend"
LEDGER_PAGE = 500  # Hyperliquid answers at most this many ledger updates per request
MAX_LEDGER_PAGES = 20


@dataclass(frozen=True)
class LedgerSend:
    """One USDC send in an account's non-funding ledger (as sender or as receiver)."""

    time: int  # ms
    hash: str
    sender: str  # lower case
    destination: str  # lower case
    amount: Decimal
    nonce: int | None  # the sender's action time


def usd_amount(amount: Decimal) -> str:
    """The amount string Hyperliquid takes and shows: no exponent, a decimal point ("20.0", "12.5").

    USDC has 6 decimals on Hyperliquid, the platform's money quantum: a finer amount is refused."""
    if not amount.is_finite() or amount <= 0 or amount != money(amount):
        raise ValueError(f"{amount} is not a positive USDC amount with at most 6 decimals")
    text = f"{amount.normalize():f}"
    return text if "." in text else text + ".0"


def usd_send_action(destination: str, amount: Decimal, nonce: int, *, base_url: str, chain_id: int) -> dict:
    """The usdSend action as Hyperliquid expects it; `nonce` is its `time` (milliseconds).

    `chain_id` is the chain the user's wallet is on when it signs; `hyperliquidChain` binds the send to
    mainnet or testnet. The destination is written lower case, as the ledger shows it.
    """
    return {
        **user_signed_action("usdSend", destination, nonce, base_url=base_url, chain_id=chain_id),
        "destination": destination.lower(),
        "amount": usd_amount(amount),
        "time": nonce,
    }


def usd_send_typed_data(action: dict) -> dict[str, Any]:
    """EIP-712 typed data (domain, types with EIP712Domain, primaryType, message) for eth_signTypedData_v4."""
    return user_signed_typed_data(USD_SEND_PRIMARY_TYPE, USD_SEND_SIGN_TYPES, action)


def recover_sender(action: dict, signature: str) -> str:
    """The checksummed address whose wallet signed this send (a 65-byte 0x-hex signature)."""
    return recover_user_signer(USD_SEND_PRIMARY_TYPE, USD_SEND_SIGN_TYPES, action, signature)


def submit_usd_send(base_url: str, action: dict, signature: str, *, timeout: float) -> None:
    """Post the signed send to /exchange; Hyperliquid's refusal raises InvalidOrder with its reason, network
    trouble TemporaryVenueError (the send may or may not have happened: confirm from the ledger)."""
    post_user_signed(base_url, action, action["time"], signature, doing="sending USDC", timeout=timeout)


def ledger_sends(base_url: str, user: str, since_ms: int, *, timeout: float) -> list[LedgerSend]:
    """The USDC sends from or to `user` since `since_ms`, oldest first (other ledger updates are skipped)."""
    api, found, start = API(base_url.rstrip("/"), timeout), {}, since_ms
    for _ in range(MAX_LEDGER_PAGES):
        body = {"type": "userNonFundingLedgerUpdates", "user": user.lower(), "startTime": start}
        with sdk_errors("reading the ledger", refused=VenueError):
            updates = api.post("/info", body)
        with parsing("ledger updates"):
            for update in updates:
                send = _send(update)
                if send is not None:
                    found[send.hash] = send
            start = max((int(u["time"]) for u in updates), default=start)
        if len(updates) < LEDGER_PAGE:
            break
    return sorted(found.values(), key=lambda s: (s.time, s.hash))


def _send(update: dict[str, Any]) -> LedgerSend | None:
    delta = update["delta"]
    if delta.get("type") != "send" or delta.get("token", "USDC") != "USDC":
        return None
    nonce = delta.get("nonce")
    return LedgerSend(
        time=int(update["time"]),
        hash=str(update["hash"]),
        sender=str(delta["user"]).lower(),
        destination=str(delta["destination"]).lower(),
        amount=Decimal(str(delta["amount"])),
        nonce=None if nonce is None else int(nonce),
    )
