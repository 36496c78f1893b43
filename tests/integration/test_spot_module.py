"""MaxxitSpotModule on a real EVM (anvil) with Safe 1.4.1: what an executor can do, and everything it cannot.

Every test runs in an EVM snapshot of one shared chain (tests/chain_support.py), so each costs a few
transactions. Safe transactions are signed as a browser wallet signs eth_signTypedData_v4 and relayed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from backend.spot import artifacts
from backend.spot.compile import BUILD_DIR, CONTRACTS, compile_contracts, node_available, render
from backend.spot.local_chain import deploy
from backend.spot.safe_chain import ZERO_ADDRESS, SafeCall, typed_data
from tests.chain_support import ChainHarness, sign_safe_tx

POOL_FEE = 500
CLOID = "0x" + "ab" * 16


def order_id(cloid: str = CLOID) -> bytes:
    """Our client order id as the module's orderId: 16 bytes right-padded to 32."""
    return bytes.fromhex(cloid[2:]).ljust(32, b"\0")


def usdc_units(amount: str) -> int:
    return int(Decimal(amount).scaleb(6))


def weth_units(amount: str) -> int:
    return int(Decimal(amount).scaleb(18))


@pytest.fixture
def funded(chain: ChainHarness) -> tuple[str, object, object]:
    """A Safe with the module on, an executor allowed, 1000 USDC, and ETH at 2000 USDC."""
    chain.deployment.set_usd_price("ETH", Decimal("2000"))
    return chain.spot_safe(usdc=Decimal("1000"))


def balances(chain: ChainHarness, safe: str) -> dict[str, int]:
    return {symbol: chain.deployment.raw_balance(symbol, safe) for symbol in sorted(chain.deployment.tokens)}


def buy_eth(chain: ChainHarness, safe: str, **overrides: object):
    """The executor's swap call, 100 USDC -> WETH with min 0.049 WETH unless overridden."""
    d = chain.deployment
    args = {
        "orderId": order_id(),
        "tokenIn": d.usdc,
        "tokenOut": d.tokens["ETH"].address,
        "fee": POOL_FEE,
        "amountIn": usdc_units("100"),
        "minAmountOut": weth_units("0.049"),
    } | overrides
    return d.module_contract().functions.swap(
        safe,
        args["orderId"],
        args["tokenIn"],
        args["tokenOut"],
        args["fee"],
        args["amountIn"],
        args["minAmountOut"],
    )


def test_enabling_signed_as_a_browser_wallet_signs_typed_data(chain: ChainHarness) -> None:
    d = chain.deployment
    safe, owner = chain.new_safe()
    safe_contract = d.safe_contract(safe)
    executor = chain.new_account()
    data = safe_contract.encode_abi("enableModule", [d.module])
    call = SafeCall("enable_module", safe, data, safe_contract.functions.nonce().call())
    typed = typed_data(call, safe=safe, chain_id=d.chain_id)

    # The typed data the wallet shows hashes to exactly the Safe's own transaction hash.
    safe_hash = safe_contract.functions.getTransactionHash(
        safe, 0, data, 0, 0, 0, 0, ZERO_ADDRESS, ZERO_ADDRESS, typed["message"]["nonce"]
    ).call()
    assert _hash_eip191_message(encode_typed_data(full_message=typed)) == safe_hash
    signature = sign_safe_tx(typed, [owner])
    assert (
        Account.recover_message(encode_typed_data(full_message=typed), signature=signature) == owner.address
    )

    chain.exec_safe_tx(safe, safe, data, [owner], relayer=chain.relayer)
    receipt = chain.set_executor(safe, executor.address, True, [owner])

    assert safe_contract.functions.isModuleEnabled(d.module).call()
    assert d.module_contract().functions.isExecutor(safe, executor.address).call()
    (event,) = d.module_contract().events.ExecutorSet().process_receipt(receipt, errors=DISCARD)
    assert event["args"] == {"safe": safe, "executor": executor.address, "allowed": True}


def test_a_two_of_two_safe_needs_both_owners(chain: ChainHarness) -> None:
    d = chain.deployment
    owners = [chain.new_account(), chain.new_account()]
    safe, _ = chain.new_safe(owners, threshold=2)

    with pytest.raises(ContractLogicError, match="GS020"):
        chain.enable_module(safe, owners[:1])
    chain.enable_module(safe, owners)

    assert d.safe_contract(safe).functions.isModuleEnabled(d.module).call()


def test_swap_buys_into_the_safe_and_records_the_fill(chain: ChainHarness, funded) -> None:
    d = chain.deployment
    safe, _, executor = funded
    module = d.module_contract()

    receipt = chain.send(buy_eth(chain, safe), executor)

    assert d.balance("USDC", safe) == Decimal("900")
    assert d.balance("ETH", safe) == Decimal("0.05")
    assert d.erc20("USDC").functions.allowance(safe, d.router).call() == 0
    assert module.functions.fills(safe, order_id()).call() == [
        d.usdc,
        d.tokens["ETH"].address,
        usdc_units("100"),
        weth_units("0.05"),
        receipt["blockNumber"],
    ]
    (event,) = module.events.Swapped().process_receipt(receipt, errors=DISCARD)
    assert event["args"] == {
        "safe": safe,
        "orderId": order_id(),
        "executor": executor.address,
        "tokenIn": d.usdc,
        "tokenOut": d.tokens["ETH"].address,
        "amountIn": usdc_units("100"),
        "amountOut": weth_units("0.05"),
    }


def test_swap_sells_back_to_usdc(chain: ChainHarness, funded) -> None:
    d = chain.deployment
    safe, _, executor = funded
    chain.send(buy_eth(chain, safe), executor)
    d.set_usd_price("ETH", Decimal("2200"))

    sell = buy_eth(
        chain,
        safe,
        orderId=order_id("0x" + "cd" * 16),
        tokenIn=d.tokens["ETH"].address,
        tokenOut=d.usdc,
        amountIn=weth_units("0.05"),
        minAmountOut=usdc_units("109"),
    )
    chain.send(sell, executor)

    assert d.balance("ETH", safe) == 0
    assert d.balance("USDC", safe) == Decimal("1010")


def test_an_unused_order_id_reads_as_no_fill(chain: ChainHarness, funded) -> None:
    safe, _, _ = funded
    fill = chain.deployment.module_contract().functions.fills(safe, order_id()).call()
    assert fill[3] == 0 and fill[4] == 0


REVERTS = {
    "order id used": "order id used",
    "not executor": "not executor",
    "pair not allowed": "pair not allowed",
    "token to token": "pair not allowed",
    "no slippage guard": "no slippage guard",
    "too little received": "Too little received",
    "router pays someone else": "slippage",
    "more than the safe holds": "transfer amount exceeds balance",
}


@pytest.mark.parametrize("case", sorted(REVERTS))
def test_a_refused_swap_reverts_and_changes_nothing(chain: ChainHarness, funded, case: str) -> None:
    d = chain.deployment
    safe, owner, executor = funded
    sender = executor
    overrides: dict[str, object] = {}
    if case == "order id used":
        chain.send(buy_eth(chain, safe), executor)
    elif case == "not executor":
        sender = owner  # even an owner of the Safe is no executor of the module
    elif case == "pair not allowed":
        erc20 = artifacts.contract(chain.w3, artifacts.MOCK_ERC20)
        other = deploy(chain.w3, erc20, d.deployer, "Unlisted", "UNL", 18)
        d.router_contract().functions.setPrice(d.usdc, other, 10**30).transact({"from": d.deployer})
        overrides = {"tokenOut": other}
    elif case == "token to token":
        d.mint("ETH", safe, Decimal("1"))
        overrides = {"tokenIn": d.tokens["ETH"].address, "tokenOut": d.tokens["ARB"].address}
    elif case == "no slippage guard":
        overrides = {"minAmountOut": 0}
    elif case == "too little received":
        overrides = {"minAmountOut": weth_units("0.051")}  # the price gives 0.05
    elif case == "router pays someone else":
        # A router that ignores `recipient`: the module counts what reached the Safe, not what was reported.
        d.router_contract().functions.setDivertTo(owner.address).transact({"from": d.deployer})
    elif case == "more than the safe holds":
        overrides = {"amountIn": usdc_units("1000.000001")}
    before = balances(chain, safe)
    fill_before = d.module_contract().functions.fills(safe, order_id()).call()

    with pytest.raises(ContractLogicError, match=REVERTS[case]):
        chain.send(buy_eth(chain, safe, **overrides), sender)

    assert balances(chain, safe) == before
    assert d.module_contract().functions.fills(safe, order_id()).call() == fill_before


def test_the_executor_of_one_safe_cannot_swap_for_another(chain: ChainHarness, funded) -> None:
    _, _, executor = funded
    other_safe, _, _ = chain.spot_safe(usdc=Decimal("1000"))

    with pytest.raises(ContractLogicError, match="not executor"):
        chain.send(buy_eth(chain, other_safe), executor)


def test_the_executor_cannot_move_tokens_out(chain: ChainHarness, funded) -> None:
    d = chain.deployment
    safe, _, executor = funded
    thief = chain.new_account()
    transfer = d.erc20("USDC").encode_abi("transfer", [thief.address, usdc_units("1000")])
    safe_contract = d.safe_contract(safe)

    # The executor is not a module of the Safe: the Safe refuses its module calls (GS104).
    for call in (
        safe_contract.functions.execTransactionFromModule(d.usdc, 0, transfer, 0),
        safe_contract.functions.execTransactionFromModuleReturnData(d.usdc, 0, transfer, 0),
    ):
        with pytest.raises(ContractLogicError, match="GS104"):
            chain.send(call, executor)
    # Allowing executors is per Safe, by the Safe: the executor allowing a friend allows it on nothing.
    chain.send(d.module_contract().functions.setExecutor(thief.address, True), executor)
    assert not d.module_contract().functions.isExecutor(safe, thief.address).call()
    # And the module has no other door: swap (recipient always the Safe) and setExecutor change state.
    writes = {
        entry["name"]
        for entry in d.module_contract().abi
        if entry["type"] == "function" and entry["stateMutability"] not in ("view", "pure")
    }
    assert writes == {"setExecutor", "swap"}
    swap_inputs = next(e for e in d.module_contract().abi if e.get("name") == "swap")["inputs"]
    assert [i["name"] for i in swap_inputs] == [
        "safe",
        "orderId",
        "tokenIn",
        "tokenOut",
        "fee",
        "amountIn",
        "minAmountOut",
    ]
    assert d.balance("USDC", safe) == Decimal("1000")
    assert d.balance("USDC", thief.address) == 0


def test_revoking_the_executor_stops_swaps(chain: ChainHarness, funded) -> None:
    safe, owner, executor = funded
    chain.set_executor(safe, executor.address, False, [owner])

    with pytest.raises(ContractLogicError, match="not executor"):
        chain.send(buy_eth(chain, safe), executor)


def test_disabling_the_module_stops_swaps(chain: ChainHarness, funded) -> None:
    d = chain.deployment
    safe, owner, executor = funded
    chain.disable_module(safe, [owner])

    assert not d.safe_contract(safe).functions.isModuleEnabled(d.module).call()
    with pytest.raises(ContractLogicError, match="module not enabled"):
        chain.send(buy_eth(chain, safe), executor)
    assert d.balance("USDC", safe) == Decimal("1000")


def test_the_whitelist_is_fixed_at_construction(chain: ChainHarness) -> None:
    d = chain.deployment
    module = d.module_contract()

    assert module.functions.router().call() == d.router
    assert module.functions.usdc().call() == d.usdc
    assert [module.functions.isWhitelisted(d.tokens[s].address).call() for s in ("ARB", "BTC", "ETH")] == [
        True
    ] * 3
    assert not module.functions.isWhitelisted(d.usdc).call()
    assert not module.functions.isWhitelisted(Web3.to_checksum_address("0x" + "11" * 20)).call()


@pytest.mark.skipif(not node_available(), reason="node or solc-js missing (make bootstrap installs solc-js)")
def test_committed_artifacts_are_a_fresh_compile() -> None:
    fresh = compile_contracts()

    assert sorted(fresh) == sorted(CONTRACTS)
    for name, artifact in fresh.items():
        assert (BUILD_DIR / f"{name}.json").read_text() == render(artifact), f"{name}: run make contracts"
