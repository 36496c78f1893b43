"""A browser wallet's EIP-712 signature as the Hyperliquid API takes it, for every user-signed action."""

from __future__ import annotations

from typing import Any

from eth_utils import to_hex


def split_signature(signature: str) -> dict[str, Any]:
    """A wallet's 65-byte r || s || v signature as the {r, s, v} the SDK sends (v 27/28)."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except (ValueError, AttributeError) as e:
        raise ValueError("the signature is not 0x-hex") from e
    if len(raw) != 65:
        raise ValueError(f"the signature is {len(raw)} bytes, not 65")
    v = raw[64] + 27 if raw[64] < 27 else raw[64]  # some wallets give the recovery id as 0/1
    return {
        "r": to_hex(int.from_bytes(raw[:32], "big")),
        "s": to_hex(int.from_bytes(raw[32:64], "big")),
        "v": v,
    }
