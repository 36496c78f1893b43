"""A local EVM for tests and development: anvil, the Safe 1.4.1 contracts, mock tokens and router, our module.

Tests share one anvil per process (tests/chain_support.py); `python -m backend.spot.local_chain` runs one for
development and writes the SPOT_LOCAL_CHAIN_FILE the app reads.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD
from web3.types import TxReceipt

from backend.config import PROJECT_ROOT
from backend.spot import artifacts

logger = logging.getLogger(__name__)

ARBITRUM_CHAIN_ID = 42161
# anvil's (and Hardhat's) well-known development mnemonic: its accounts are public, never use them for value.
DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
USDC = "USDC"
# The app's market symbol -> (token name, token symbol, decimals) of the mock deployed for it.
MARKET_TOKENS: dict[str, tuple[str, str, int]] = {
    "ETH": ("Wrapped Ether", "WETH", 18),
    "ARB": ("Arbitrum", "ARB", 18),
    "BTC": ("Wrapped BTC", "WBTC", 8),
}
# Uniswap V3 pool fee (hundredths of a bip) the mock router ignores; the usual tier for majors.
DEFAULT_POOL_FEE = 500
_READY_TIMEOUT_S = 30.0
T = TypeVar("T")


def anvil_binary() -> str:
    """anvil from tools/ (make bootstrap installs it from npm), else from PATH.

    The npm package's bin is a node wrapper around a platform package's binary: run the binary itself when
    it is there (one process, no node start-up)."""
    node_modules = PROJECT_ROOT / "tools" / "node_modules"
    binaries = sorted(node_modules.glob("@foundry-rs/anvil-*/bin/anvil"))
    if binaries:
        return str(binaries[0])
    if (node_modules / ".bin" / "anvil").exists():
        return str(node_modules / ".bin" / "anvil")
    found = shutil.which("anvil")
    if found is None:
        raise FileNotFoundError("anvil not found: `make bootstrap` installs @foundry-rs/anvil into tools/")
    return found


def _answers(w3: Web3, chain_id: int) -> bool:
    try:
        return w3.eth.chain_id == chain_id
    except OSError:
        return False


def _listening_port(pid: int) -> int | None:
    """The TCP port process `pid` (or a child: the npm wrapper) listens on, from /proc (Linux)."""
    pids = [pid]
    for p in pids:  # grows as children are found
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            pids += [int(c) for c in children.read_text().split()]
    sockets = set()
    for p in pids:
        for fd in Path(f"/proc/{p}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                sockets.add(target[len("socket:[") : -1])
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in sockets:  # 0A: LISTEN
            return int(fields[1].split(":")[1], 16)
    return None


class Anvil:
    """An anvil subprocess on 127.0.0.1; every transaction is mined at once (anvil's default automine)."""

    def __init__(
        self,
        *,
        port: int | None = None,
        chain_id: int = ARBITRUM_CHAIN_ID,
        mnemonic: str = DEFAULT_MNEMONIC,
        fork_url: str | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.mnemonic = mnemonic
        # Port 0: the kernel picks a free port, read back from /proc, so two test workers never meet on one.
        args = [anvil_binary(), "--host", "127.0.0.1", "--port", str(port or 0)]
        args += ["--chain-id", str(chain_id), "--mnemonic", mnemonic, "--silent"]
        if fork_url:
            args += ["--fork-url", fork_url]
        # Its own process group, so stop() also ends a wrapper's child.
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            self.port = port or self._wait(lambda: _listening_port(self._process.pid))
            self.url = f"http://127.0.0.1:{self.port}"
            w3 = self.web3()
            self._wait(lambda: _answers(w3, chain_id))
        except BaseException:
            self.stop()
            raise

    def _wait(self, probe: Callable[[], T | None]) -> T:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                raise RuntimeError(f"anvil exited with {self._process.returncode}: {err.strip()}")
            result = probe()
            if result:
                return result
            time.sleep(0.05)
        raise TimeoutError(f"anvil was not ready within {_READY_TIMEOUT_S}s")

    def web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 30}))

    def accounts(self, count: int = 10) -> list[LocalAccount]:
        """anvil's funded development accounts (10000 ETH each), with their keys."""
        return dev_accounts(self.mnemonic, count)

    def stop(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def dev_accounts(mnemonic: str = DEFAULT_MNEMONIC, count: int = 10) -> list[LocalAccount]:
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)]


def _safe_contracts() -> ModuleType:
    """safe-eth-py's contract getters, imported on first use: the package loads py-evm (over a second), and
    every test process collects modules importing this one."""
    from safe_eth.eth import contracts

    return contracts


def to_base_units(amount: Decimal, decimals: int) -> int:
    """Exact: an amount finer than the token's smallest unit is the caller's bug, not something to round."""
    scaled = Decimal(amount).scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {decimals} decimals")
    return int(scaled)


def from_base_units(amount: int, decimals: int) -> Decimal:
    return Decimal(amount).scaleb(-decimals)


def transact(fn: ContractFunction, sender: str) -> TxReceipt:
    """Send from an unlocked anvil account and wait for the receipt; a reverted transaction raises."""
    tx_hash = fn.transact({"from": sender})
    receipt = fn.w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {tx_hash.hex()} reverted")
    return receipt


def deploy(w3: Web3, factory: type[Contract] | Contract, sender: str, *args: Any) -> ChecksumAddress:
    tx_hash = factory.constructor(*args).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1 or not receipt["contractAddress"]:
        raise RuntimeError(f"deploying {tx_hash.hex()} failed")
    return receipt["contractAddress"]


def deploy_module(w3: Web3, deployer: str, router: str, usdc: str, tokens: list[str]) -> ChecksumAddress:
    """The operator's one-off deployment of MaxxitSpotModule (also on a fork or a real chain)."""
    return deploy(w3, artifacts.contract(w3, artifacts.MODULE), deployer, router, usdc, tokens)


@dataclass(frozen=True)
class Token:
    address: ChecksumAddress
    decimals: int


@dataclass
class LocalChain:
    """What deploy_local_chain deployed, and the test/dev operations on it (mint, prices, new Safes)."""

    w3: Web3
    deployer: ChecksumAddress
    chain_id: int
    router: ChecksumAddress
    tokens: dict[str, Token]  # market symbol ("USDC", "ETH", "ARB", "BTC") -> mock token
    module: ChecksumAddress
    safe_singleton: ChecksumAddress
    safe_proxy_factory: ChecksumAddress
    fallback_handler: ChecksumAddress
    _salts: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    @property
    def usdc(self) -> ChecksumAddress:
        return self.tokens[USDC].address

    def token(self, symbol: str) -> Token:
        return self.tokens[symbol]

    def to_json(self) -> dict[str, Any]:
        """The SPOT_LOCAL_CHAIN_FILE shape."""
        return {
            "chain_id": self.chain_id,
            "router": self.router,
            "usdc": self.usdc,
            "tokens": {
                s: {"address": t.address, "decimals": t.decimals} for s, t in sorted(self.tokens.items())
            },
            "module": self.module,
            "safe_singleton": self.safe_singleton,
            "safe_proxy_factory": self.safe_proxy_factory,
            "fallback_handler": self.fallback_handler,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")

    # Contracts

    def module_contract(self) -> Contract:
        return artifacts.module_contract(self.w3, self.module)

    def router_contract(self) -> Contract:
        return artifacts.contract(self.w3, artifacts.MOCK_SWAP_ROUTER, self.router)

    def erc20(self, symbol: str) -> Contract:
        return artifacts.erc20_contract(self.w3, self.tokens[symbol].address)

    def safe_contract(self, safe: str) -> Contract:
        return _safe_contracts().get_safe_V1_4_1_contract(self.w3, Web3.to_checksum_address(safe))

    # Operations (signed by the deployer, an unlocked anvil account)

    def create_safe(self, owners: list[str], threshold: int = 1) -> ChecksumAddress:
        """A new Safe 1.4.1 proxy with these owners, made through the proxy factory as the Safe app does."""
        setup = (
            _safe_contracts()
            .get_safe_V1_4_1_contract(self.w3)
            .encode_abi(
                "setup",
                [
                    [Web3.to_checksum_address(o) for o in owners],
                    threshold,
                    ZERO_ADDRESS,
                    b"",
                    self.fallback_handler,
                    ZERO_ADDRESS,
                    0,
                    ZERO_ADDRESS,
                ],
            )
        )
        factory = _safe_contracts().get_proxy_factory_V1_4_1_contract(self.w3, self.safe_proxy_factory)
        receipt = transact(
            factory.functions.createProxyWithNonce(self.safe_singleton, setup, next(self._salts)),
            self.deployer,
        )
        # The receipt also holds the new Safe's own SafeSetup log: not ours to decode.
        (created,) = factory.events.ProxyCreation().process_receipt(receipt, errors=DISCARD)
        return created["args"]["proxy"]

    def mint(self, symbol: str, to: str, amount: Decimal) -> None:
        """`amount` in whole tokens (Decimal), e.g. Decimal("1000") USDC."""
        raw = to_base_units(amount, self.tokens[symbol].decimals)
        transact(self.erc20(symbol).functions.mint(Web3.to_checksum_address(to), raw), self.deployer)

    def fund_usdc(self, to: str, amount: Decimal) -> None:
        self.mint(USDC, to, amount)

    def fund_eth(self, address: str, wei: int = 10**18) -> None:
        """Gas money for an executor or owner key (sets the balance, anvil only)."""
        self.w3.provider.make_request("anvil_setBalance", [Web3.to_checksum_address(address), hex(wei)])

    def balance(self, symbol: str, address: str) -> Decimal:
        return from_base_units(self.raw_balance(symbol, address), self.tokens[symbol].decimals)

    def raw_balance(self, symbol: str, address: str) -> int:
        return self.erc20(symbol).functions.balanceOf(Web3.to_checksum_address(address)).call()

    def set_price(self, token_in: str, token_out: str, out_per_in: Decimal) -> None:
        """The mock router's rate: whole `token_out` per whole `token_in` (symbols), exact in base units."""
        num, den = Decimal(out_per_in).as_integer_ratio()
        dec_in, dec_out = self.tokens[token_in].decimals, self.tokens[token_out].decimals
        out_per_in_1e18 = num * 10**dec_out * 10**18 // (den * 10**dec_in)
        router = self.router_contract()
        fn = router.functions.setPrice(
            self.tokens[token_in].address, self.tokens[token_out].address, out_per_in_1e18
        )
        transact(fn, self.deployer)

    def set_usd_price(self, symbol: str, price: Decimal) -> None:
        """Both directions against USDC at `price` USDC per token (no spread)."""
        self.set_price(symbol, USDC, price)
        self.set_price(USDC, symbol, 1 / Decimal(price) if price else Decimal(0))


def deploy_local_chain(w3: Web3, deployer: str) -> LocalChain:
    """Deploys everything on a fresh chain (about 10 transactions, well under a second on anvil)."""
    deployer = Web3.to_checksum_address(deployer)
    safe = _safe_contracts()
    singleton = deploy(w3, safe.get_safe_V1_4_1_contract(w3), deployer)
    proxy_factory = deploy(w3, safe.get_proxy_factory_V1_4_1_contract(w3), deployer)
    fallback_handler = deploy(w3, safe.get_compatibility_fallback_handler_V1_4_1_contract(w3), deployer)
    erc20 = artifacts.contract(w3, artifacts.MOCK_ERC20)
    tokens = {USDC: Token(deploy(w3, erc20, deployer, "USD Coin", "USDC", 6), 6)}
    for market, (name, token_symbol, decimals) in MARKET_TOKENS.items():
        tokens[market] = Token(deploy(w3, erc20, deployer, name, token_symbol, decimals), decimals)
    router = deploy(w3, artifacts.contract(w3, artifacts.MOCK_SWAP_ROUTER), deployer)
    whitelist = [tokens[m].address for m in MARKET_TOKENS]
    module = deploy_module(w3, deployer, router, tokens[USDC].address, whitelist)
    return LocalChain(
        w3=w3,
        deployer=deployer,
        chain_id=w3.eth.chain_id,
        router=router,
        tokens=tokens,
        module=module,
        safe_singleton=singleton,
        safe_proxy_factory=proxy_factory,
        fallback_handler=fallback_handler,
    )


# Development prices (USDC per token) so a freshly started chain can trade at once.
DEV_USD_PRICES = {"ETH": Decimal("3000"), "ARB": Decimal("0.5"), "BTC": Decimal("60000")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run anvil with the spot contracts deployed (development).")
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "data" / "spot_local_chain.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    # SIGTERM (a supervisor, `kill`) ends like Ctrl-C: through the `with`, which stops anvil's process group.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with Anvil(port=args.port) as anvil:
        chain = deploy_local_chain(anvil.web3(), anvil.accounts(1)[0].address)
        for symbol, price in DEV_USD_PRICES.items():
            chain.set_usd_price(symbol, price)
        chain.write(args.out)
        logger.info(
            "anvil on %s; wrote %s (set SPOT_LOCAL_CHAIN_FILE to it); Ctrl-C stops", anvil.url, args.out
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
