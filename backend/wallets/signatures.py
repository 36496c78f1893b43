"""What every user-signed Hyperliquid action shares: the EIP-712 typed data a browser wallet signs, the
wallet's signature as the SDK sends it, and who signed.

A user-signed action (approveAgent, approveBuilderFee, usdSend ...) is signed by the user's own wallet with
`eth_signTypedData_v4`; the typed data comes from the SDK's own `user_signed_payload`, so it is exactly what
Hyperliquid verifies.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from eth_utils import is_address, to_checksum_address, to_hex
from hyperliquid.api import API
from hyperliquid.utils.constants import MAINNET_API_URL
from hyperliquid.utils.signing import recover_user_from_user_signed_action, user_signed_payload

from backend.venues.base import InvalidOrder
from backend.venues.hyperliquid_errors import sdk_errors
from backend.wallets.raw_signature import signature_bytes


def user_signed_action(action_type: str, address: str, nonce: int, *, base_url: str, chain_id: int) -> dict:
    """What every user-signed action starts with: its `type`, `hyperliquidChain` and `signatureChainId`,
    once the address it names is an address and the nonce and chain id are positive.

    `chain_id` is the chain the user's wallet is on when it signs (wallets refuse typed data for another
    chain); Hyperliquid accepts any. `hyperliquidChain`, from the base URL, binds it to mainnet or testnet.
    """
    if not is_address(address):
        raise ValueError(f"{address!r} is not an address")
    if nonce <= 0 or chain_id <= 0:
        raise ValueError("nonce and chain id are positive integers")
    return {
        "type": action_type,
        "hyperliquidChain": "Mainnet" if base_url.rstrip("/") == MAINNET_API_URL else "Testnet",
        "signatureChainId": hex(chain_id),
    }


def user_signed_typed_data(primary_type: str, types: list[dict[str, str]], fields: dict) -> dict[str, Any]:
    """EIP-712 typed data (domain, types with EIP712Domain, primaryType, message) for eth_signTypedData_v4.

    `fields` is the action with every signed field (and `signatureChainId`); the message holds only the
    signed ones: wallets show it, and `type`/`signatureChainId` are not part of it.
    """
    payload = user_signed_payload(primary_type, copy.deepcopy(types), fields)
    payload["message"] = {t["name"]: fields[t["name"]] for t in types}
    return json.loads(json.dumps(payload))  # plain JSON, no shared references to the action


def recover_user_signer(primary_type: str, types: list[dict[str, str]], fields: dict, signature: str) -> str:
    """The checksummed address whose wallet signed these fields (a 65-byte 0x-hex signature).

    ValueError when the signature is malformed, a field is missing, or it recovers no address.
    """
    is_mainnet = fields.get("hyperliquidChain") == "Mainnet"
    try:
        signer = recover_user_from_user_signed_action(
            fields, split_signature(signature), types, primary_type, is_mainnet
        )
    except (KeyError, TypeError) as e:
        raise ValueError(f"not a {primary_type} action: missing {e}") from e
    except Exception as e:  # eth_keys' BadSignature and friends: this signature recovers no one
        raise ValueError(f"the signature does not recover an address: {e}") from e
    return to_checksum_address(signer)


def split_signature(signature: str) -> dict[str, Any]:
    """A wallet's 65-byte r || s || v signature as the {r, s, v} the SDK sends (v 27/28)."""
    raw = signature_bytes(signature)
    return {
        "r": to_hex(int.from_bytes(raw[:32], "big")),
        "s": to_hex(int.from_bytes(raw[32:64], "big")),
        "v": raw[64],
    }


def post_user_signed(
    base_url: str, action: dict, nonce: int, signature: str, *, doing: str, timeout: float
) -> None:
    """Post a signed user action to /exchange; Hyperliquid's refusal raises InvalidOrder with its reason,
    network trouble TemporaryVenueError (`doing` names the action in the message)."""
    payload = {
        "action": action,
        "nonce": nonce,
        "signature": split_signature(signature),
        "vaultAddress": None,
    }
    with sdk_errors(doing, refused=InvalidOrder):
        reply = API(base_url.rstrip("/"), timeout).post("/exchange", payload)
    if not isinstance(reply, dict) or reply.get("status") != "ok":
        raise InvalidOrder(str(reply.get("response") if isinstance(reply, dict) else reply))
