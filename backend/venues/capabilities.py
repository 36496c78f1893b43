"""What each venue can do, declared once, the way Freqtrade's exchanges declare `_ft_has`.

Code outside `backend/venues` asks these questions ("does it take shorts?", "is it real money?", "does it
keep one book per deployment?") and never compares venue names. An adapter's `capabilities` is its row
here; the table is readable without building an adapter (the Hyperliquid SDK and web3 are heavy imports),
so billing, metrics and the pages can ask too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from backend.models.enums import ExecutionVenue
from backend.trading.types import Side


class Instrument(StrEnum):
    PERP = "perp"  # perpetual futures: longs and shorts on margin
    SPOT = "spot"  # the token itself, bought with USDC: longs only, no leverage


class Settlement(StrEnum):
    IMMEDIATE = "immediate"  # `submit` answers with the fill (an IOC order on an order book)
    LATER = "later"  # `submit` may answer before the fill exists (a transaction waiting to be mined)


class SignerKind(StrEnum):
    NONE = "none"  # the platform's own books (paper)
    AGENT_WALLET = "agent_wallet"  # an API key the user approved at the venue (Hyperliquid agent wallet)
    SAFE_EXECUTOR = "safe_executor"  # the executor key a Safe module lets swap, and do nothing else


@dataclass(frozen=True)
class VenueCapabilities:
    instrument: Instrument
    shorts: bool
    max_leverage: Decimal  # the most any market of the venue allows; 1 for spot
    client_order_ids: bool  # the venue itself refuses a second order carrying our client order id
    settlement: Settlement
    min_notional: Decimal  # USD; the venue refuses smaller orders
    real_funds: bool  # orders move the user's money: billed, capital read from the venue
    books_per_deployment: bool  # one book per deployment (paper) rather than per venue account
    signer: SignerKind
    reports_closing_fills: bool  # can say at what price a position closed outside the platform
    # Request weights of the adapter's reads against a per-minute budget shared by every deployment;
    # empty when the venue has no such budget.
    read_weights: dict[str, int] = field(default_factory=dict)
    read_budget_per_minute: int | None = None

    def takes(self, side: Side | str) -> bool:
        """Whether the venue can open a position on that side (spot buys; it cannot sell what it lacks)."""
        return self.shorts or Side(side) == Side.LONG


PAPER = VenueCapabilities(
    instrument=Instrument.PERP,
    shorts=True,
    max_leverage=Decimal(50),
    client_order_ids=True,
    settlement=Settlement.IMMEDIATE,
    min_notional=Decimal(10),
    real_funds=False,
    books_per_deployment=True,
    signer=SignerKind.NONE,
    reports_closing_fills=True,  # its book replays the fills (reconciliation's exit of an outside close)
)

# Hyperliquid's info weights (https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits-
# and-user-limits): 1200 per minute per IP; l2Book, allMids, clearinghouseState, orderStatus weigh 2, other
# info requests 20. The reads are the adapter's method names.
HYPERLIQUID = VenueCapabilities(
    instrument=Instrument.PERP,
    shorts=True,
    max_leverage=Decimal(50),
    client_order_ids=True,
    settlement=Settlement.IMMEDIATE,
    min_notional=Decimal(10),
    real_funds=True,
    books_per_deployment=False,
    signer=SignerKind.AGENT_WALLET,
    reports_closing_fills=True,
    read_weights={
        "mids": 2,
        "positions": 2,
        "balance": 2,
        "order_status": 2,
        "status": 2,
        "markets": 20,
        "listings": 20,
        "closing_fill": 20,
    },
    read_budget_per_minute=1200,
)

# A Safe on Arbitrum swapping through the Maxxit module: our order id is stored on chain and a second swap
# with it reverts, so the module gives us client order ids; a swap settles when its transaction is mined.
SPOT = VenueCapabilities(
    instrument=Instrument.SPOT,
    shorts=False,
    max_leverage=Decimal(1),
    client_order_ids=True,
    settlement=Settlement.LATER,
    min_notional=Decimal(5),
    real_funds=True,
    books_per_deployment=False,
    signer=SignerKind.SAFE_EXECUTOR,
    reports_closing_fills=False,
)

DECLARED: dict[ExecutionVenue, VenueCapabilities] = {
    ExecutionVenue.PAPER: PAPER,
    ExecutionVenue.HYPERLIQUID: HYPERLIQUID,
    ExecutionVenue.SPOT: SPOT,
}


def capabilities_of(venue: ExecutionVenue | str) -> VenueCapabilities | None:
    """The declared capabilities of `venue`, or None for a venue with no adapter yet (GMX, Ostium)."""
    return DECLARED.get(ExecutionVenue(venue))


def real_funds(venue: ExecutionVenue | str) -> bool:
    """Whether orders at `venue` move a user's money; a venue with no adapter moves none."""
    declared = capabilities_of(venue)
    return declared is not None and declared.real_funds


def signer_of(venue: ExecutionVenue | str) -> SignerKind:
    """The key a deployment must hold to trade at `venue`; a venue with no adapter needs none."""
    declared = capabilities_of(venue)
    return declared.signer if declared is not None else SignerKind.NONE


def signers(venues: Iterable[ExecutionVenue | str]) -> frozenset[SignerKind]:
    """Every kind of key a deployment trading at `venues` must hold (an agent wallet, a Safe executor)."""
    return frozenset(signer_of(v) for v in venues) - {SignerKind.NONE}


def keeps_own_books(venues: Iterable[ExecutionVenue | str]) -> bool:
    """Whether one of `venues` is the platform's own book (paper): the deployment brings its own balance."""
    return any((c := capabilities_of(v)) is not None and c.books_per_deployment for v in venues)
