"""One anvil per test process with the spot contracts deployed; each test runs inside an EVM snapshot.

`local_chain` (session) starts anvil and deploys once; `chain` (per test) is the same object, with every
change the test made reverted afterwards (evm_snapshot / evm_revert: milliseconds, no redeploy).
Safe transactions are signed as a browser wallet signs them (eth_signTypedData_v4 of the EIP-712 SafeTx)
and relayed by another account, as the executor relays them in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from backend.spot.local_chain import Anvil, LocalChain, deploy_local_chain
from backend.spot.safe_chain import ZERO_ADDRESS, SafeCall, disable_module_call, read_safe, typed_data


def sign_safe_tx(typed: dict[str, Any], owners: list[LocalAccount]) -> bytes:
    """The Safe's `signatures` argument: 65-byte ECDSA signatures, ordered by owner address as it requires."""
    ordered = sorted(owners, key=lambda a: int(a.address, 16))
    return b"".join(Account.sign_typed_data(o.key, full_message=typed).signature for o in ordered)


@dataclass
class ChainHarness:
    """The test chain: web3, the deployment (LocalChain: mint, prices, Safes) and funded keys."""

    anvil: Anvil
    w3: Web3
    deployment: LocalChain
    accounts: list[LocalAccount]  # anvil's dev accounts; [0] deployed everything

    @property
    def relayer(self) -> LocalAccount:
        """Sends Safe transactions others signed (any account may)."""
        return self.accounts[9]

    def new_account(self, eth_wei: int = 10**18) -> LocalAccount:
        """A fresh key with gas money (an owner, or an executor as the platform generates one)."""
        account = Account.create()
        self.deployment.fund_eth(account.address, eth_wei)
        return account

    def new_safe(
        self, owners: list[LocalAccount] | None = None, threshold: int = 1
    ) -> tuple[str, LocalAccount]:
        """(safe address, first owner): a Safe 1.4.1 owned by `owners` (default: one fresh funded key)."""
        owners = owners or [self.new_account()]
        return self.deployment.create_safe([o.address for o in owners], threshold), owners[0]

    def send(self, fn: ContractFunction, sender: LocalAccount) -> TxReceipt:
        """Sign locally (as the executor does in production) and wait for the receipt; a revert raises
        web3's ContractLogicError at gas estimation, with the reason."""
        tx = fn.build_transaction(
            {"from": sender.address, "nonce": self.w3.eth.get_transaction_count(sender.address)}
        )
        signed = sender.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        )
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction {receipt['transactionHash'].hex()} reverted")
        return receipt

    def exec_safe_tx(
        self,
        safe: str,
        to: str,
        data: str,
        owners: list[LocalAccount],
        relayer: LocalAccount | None = None,
    ) -> TxReceipt:
        """A Safe transaction (CALL `to` with 0x-hex `data`) signed by `owners` as typed data, relayed."""
        safe_contract = self.deployment.safe_contract(safe)
        call = SafeCall("test", to, data, safe_contract.functions.nonce().call())
        typed = typed_data(call, safe=safe, chain_id=self.w3.eth.chain_id)
        message = typed["message"]
        fn = safe_contract.functions.execTransaction(
            message["to"],
            0,
            message["data"],
            message["operation"],
            0,
            0,
            0,
            ZERO_ADDRESS,
            ZERO_ADDRESS,
            sign_safe_tx(typed, owners),
        )
        return self.send(fn, relayer or self.relayer)

    def enable_module(self, safe: str, owners: list[LocalAccount], module: str | None = None) -> TxReceipt:
        data = self.deployment.safe_contract(safe).encode_abi(
            "enableModule", [module or self.deployment.module]
        )
        return self.exec_safe_tx(safe, safe, data, owners)

    def disable_module(self, safe: str, owners: list[LocalAccount], module: str | None = None) -> TxReceipt:
        facts = read_safe(self.w3, safe)
        call = disable_module_call(self.w3, facts, module or self.deployment.module, facts.nonce)
        return self.exec_safe_tx(safe, call.to, call.data, owners)

    def set_executor(self, safe: str, executor: str, allowed: bool, owners: list[LocalAccount]) -> TxReceipt:
        module = self.deployment.module_contract()
        data = module.encode_abi("setExecutor", [Web3.to_checksum_address(executor), allowed])
        return self.exec_safe_tx(safe, module.address, data, owners)

    def spot_safe(
        self, usdc: Decimal = Decimal("1000")
    ) -> tuple[ChecksumAddress, LocalAccount, LocalAccount]:
        """(safe, owner, executor): a Safe with the module enabled, an allowed executor and `usdc` in it."""
        safe, owner = self.new_safe()
        executor = self.new_account()
        self.enable_module(safe, [owner])
        self.set_executor(safe, executor.address, True, [owner])
        if usdc:
            self.deployment.fund_usdc(safe, usdc)
        return Web3.to_checksum_address(safe), owner, executor

    def snapshot(self) -> str:
        return self.w3.provider.make_request("evm_snapshot", [])["result"]

    def revert(self, snapshot_id: str) -> None:
        if not self.w3.provider.make_request("evm_revert", [snapshot_id])["result"]:
            raise RuntimeError(f"evm_revert {snapshot_id} failed")


@pytest.fixture(scope="session")
def local_chain() -> Iterator[ChainHarness]:
    """anvil (chain id 42161, like Arbitrum One) with everything deployed; one per pytest-xdist worker."""
    with Anvil() as anvil:
        w3 = anvil.web3()
        accounts = anvil.accounts()
        yield ChainHarness(anvil, w3, deploy_local_chain(w3, accounts[0].address), accounts)


@pytest.fixture
def chain(local_chain: ChainHarness) -> Iterator[ChainHarness]:
    """The session chain, with whatever this test did to it reverted afterwards."""
    snapshot_id = local_chain.snapshot()
    yield local_chain
    local_chain.revert(snapshot_id)
