"""What every venue offers the executor and the monitor, and the errors it speaks in.

A venue is one module behind `VenueAdapter`. Orders are market orders (an aggressive IOC limit at the venue)
carrying a client order id, so "did my order go through?" always has an answer: `order_status(cloid)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from eth_account.signers.local import LocalAccount

from backend.models.enums import ExecutionVenue, Side
from backend.trading.market import Balance, MarketRules


@dataclass(frozen=True)
class VenueAccount:
    """Whose book an order goes to.

    `address` is the user's own account at the venue (Hyperliquid's master address); `signer` is the
    deployment's agent wallet, decrypted by the executor for the duration of one call. The paper venue keys
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
    client_order_id: str  # 0x + 32 hex digits (Hyperliquid's Cloid)
    leverage: Decimal = Decimal(1)
    reduce_only: bool = False
    reference_price: Decimal | None = None  # the mid the size was computed from; guards slippage


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
    """An order with this client order id exists already: ask `order_status` for it."""


class VenueAdapter(Protocol):
    venue: ExecutionVenue

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

    def open(self, account: VenueAccount, order: OrderRequest) -> Fill:
        """Set leverage, then send a market order; the fill, or a VenueError. Never fills a cloid twice."""
        ...

    def close(self, account: VenueAccount, order: OrderRequest) -> Fill:
        """Reduce-only market order against the position `order.side` names."""
        ...

    def positions(self, account: VenueAccount) -> list[VenuePosition]: ...

    def order_status(self, account: VenueAccount, client_order_id: str) -> Fill | None:
        """The fill of that client order id, or None when the venue never saw it (or it did not fill)."""
        ...
