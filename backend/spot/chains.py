"""Where the spot venue trades: per chain, the Uniswap router, USDC, the tokens it may buy and our module.

Every hard-coded address below was checked against a published source (noted beside it); a token we could
not verify on a chain is left out rather than guessed: a wrong address is lost money. The module address is
None until the operator deploys `MaxxitSpotModule` on that chain and names it in SPOT_MODULE_ADDRESS. The
"local" chain (anvil in tests and the dev stack) is read from the JSON file `backend.spot.local_chain` writes.

Tokens are keyed by the app's market symbol: WETH trades as "ETH", WBTC as "BTC", so a spot position in ETH
is priced by the same feed as an ETH perp.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_utils import is_address, to_checksum_address

if TYPE_CHECKING:
    from backend.config import Settings

LOCAL = "local"
ARBITRUM = "arbitrum"
ARBITRUM_SEPOLIA = "arbitrum-sepolia"

# Uniswap v3 fee tier of the pool a swap goes through, in hundredths of a bip (500 = 0.05%).
DEFAULT_POOL_FEE = 500


class ChainConfigError(ValueError):
    """The spot chain settings (or the local chain file) cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Token:
    symbol: str  # the app's market symbol (ETH for WETH)
    address: str  # checksummed
    decimals: int
    pool_fee: int = DEFAULT_POOL_FEE  # the fee tier of the token's USDC pool the router swaps through

    def to_units(self, amount: Decimal) -> int:
        """`amount` tokens in base units, rounded down (never spend more than asked)."""
        return int(Decimal(amount).scaleb(self.decimals).to_integral_value(rounding=ROUND_DOWN))

    def from_units(self, units: int) -> Decimal:
        """Base units as a Decimal amount of tokens, exact."""
        return Decimal(units).scaleb(-self.decimals)


@dataclass(frozen=True)
class Chain:
    name: str
    chain_id: int
    router: str  # Uniswap SwapRouter02 (IV3SwapRouter.exactInputSingle, no deadline field)
    usdc: Token
    tokens: dict[str, Token] = field(default_factory=dict)  # by market symbol, USDC excluded
    module: str | None = None  # MaxxitSpotModule, once the operator deployed it
    # Safe v1.4.1 deployment helpers; only the local chain names them (tests and the dev stack create Safes).
    safe_singleton: str | None = None
    safe_proxy_factory: str | None = None
    safe_fallback_handler: str | None = None

    def token(self, symbol: str) -> Token | None:
        return self.tokens.get(symbol)

    def by_address(self, address: str) -> Token | None:
        """The token (USDC included) at `address`, whatever its case."""
        wanted = address.lower()
        if self.usdc.address.lower() == wanted:
            return self.usdc
        return next((t for t in self.tokens.values() if t.address.lower() == wanted), None)


CHAINS: dict[str, Chain] = {
    ARBITRUM: Chain(
        name=ARBITRUM,
        chain_id=42161,
        # Uniswap docs, v3 Arbitrum deployments: SwapRouter02.
        router="0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45",
        # Circle's native USDC on Arbitrum One (not the bridged USDC.e 0xFF97...).
        usdc=Token("USDC", "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", 6),
        tokens={
            # Uniswap docs, wrapped native token on Arbitrum.
            "ETH": Token("ETH", "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1", 18),
            # Arbitrum's governance token (arbiscan).
            "ARB": Token("ARB", "0x912CE59144191C1204E64559FE8253a0e49E6548", 18),
            # Bridged WBTC on Arbitrum One (arbiscan), 8 decimals like on Ethereum.
            "BTC": Token("BTC", "0x2f2a2543B76A4166549F7aaB2e75Bef0aefC5B0f", 8),
        },
    ),
    ARBITRUM_SEPOLIA: Chain(
        name=ARBITRUM_SEPOLIA,
        chain_id=421614,
        # Uniswap docs, v3 Arbitrum deployments, Arbitrum Sepolia column: SwapRouter02.
        router="0x101F443B4d1b059569D643917553c771E1b9663E",
        # Circle's testnet USDC on Arbitrum Sepolia (Circle's USDC contract addresses).
        usdc=Token("USDC", "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d", 6),
        tokens={
            # Uniswap docs, wrapped native token on Arbitrum Sepolia. No verified ARB or WBTC there.
            "ETH": Token("ETH", "0x980B62Da83eFf3D4576C647993b0c1D7faf17c73", 18),
        },
    ),
}


def chain_from_settings(settings: Settings) -> Chain | None:
    """The chain the spot venue trades on, with SPOT_MODULE_ADDRESS applied; None when spot is off
    (no ARBITRUM_RPC_URL). Raises ChainConfigError when the local chain file is missing or malformed."""
    if not settings.arbitrum_rpc_url:
        return None
    if settings.spot_chain == LOCAL:
        if settings.spot_local_chain_file is None:
            raise ChainConfigError("SPOT_CHAIN=local needs SPOT_LOCAL_CHAIN_FILE")
        chain = load_local_chain(settings.spot_local_chain_file)
    else:
        chain = CHAINS[settings.spot_chain]
    if settings.spot_module_address:
        chain = replace(chain, module=_checksum(settings.spot_module_address, "SPOT_MODULE_ADDRESS"))
    return chain


def load_local_chain(path: Path) -> Chain:
    """The chain `backend.spot.local_chain` deployed: {chain_id, router, usdc, tokens, module, safe...}.

    `usdc` and each of `tokens` ({symbol: ...}) are {address, decimals[, pool_fee]}; `usdc` may be just
    an address (6 decimals).
    """
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError as e:
        raise ChainConfigError(f"SPOT_LOCAL_CHAIN_FILE {path} does not exist (is the local chain up?)") from e
    except (OSError, ValueError) as e:
        raise ChainConfigError(f"SPOT_LOCAL_CHAIN_FILE {path} is not readable JSON: {e}") from e
    try:
        usdc = _token("USDC", raw["usdc"], default_decimals=6)
        tokens = {s: _token(s, item) for s, item in raw.get("tokens", {}).items() if s != usdc.symbol}
        safe = raw.get("safe") or {}
        return Chain(
            name=LOCAL,
            chain_id=int(raw["chain_id"]),
            router=_checksum(raw["router"], "router"),
            usdc=usdc,
            tokens=tokens,
            module=_checksum(raw["module"], "module") if raw.get("module") else None,
            safe_singleton=_optional(raw.get("safe_singleton") or safe.get("singleton")),
            safe_proxy_factory=_optional(raw.get("safe_proxy_factory") or safe.get("proxy_factory")),
            safe_fallback_handler=_optional(raw.get("fallback_handler") or safe.get("fallback_handler")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ChainConfigError(f"SPOT_LOCAL_CHAIN_FILE {path} is not a chain description: {e!r}") from e


def _token(symbol: str, item: Any, *, default_decimals: int | None = None) -> Token:
    if isinstance(item, str):
        if default_decimals is None:
            raise ValueError(f"token {symbol} needs its decimals")
        return Token(symbol, _checksum(item, symbol), default_decimals)
    return Token(
        symbol,
        _checksum(item["address"], symbol),
        int(item.get("decimals", default_decimals)),  # type: ignore[arg-type]
        int(item.get("pool_fee", DEFAULT_POOL_FEE)),
    )


def _optional(address: str | None) -> str | None:
    return _checksum(address, "safe address") if address else None


def _checksum(address: str, what: str) -> str:
    if not isinstance(address, str) or not is_address(address):
        raise ChainConfigError(f"{what}: {address!r} is not an address")
    return to_checksum_address(address)
