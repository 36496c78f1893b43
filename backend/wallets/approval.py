"""approveAgent: what the user's own wallet signs so a deployment's agent wallet may trade their Hyperliquid
account (it can trade, never withdraw), who signed it, and handing it to Hyperliquid.

The flow: the service builds the action, the browser signs `approve_agent_typed_data(action)` with
`eth_signTypedData_v4`, the service checks `recover_approver` is the user's wallet, then submits. The typed
data comes from the SDK's own `user_signed_payload`, so it is exactly what Hyperliquid verifies.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from eth_utils import is_address, to_checksum_address
from hyperliquid.api import API
from hyperliquid.utils.constants import MAINNET_API_URL
from hyperliquid.utils.signing import recover_user_from_user_signed_action, user_signed_payload

from backend.venues.base import InvalidOrder
from backend.venues.hyperliquid_errors import sdk_errors
from backend.wallets.signatures import split_signature

APPROVE_AGENT_PRIMARY_TYPE = "HyperliquidTransaction:ApproveAgent"
# The SDK keeps these inline in `signing.sign_agent`; tests sign with both and compare the signatures.
APPROVE_AGENT_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]


def approve_agent_action(
    agent_address: str, agent_name: str, nonce: int, *, base_url: str, chain_id: int
) -> dict:
    """The approveAgent action as Hyperliquid expects it.

    `chain_id` is the chain the user's wallet is on when it signs (wallets refuse typed data for another
    chain); Hyperliquid accepts any. `hyperliquidChain` is what binds the approval to mainnet or testnet.
    `agent_name` "" approves the user's one unnamed agent; a name approved again replaces that name's agent.
    """
    if not is_address(agent_address):
        raise ValueError(f"{agent_address!r} is not an address")
    if nonce <= 0 or chain_id <= 0:
        raise ValueError("nonce and chain id are positive integers")
    return {
        "type": "approveAgent",
        "hyperliquidChain": "Mainnet" if base_url.rstrip("/") == MAINNET_API_URL else "Testnet",
        "signatureChainId": hex(chain_id),
        "agentAddress": to_checksum_address(agent_address),
        "agentName": agent_name,
        "nonce": nonce,
    }


def approve_agent_typed_data(action: dict) -> dict[str, Any]:
    """EIP-712 typed data (domain, types with EIP712Domain, primaryType, message) for eth_signTypedData_v4."""
    payload = user_signed_payload(APPROVE_AGENT_PRIMARY_TYPE, copy.deepcopy(APPROVE_AGENT_TYPES), action)
    # Only the signed fields: wallets show the message, and `type`/`signatureChainId` are not part of it.
    payload["message"] = {t["name"]: _signed_fields(action)[t["name"]] for t in APPROVE_AGENT_TYPES}
    return json.loads(json.dumps(payload))  # plain JSON, no shared references to the action


def recover_approver(action: dict, signature: str) -> str:
    """The checksummed address whose wallet signed this approval (a 65-byte 0x-hex signature)."""
    is_mainnet = action.get("hyperliquidChain") == "Mainnet"
    try:
        signer = recover_user_from_user_signed_action(
            _signed_fields(action),
            split_signature(signature),
            APPROVE_AGENT_TYPES,
            APPROVE_AGENT_PRIMARY_TYPE,
            is_mainnet,
        )
    except (KeyError, TypeError) as e:
        raise ValueError(f"not an approveAgent action: missing {e}") from e
    except Exception as e:  # eth_keys' BadSignature and friends: this signature recovers no one
        raise ValueError(f"the signature does not recover an address: {e}") from e
    return to_checksum_address(signer)


def submit_agent_approval(base_url: str, action: dict, signature: str, *, timeout: float) -> None:
    """Post the signed approval to /exchange; Hyperliquid's refusal raises InvalidOrder with its reason,
    network trouble TemporaryVenueError."""
    posted = dict(action)
    if posted.get("agentName") == "":
        del posted["agentName"]  # as the SDK posts the unnamed agent (it signs "" and drops the field)
    payload = {
        "action": posted,
        "nonce": action["nonce"],
        "signature": split_signature(signature),
        "vaultAddress": None,
    }
    with sdk_errors("approving the agent wallet", refused=InvalidOrder):
        reply = API(base_url.rstrip("/"), timeout).post("/exchange", payload)
    if not isinstance(reply, dict) or reply.get("status") != "ok":
        raise InvalidOrder(str(reply.get("response") if isinstance(reply, dict) else reply))


def _signed_fields(action: dict) -> dict:
    return {**action, "agentName": action.get("agentName", "")}
