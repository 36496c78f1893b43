"""What every venue offers the executor and the monitor, and the errors it speaks in.

A venue is one module behind `VenueAdapter`, declaring what it can do in `capabilities` (see
`backend.venues.capabilities`). Orders are market orders carrying our client order id and go through
submit -> status: `submit` answers with the fill when the venue settles at once, or with the venue's order
id (a transaction hash) when it settles later; `status(cloid)` always answers "did my order go through?".
Our own `venue_orders` row (backend.execution.orders) keeps each order's client id, venue id and fill, so
exactly-once holds whether or not the venue itself knows client ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from eth_account.signers.local import LocalAccount

from backend.models.enums import ExecutionVenue, Side
from backend.trading.market import Balance, MarketRules
from backend.venues.capabilities import VenueCapabilities


@dataclass(frozen=True)
class VenueAccount:
    """Whose book an order goes to.

    `address` is the user's own account at the venue (the master address of an agent wallet, the user's Safe);
    `signer` is whatever the venue's `capabilities.signer` asks for (today a LocalAccount both for an agent
    wallet and for a Safe module's executor), decrypted for the duration of one call. The paper venue keys
    its books by `deployment_id` and needs neither.
    """

    deployment_id: int
    address: str | None = None
    signer: LocalAccount | None = None

    def __repr__(self) -> str:  # the signer holds a private key: never let it reach a log line
        return f"VenueAccount(deployment_id={self.deployment_id}, address={self.address!r})"


@dataclass(frozen=True)
class OrderRequest:
    market: str
    side: Side  # LONG buys, SHORT sells; for a close, the side of the position being closed
    size: Decimal  # in the market's base unit, already rounded by MarketRules.round_size
    client_order_id: str  # ours: 0x + 32 hex digits; each adapter maps it to what its venue takes
    leverage: Decimal = Decimal(1)
    reduce_only: bool = False
    reference_price: Decimal | None = None  # the mid the size was computed from; guards slippage


class OrderState(StrEnum):
    PENDING = "pending"  # the venue has it and has not settled it (a transaction not yet mined)
    FILLED = "filled"
    FAILED = "failed"  # the venue settled it without a fill (a reverted transaction, a cancelled IOC)
    UNKNOWN = "unknown"  # the venue never saw it: safe to submit (again)


@dataclass(frozen=True)
class OrderStatus:
    state: OrderState
    fill: Fill | None = None
    venue_order_id: str | None = None
    reason: str | None = None  # why it failed, fit to show a user


@dataclass(frozen=True)
class Submitted:
    """What `submit` answers: the venue's id for the order, and the fill when it settled at once."""

    venue_order_id: str | None
    fill: Fill | None = None


@dataclass(frozen=True)
class Fill:
    client_order_id: str
    market: str
    side: Side
    size: Decimal
    price: Decimal  # average fill price
    fee: Decimal  # venue fee in USD
    venue_order_id: str | None = None
    filled_at: datetime | None = None
    builder_fee: Decimal | None = None  # the builder fee the venue collected for the platform, if any


@dataclass(frozen=True)
class Listing:
    """One market as a venue lists it, said in the app's words.

    `symbol` is what people write (PEPE); `venue_market` is the venue's own name (Hyperliquid's kPEPE) and
    `units` how many tokens one of the venue's contracts holds (1000 for kPEPE, else 1). `rules` are in the
    app's units: per-token sizes and prices, so PEPE sizes step by 1000 (size_decimals -3). A delisted
    market is listed, not dropped: its positions still exit; it takes no new entries.
    """

    symbol: str
    venue_market: str
    name: str
    rules: MarketRules
    units: int = 1
    is_delisted: bool = False
    # Where the token lives when the venue trades the token itself (spot): the token registry keeps these.
    chain: str | None = None
    address: str | None = None
    decimals: int | None = None


@dataclass(frozen=True)
class VenuePosition:
    market: str
    side: Side
    size: Decimal  # positive
    entry_price: Decimal
    leverage: Decimal
    unrealized_pnl: Decimal = Decimal(0)


class VenueError(Exception):
    """The venue refused or failed; `reason` is fit to show a user and to store as a skip reason."""

    retryable = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryVenueError(VenueError):
    """Network trouble, 5xx, rate limits: try again later. The only kind that is retried."""

    retryable = True


class MarketNotListed(VenueError):
    """The venue has no such market."""


class InvalidOrder(VenueError):
    """The venue looked at the order and said no (size, price band, unapproved agent ...)."""


class InsufficientFunds(InvalidOrder):
    """Not enough margin for the order."""


class DuplicateClientOrderId(InvalidOrder):
    """An order with this client order id exists already: ask `status` for it."""


class VenueAdapter(Protocol):
    venue: ExecutionVenue
    capabilities: VenueCapabilities

    def markets(self) -> dict[str, MarketRules]:
        """Every tradable market with its rules (cached by the adapter; cheap to call)."""
        ...

    def mids(self) -> dict[str, Decimal]:
        """Every market's mid price, in one request."""
        ...

    def listings(self) -> list[Listing]:
        """Every market the venue lists, delisted ones flagged, read afresh (a refresh asks this)."""
        ...

    def balance(self, account: VenueAccount) -> Balance: ...

    def positions(self, account: VenueAccount) -> list[VenuePosition]: ...

    def submit(self, account: VenueAccount, order: OrderRequest) -> Submitted:
        """Send one order (an entry, or with `reduce_only` a close of the position `order.side` names).

        Settlement IMMEDIATE: the fill comes back now. LATER: the venue's order id (a transaction hash), and
        the fill when it settled within the call. Never fills one client order id twice.
        """
        ...

    def status(
        self, account: VenueAccount, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderStatus:
        """What became of the order with that client order id (and venue order id, when we stored one)."""
        ...

    def closing_fill(self, account: VenueAccount, market: str, side: Side) -> Fill | None:
        """The latest fill that reduced a `side` position in `market` (a close placed outside our orders).

        Only asked when `capabilities.reports_closing_fills`; a venue that cannot tell answers None.
        """
        ...
