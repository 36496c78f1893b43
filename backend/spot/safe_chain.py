"""A user's Safe as the chain sees it, and the Safe transactions that enable or revoke the Maxxit module.

No database and no settings here: the caller passes a Web3 connected to the spot chain. A Safe transaction
is described once (`SafeCall`) and turned into the EIP-712 SafeTx typed data a browser wallet signs with
`eth_signTypedData_v4` (Safe 1.4.1 domain: chainId and verifyingContract), its hash, and the
`execTransaction` the module's executor relays with the owner's signature.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, Web3Exception

from backend.spot import artifacts
from backend.venues.base import InvalidOrder, TemporaryVenueError
from backend.wallets.raw_signature import signature_bytes

logger = logging.getLogger(__name__)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
SENTINEL_MODULES = "0x0000000000000000000000000000000000000001"  # the head of a Safe's module list
MODULE_PAGE = 50
RECEIPT_TIMEOUT_SECONDS = 60
WEI_PER_ETH = Decimal(10**18)
# The Safe versions whose SafeTx typed data (EIP712Domain with chainId) and module calls we build.
SUPPORTED_VERSIONS = ("1.3.0", "1.4.1")

SAFE_TX_TYPES = [
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "data", "type": "bytes"},
    {"name": "operation", "type": "uint8"},
    {"name": "safeTxGas", "type": "uint256"},
    {"name": "baseGas", "type": "uint256"},
    {"name": "gasPrice", "type": "uint256"},
    {"name": "gasToken", "type": "address"},
    {"name": "refundReceiver", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]
DOMAIN_TYPES = [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]


class NotASafe(ValueError):
    """The address holds no Safe this platform can work with (no code, not a Safe, an old version)."""


@dataclass(frozen=True)
class SafeFacts:
    """What the chain says about a Safe, read in one go."""

    address: str
    version: str
    owners: tuple[str, ...]  # checksummed
    threshold: int
    nonce: int
    modules: tuple[str, ...]  # enabled modules, in the Safe's list order

    def is_owner(self, address: str) -> bool:
        return address.lower() in {o.lower() for o in self.owners}

    def module_enabled(self, module: str) -> bool:
        return module.lower() in {m.lower() for m in self.modules}

    def previous_module(self, module: str) -> str:
        """The module before `module` in the Safe's linked list, as `disableModule` wants it."""
        lowered = [m.lower() for m in self.modules]
        at = lowered.index(module.lower())
        return SENTINEL_MODULES if at == 0 else self.modules[at - 1]


@dataclass(frozen=True)
class SafeCall:
    """One Safe transaction: a CALL from the Safe, no value, no gas refund (the relayer pays its own gas)."""

    purpose: str  # enable_module, set_executor, revoke_executor, disable_module
    to: str
    data: str  # 0x-hex calldata
    nonce: int


def safe_contract(w3: Web3, address: str) -> Any:
    from safe_eth.eth.contracts import get_safe_V1_4_1_contract  # heavy import, needed only here

    return get_safe_V1_4_1_contract(w3, to_checksum_address(address))


def module_contract(w3: Web3, address: str) -> Any:
    return artifacts.module_contract(w3, to_checksum_address(address))


@contextmanager
def chain_errors(doing: str) -> Iterator[None]:
    """Turn the RPC's trouble into our exceptions: a revert is InvalidOrder, unreachable is temporary."""
    try:
        yield
    except (InvalidOrder, NotASafe):
        raise
    except ContractLogicError as e:
        raise InvalidOrder(f"{doing}: the chain refused it ({e.message or e})") from e
    except (OSError, Web3Exception, requests.RequestException) as e:
        raise TemporaryVenueError(f"the spot chain cannot be reached while {doing}: {e}") from e


def read_safe(w3: Web3, address: str) -> SafeFacts:
    """Owners, threshold, nonce, version and modules of the Safe at `address`; NotASafe when it is none."""
    safe = to_checksum_address(address)
    with chain_errors("reading the Safe"):
        if not w3.eth.get_code(safe):
            raise NotASafe(f"{safe} is not a contract on this chain, so it is no Safe")
        contract = safe_contract(w3, safe)
        try:
            version = contract.functions.VERSION().call()
            owners = contract.functions.getOwners().call()
            threshold = contract.functions.getThreshold().call()
            nonce = contract.functions.nonce().call()
            modules, _next = contract.functions.getModulesPaginated(SENTINEL_MODULES, MODULE_PAGE).call()
        except (BadFunctionCallOutput, ContractLogicError, ValueError) as e:  # some other contract
            raise NotASafe(f"{safe} does not answer as a Safe does") from e
    if version not in SUPPORTED_VERSIONS:
        raise NotASafe(f"{safe} is a Safe {version}; Safe 1.3.0 or 1.4.1 is needed")
    return SafeFacts(
        address=safe,
        version=version,
        owners=tuple(to_checksum_address(o) for o in owners),
        threshold=int(threshold),
        nonce=int(nonce),
        modules=tuple(to_checksum_address(m) for m in modules),
    )


def is_executor(w3: Web3, module: str, safe: str, executor: str) -> bool:
    with chain_errors("reading the module"):
        allowed = module_contract(w3, module).functions.isExecutor(
            to_checksum_address(safe), to_checksum_address(executor)
        )
        return bool(allowed.call())


def eth_balance(w3: Web3, address: str) -> Decimal:
    """The address's ETH, in ETH."""
    with chain_errors("reading the executor's balance"):
        return Decimal(w3.eth.get_balance(to_checksum_address(address))) / WEI_PER_ETH


def enable_calls(w3: Web3, facts: SafeFacts, module: str, executor: str, *, allowed: bool) -> list[SafeCall]:
    """What turns the executor on (or off) on this Safe, from its current nonce: enableModule first when the
    module is not enabled yet (turning on), then setExecutor."""
    calls: list[SafeCall] = []
    safe, mod = safe_contract(w3, facts.address), module_contract(w3, module)
    if allowed and not facts.module_enabled(module):
        data = safe.encode_abi("enableModule", [to_checksum_address(module)])
        calls.append(SafeCall("enable_module", facts.address, data, facts.nonce))
    data = mod.encode_abi("setExecutor", [to_checksum_address(executor), allowed])
    purpose = "set_executor" if allowed else "revoke_executor"
    calls.append(SafeCall(purpose, to_checksum_address(module), data, facts.nonce + len(calls)))
    return calls


def disable_module_call(w3: Web3, facts: SafeFacts, module: str, nonce: int) -> SafeCall:
    data = safe_contract(w3, facts.address).encode_abi(
        "disableModule", [to_checksum_address(facts.previous_module(module)), to_checksum_address(module)]
    )
    return SafeCall("disable_module", facts.address, data, nonce)


def typed_data(call: SafeCall, *, safe: str, chain_id: int) -> dict[str, Any]:
    """The SafeTx as eth_signTypedData_v4 takes it: plain JSON (numbers, 0x-hex bytes), the Safe's domain."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPES, "SafeTx": SAFE_TX_TYPES},
        "primaryType": "SafeTx",
        "domain": {"chainId": chain_id, "verifyingContract": to_checksum_address(safe)},
        "message": {
            "to": to_checksum_address(call.to),
            "value": 0,
            "data": call.data,
            "operation": 0,
            "safeTxGas": 0,
            "baseGas": 0,
            "gasPrice": 0,
            "gasToken": ZERO_ADDRESS,
            "refundReceiver": ZERO_ADDRESS,
            "nonce": call.nonce,
        },
    }


def safe_tx_hash(typed: dict[str, Any]) -> str:
    signable = encode_typed_data(full_message=typed)
    return Web3.keccak(b"\x19" + signable.version + signable.header + signable.body).to_0x_hex()


def recover_signer(typed: dict[str, Any], signature: str) -> str:
    """Who signed this SafeTx (a 65-byte r||s||v wallet signature); ValueError when it recovers no one."""
    raw = signature_bytes(signature)
    try:
        return to_checksum_address(
            Account.recover_message(encode_typed_data(full_message=typed), signature=raw)
        )
    except Exception as e:  # eth_keys' BadSignature and friends
        raise ValueError(f"the signature does not recover an address: {e}") from e


def relay_cost_wei(w3: Web3, call: SafeCall, safe: str, signature: str, relayer: str) -> tuple[int, int, int]:
    """(gas, gas price, cost) of relaying this signed Safe transaction from `relayer`; InvalidOrder when the
    Safe would refuse it (a wrong signature, a used nonce)."""
    with chain_errors("estimating the Safe transaction"):
        function = _exec(w3, call, safe, signature)
        gas = function.estimate_gas({"from": to_checksum_address(relayer)})
        price = w3.eth.gas_price
    gas = gas * 12 // 10 + 10_000  # the estimate is tight; execTransaction checks gasleft() itself
    return gas, price, gas * price


def relay(w3: Web3, call: SafeCall, safe: str, signature: str, relayer: LocalAccount) -> str:
    """Send `execTransaction` signed by the relayer (it pays the gas) and wait for its receipt; the tx hash.

    A receipt with status 0 is InvalidOrder: the Safe transaction did not happen.
    """
    gas, price, _cost = relay_cost_wei(w3, call, safe, signature, relayer.address)
    with chain_errors("sending the Safe transaction"):
        function = _exec(w3, call, safe, signature)
        tx = function.build_transaction(
            {
                "from": relayer.address,
                "nonce": w3.eth.get_transaction_count(relayer.address, "pending"),
                "gas": gas,
                "gasPrice": price,
                "chainId": w3.eth.chain_id,
            }
        )
        signed = relayer.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS)
    hex_hash = HexBytes(tx_hash).to_0x_hex()
    if receipt["status"] != 1:
        raise InvalidOrder(f"the Safe transaction {hex_hash} ({call.purpose}) reverted")
    logger.info("relayed %s on Safe %s in %s", call.purpose, safe, hex_hash)
    return hex_hash


def _exec(w3: Web3, call: SafeCall, safe: str, signature: str) -> Any:
    return safe_contract(w3, safe).functions.execTransaction(
        to_checksum_address(call.to),
        0,
        HexBytes(call.data),
        0,
        0,
        0,
        0,
        ZERO_ADDRESS,
        ZERO_ADDRESS,
        signature_bytes(signature),
    )
