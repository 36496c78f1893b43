"""approveAgent: what the user's own wallet signs so a deployment's agent wallet may trade their Hyperliquid
account (it can trade, never withdraw), who signed it, and handing it to Hyperliquid.

The flow: the service builds the action, the browser signs `approve_agent_typed_data(action)` with
`eth_signTypedData_v4`, the service checks `recover_approver` is the user's wallet, then submits. The typed
data comes from the SDK's own `user_signed_payload`, so it is exactly what Hyperliquid verifies.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from backend.wallets.signatures import (
    post_user_signed,
    recover_user_signer,
    user_signed_action,
    user_signed_typed_data,
)

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
    return {
        **user_signed_action("approveAgent", agent_address, nonce, base_url=base_url, chain_id=chain_id),
        "agentAddress": to_checksum_address(agent_address),
        "agentName": agent_name,
        "nonce": nonce,
    }


def approve_agent_typed_data(action: dict) -> dict[str, Any]:
    """EIP-712 typed data (domain, types with EIP712Domain, primaryType, message) for eth_signTypedData_v4."""
    return user_signed_typed_data(APPROVE_AGENT_PRIMARY_TYPE, APPROVE_AGENT_TYPES, _signed_fields(action))


def recover_approver(action: dict, signature: str) -> str:
    """The checksummed address whose wallet signed this approval (a 65-byte 0x-hex signature)."""
    fields = _signed_fields(action)
    return recover_user_signer(APPROVE_AGENT_PRIMARY_TYPE, APPROVE_AGENT_TYPES, fields, signature)


def submit_agent_approval(base_url: str, action: dict, signature: str, *, timeout: float) -> None:
    """Post the signed approval to /exchange; Hyperliquid's refusal raises InvalidOrder with its reason,
    network trouble TemporaryVenueError."""
    posted = dict(action)
    if posted.get("agentName") == "":
        del posted["agentName"]  # as the SDK posts the unnamed agent (it signs "" and drops the field)
    post_user_signed(
        base_url, posted, action["nonce"], signature, doing="approving the agent wallet", timeout=timeout
    )


def _signed_fields(action: dict) -> dict:
    return {**action, "agentName": action.get("agentName", "")}
