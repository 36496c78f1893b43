"""Everything the test server knows, behind one lock: markets and mids, accounts, agents, used nonces."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eth_utils import to_checksum_address

from backend.prices.markets import MARKETS, MarketSpec
from backend.prices.simulated import SimulatedPriceFeed
from tests.hyperliquid_server.book import Account, Market

DAY_MS = 86_400_000
MAX_NAMED_AGENTS = 3  # plus one unnamed agent per user


class State:
    def __init__(
        self, *, is_mainnet: bool = False, seed: int = 7, markets: Mapping[str, MarketSpec] | None = None
    ) -> None:
        self.lock = threading.RLock()
        self.is_mainnet = is_mainnet
        specs = dict(markets or MARKETS)
        self.specs: list[MarketSpec] = list(specs.values())  # asset index = position in this list
        self.assets = {spec.symbol: i for i, spec in enumerate(self.specs)}
        self.feed = SimulatedPriceFeed(seed=seed, markets=specs)
        self.mid_overrides: dict[str, Decimal] = {}
        self.delisted: set[str] = set()
        self.accounts: dict[str, Account] = {}  # lower-case user address
        self.agents: dict[str, tuple[str, str]] = {}  # lower-case agent -> (user, name; "" when unnamed)
        self.nonces: dict[str, set[int]] = {}  # per lower-case signer
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

    def spec(self, coin: str) -> MarketSpec | None:
        index = self.assets.get(coin)
        return None if index is None else self.specs[index]

    def mid(self, coin: str) -> Decimal:
        override = self.mid_overrides.get(coin)
        if override is not None:
            return override
        return self.feed.price_at(coin, datetime.fromtimestamp(self.clock(), UTC))

    def mids(self) -> dict[str, Decimal]:
        return {spec.symbol: self.mid(spec.symbol) for spec in self.specs}

    def market(self, asset: object) -> Market | None:
        """The market of an asset index, None for an unknown or delisted one."""
        if not isinstance(asset, int) or isinstance(asset, bool) or not 0 <= asset < len(self.specs):
            return None
        spec = self.specs[asset]
        if spec.symbol in self.delisted:
            return None
        return Market(spec.symbol, asset, spec.size_decimals, spec.max_leverage, self.mid(spec.symbol))

    def maintenance_rates(self) -> dict[str, Decimal]:
        return {spec.symbol: Decimal(1) / (2 * spec.max_leverage) for spec in self.specs}

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
