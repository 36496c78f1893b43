"""A browser wallet's signature as bytes: the one rule for reading what `eth_signTypedData_v4` returns.

Shared by Hyperliquid's user-signed actions (wallets/signatures.py) and the Safe transactions of spot
(spot/safe_chain.py), which verify different typed data but take the same 65-byte r || s || v.
"""

from __future__ import annotations


def signature_bytes(signature: str) -> bytes:
    """The 65 bytes r || s || v of a 0x-hex wallet signature, v as 27/28; ValueError when it is not one."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except (ValueError, AttributeError) as e:
        raise ValueError("the signature is not 0x-hex") from e
    if len(raw) != 65:
        raise ValueError(f"the signature is {len(raw)} bytes, not 65")
    v = raw[64] + 27 if raw[64] < 27 else raw[64]  # some wallets give the recovery id as 0/1
    return raw[:64] + bytes([v])
