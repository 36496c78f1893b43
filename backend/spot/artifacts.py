"""The compiled contracts (ABI and bytecode committed under contracts/build/), as web3 contracts."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
MODULE = "MaxxitSpotModule"
MOCK_ERC20 = "MockERC20"
MOCK_SWAP_ROUTER = "MockSwapRouter"


@cache
def _artifact(name: str) -> tuple[tuple[dict[str, Any], ...], str]:
    data = json.loads((BUILD_DIR / f"{name}.json").read_text())
    return tuple(data["abi"]), data["bytecode"]


def load(name: str) -> tuple[list[dict[str, Any]], str]:
    """(abi, bytecode "0x...") of a contract in contracts/build/; read once per process."""
    abi, bytecode = _artifact(name)
    return list(abi), bytecode


def contract(w3: Web3, name: str, address: str | None = None) -> Contract:
    """A web3 contract for `name`: at `address`, or undeployed (for `.constructor(...)`) without one."""
    abi, bytecode = load(name)
    if address is None:
        return w3.eth.contract(abi=abi, bytecode=bytecode)
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)


def module_contract(w3: Web3, address: str) -> Contract:
    return contract(w3, MODULE, address)


def erc20_contract(w3: Web3, address: str) -> Contract:
    """Any ERC-20 (balanceOf, decimals, approve, transfer): the mock's ABI covers what we read."""
    return contract(w3, MOCK_ERC20, address)
