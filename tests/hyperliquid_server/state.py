"""Everything the test server knows, behind one lock: markets and mids, accounts, agents, used nonces.

A perp delisted by `delist()` behaves as Hyperliquid's reduce-only wind-down: flagged in `meta`, still
priced, refusing new exposure but taking reduce-only orders, so open positions can exit. Perps delisted
in the universe table are gone: flagged, unpriced, refusing every order.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from backend.prices.markets import MARKETS, MarketSpec
from backend.prices.simulated import SimulatedPriceFeed
from tests.hyperliquid_server.book import Account, Market
from tests.hyperliquid_server.universe import UNIVERSE

if TYPE_CHECKING:
    from tests.hyperliquid_server.transfers import Send

DAY_MS = 86_400_000
MAX_NAMED_AGENTS = 3  # plus one unnamed agent per user


@dataclass(frozen=True)
class Perp:
    """One perp of `meta`: its name there, its rules, and the simulated market its price follows."""

    coin: str  # kPEPE
    sz_decimals: int
    max_leverage: int
    symbol: str  # the simulated market: PEPE
    units: int = 1  # tokens per contract: the mid is the simulated price times this
    gone: bool = False  # delisted in the universe table: no mid, no orders


def build_universe(markets: Mapping[str, MarketSpec]) -> tuple[list[Perp], dict[str, MarketSpec]]:
    """The perps in asset order and the simulated markets behind them: the app's markets keep their own
    path, size decimals and leverage; the others get a path from the table's price level."""
    perps: list[Perp] = []
    specs = dict(markets)
    for row in UNIVERSE:
        spec = markets.get(row.symbol)
        if spec is not None and row.units == 1:
            perps.append(Perp(row.coin, spec.size_decimals, spec.max_leverage, row.symbol, gone=row.delisted))
            continue
        perps.append(Perp(row.coin, row.sz_decimals, row.max_leverage, row.symbol, row.units, row.delisted))
        if spec is None:
            price = row.level / row.units
            tick = Decimal(1).scaleb(price.adjusted() - 5)  # six significant figures
            specs[row.symbol] = MarketSpec(
                row.symbol, row.symbol, price, row.volatility, tick, row.sz_decimals, row.max_leverage
            )
    listed = {p.symbol for p in perps}
    for spec in markets.values():  # an app market the table lacks is listed under its own name
        if spec.symbol not in listed:
            perps.append(Perp(spec.symbol, spec.size_decimals, spec.max_leverage, spec.symbol))
    return perps, specs


class State:
    def __init__(
        self, *, is_mainnet: bool = False, seed: int = 7, markets: Mapping[str, MarketSpec] | None = None
    ) -> None:
        """`markets` given: exactly those perps, each under its own name; else Hyperliquid's universe."""
        self.lock = threading.RLock()
        self.is_mainnet = is_mainnet
        if markets is None:
            self.perps, specs = build_universe(MARKETS)
        else:
            specs = dict(markets)
            self.perps = [Perp(s.symbol, s.size_decimals, s.max_leverage, s.symbol) for s in specs.values()]
        self.assets = {perp.coin: i for i, perp in enumerate(self.perps)}  # asset index = list position
        self.feed = SimulatedPriceFeed(seed=seed, markets=specs)
        self.mid_overrides: dict[str, Decimal] = {}
        self.delisted: set[str] = set()  # by delist(): reduce-only, still priced
        self.accounts: dict[str, Account] = {}  # lower-case user address
        self.agents: dict[str, tuple[str, str]] = {}  # lower-case agent -> (user, name; "" when unnamed)
        self.nonces: dict[str, set[int]] = {}  # per lower-case signer
        self.sends: list[Send] = []  # every usdSend that went through, oldest first
        self.builder_fees: dict[tuple[str, str], int] = {}  # (user, builder) -> max tenths of a bp
        self.actions: list[dict[str, Any]] = []  # every action posted to /exchange, refused ones too
        self.info_requests: list[str] = []  # the type of every /info request
        self.clock: Callable[[], float] = time.time
        self._oids = itertools.count(1)
        self._tids = itertools.count(1)

    # -- time and markets -----------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def next_oid(self) -> int:
        return next(self._oids)

    def next_tid(self) -> int:
        return next(self._tids)

    def perp(self, coin: str) -> Perp | None:
        index = self.assets.get(coin)
        return None if index is None else self.perps[index]

    def is_delisted(self, perp: Perp) -> bool:
        return perp.gone or perp.coin in self.delisted

    def mid(self, coin: str) -> Decimal:
        override = self.mid_overrides.get(coin)
        if override is not None:
            return override
        perp = self.perps[self.assets[coin]]
        return self.feed.price_at(perp.symbol, datetime.fromtimestamp(self.clock(), UTC)) * perp.units

    def mids(self) -> dict[str, Decimal]:
        """Every priced perp's mid per contract (the gone ones have none)."""
        return {perp.coin: self.mid(perp.coin) for perp in self.perps if not perp.gone}

    def market(self, asset: object) -> Market | None:
        """The market of an asset index, None for an unknown or gone one."""
        if not isinstance(asset, int) or isinstance(asset, bool) or not 0 <= asset < len(self.perps):
            return None
        perp = self.perps[asset]
        if perp.gone:
            return None
        return Market(
            perp.coin,
            asset,
            perp.sz_decimals,
            perp.max_leverage,
            self.mid(perp.coin),
            reduce_only=perp.coin in self.delisted,
        )

    def maintenance_rates(self) -> dict[str, Decimal]:
        return {perp.coin: Decimal(1) / (2 * perp.max_leverage) for perp in self.perps}

    # -- users, agents, nonces ------------------------------------------------------------------------

    def account(self, user: str) -> Account | None:
        return self.accounts.get(user.lower())

    def fund(self, user: str, amount: Decimal) -> None:
        self.accounts.setdefault(user.lower(), Account()).cash += amount

    def user_for(self, signer: str) -> str | None:
        """The account a signer acts for: itself when it is a user, else the user that approved it."""
        signer = signer.lower()
        if signer in self.accounts:
            return signer
        agent = self.agents.get(signer)
        return agent[0] if agent else None

    def nonce_problem(self, signer: str, nonce: int) -> str | None:
        now = self.now_ms()
        if nonce in self.nonces.get(signer.lower(), ()):
            return f"Invalid nonce: duplicate nonce {nonce}"
        if nonce < now - 2 * DAY_MS:
            return f"Invalid nonce: nonce {nonce} is more than 2 days in the past"
        if nonce > now + DAY_MS:
            return f"Invalid nonce: nonce {nonce} is more than 1 day in the future"
        return None

    def use_nonce(self, signer: str, nonce: int) -> None:
        self.nonces.setdefault(signer.lower(), set()).add(nonce)

    def agents_of(self, user: str) -> dict[str, str]:
        """name ("" for the unnamed one) -> checksummed agent address."""
        user = user.lower()
        return {name: to_checksum_address(a) for a, (u, name) in self.agents.items() if u == user}

    def approve(self, user: str, agent: str, name: str) -> str | None:
        """Register an agent for a user; the refusal reason, or None. A name approved again is replaced."""
        user, agent = user.lower(), agent.lower()
        owner = self.agents.get(agent)
        if owner and owner[0] != user:
            return f"Agent {agent} is already approved by another user."
        current = {n: a for a, (u, n) in self.agents.items() if u == user and a != agent}
        if name and name not in current and sum(1 for n in current if n) >= MAX_NAMED_AGENTS:
            return f"Too many named API wallets: at most {MAX_NAMED_AGENTS} plus one unnamed."
        self.agents.pop(agent, None)
        replaced = current.get(name)
        if replaced:
            del self.agents[replaced]
        self.agents[agent] = (user, name)
        return None
