"""usdSend: what the user's own wallet signs to move USDC from their Hyperliquid account to the platform's,
who signed it, handing it to Hyperliquid, and reading the sends back from the account's ledger.

The same flow as approveAgent (`backend.wallets.approval`): the service builds the action, the browser signs
`usd_send_typed_data(action)` with `eth_signTypedData_v4`, the service checks `recover_sender` is the account
holder, then submits. An agent wallet can never sign this: only the account's own key moves its money.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_utils import is_address, to_checksum_address
from hyperliquid.api import API
from hyperliquid.utils.constants import MAINNET_API_URL
from hyperliquid.utils.signing import (
    USD_SEND_SIGN_TYPES,
    recover_user_from_user_signed_action,
    user_signed_payload,
)

from backend.trading.money import money
from backend.venues.base import InvalidOrder, VenueError
from backend.venues.hyperliquid_errors import parsing, sdk_errors
from backend.wallets.signatures import split_signature

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
    if not is_address(destination):
        raise ValueError(f"{destination!r} is not an address")
    if nonce <= 0 or chain_id <= 0:
        raise ValueError("nonce and chain id are positive integers")
    return {
        "type": "usdSend",
        "hyperliquidChain": "Mainnet" if base_url.rstrip("/") == MAINNET_API_URL else "Testnet",
        "signatureChainId": hex(chain_id),
        "destination": destination.lower(),
        "amount": usd_amount(amount),
        "time": nonce,
    }


def usd_send_typed_data(action: dict) -> dict[str, Any]:
    """EIP-712 typed data (domain, types with EIP712Domain, primaryType, message) for eth_signTypedData_v4."""
    payload = user_signed_payload(USD_SEND_PRIMARY_TYPE, copy.deepcopy(USD_SEND_SIGN_TYPES), action)
    payload["message"] = {t["name"]: action[t["name"]] for t in USD_SEND_SIGN_TYPES}  # only signed fields
    return json.loads(json.dumps(payload))  # plain JSON, no shared references to the action


def recover_sender(action: dict, signature: str) -> str:
    """The checksummed address whose wallet signed this send (a 65-byte 0x-hex signature)."""
    try:
        signer = recover_user_from_user_signed_action(
            action,
            split_signature(signature),
            USD_SEND_SIGN_TYPES,
            USD_SEND_PRIMARY_TYPE,
            action.get("hyperliquidChain") == "Mainnet",
        )
    except (KeyError, TypeError) as e:
        raise ValueError(f"not a usdSend action: missing {e}") from e
    except ValueError:
        raise
    except Exception as e:  # eth_keys' BadSignature and friends: this signature recovers no one
        raise ValueError(f"the signature does not recover an address: {e}") from e
    return to_checksum_address(signer)


def submit_usd_send(base_url: str, action: dict, signature: str, *, timeout: float) -> None:
    """Post the signed send to /exchange; Hyperliquid's refusal raises InvalidOrder with its reason, network
    trouble TemporaryVenueError (the send may or may not have happened: confirm from the ledger)."""
    payload = {
        "action": action,
        "nonce": action["time"],
        "signature": split_signature(signature),
        "vaultAddress": None,
    }
    with sdk_errors("sending USDC", refused=InvalidOrder):
        reply = API(base_url.rstrip("/"), timeout).post("/exchange", payload)
    if not isinstance(reply, dict) or reply.get("status") != "ok":
        raise InvalidOrder(str(reply.get("response") if isinstance(reply, dict) else reply))


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
