"""What the spot venue reads from and sends to the chain: the ERC-20 and module ABI it uses, and our order id.

Only the members the venue calls are here (the full module ABI and bytecode are the compiled artifacts under
backend/spot/contracts/build, which the deployer uses); they follow the module interface of issue 19.
"""

from __future__ import annotations

import re
from typing import Any

ERC20_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]

_ADDRESS = {"type": "address"}
_UINT = {"type": "uint256"}

MODULE_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "swap",
        "stateMutability": "nonpayable",
        "inputs": [
            {"name": "safe", **_ADDRESS},
            {"name": "orderId", "type": "bytes32"},
            {"name": "tokenIn", **_ADDRESS},
            {"name": "tokenOut", **_ADDRESS},
            {"name": "fee", "type": "uint24"},
            {"name": "amountIn", **_UINT},
            {"name": "minAmountOut", **_UINT},
        ],
        "outputs": [{"name": "amountOut", **_UINT}],
    },
    {
        "type": "function",
        "name": "fills",
        "stateMutability": "view",
        "inputs": [{"name": "safe", **_ADDRESS}, {"name": "orderId", "type": "bytes32"}],
        "outputs": [
            {"name": "tokenIn", **_ADDRESS},
            {"name": "tokenOut", **_ADDRESS},
            {"name": "amountIn", **_UINT},
            {"name": "amountOut", **_UINT},
            {"name": "blockNumber", "type": "uint64"},
        ],
    },
    {
        "type": "function",
        "name": "isExecutor",
        "stateMutability": "view",
        "inputs": [{"name": "safe", **_ADDRESS}, {"name": "executor", **_ADDRESS}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "event",
        "name": "Swapped",
        "anonymous": False,
        "inputs": [
            {"name": "safe", "indexed": True, **_ADDRESS},
            {"name": "orderId", "indexed": True, "type": "bytes32"},
            {"name": "executor", "indexed": True, **_ADDRESS},
            {"name": "tokenIn", "indexed": False, **_ADDRESS},
            {"name": "tokenOut", "indexed": False, **_ADDRESS},
            {"name": "amountIn", "indexed": False, **_UINT},
            {"name": "amountOut", "indexed": False, **_UINT},
        ],
    },
]

_CLOID = re.compile(r"^0x[0-9a-fA-F]{32}$")


def order_id(client_order_id: str) -> bytes:
    """The module's bytes32 order id for our client order id (0x + 32 hex digits): its 16 bytes, zero-padded
    on the right. Raises ValueError for anything else."""
    if not _CLOID.match(client_order_id):
        raise ValueError(f"client order id {client_order_id!r} is not 0x and 32 hex digits")
    return bytes.fromhex(client_order_id[2:]).ljust(32, b"\0")
