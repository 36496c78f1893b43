"""What the registry says of the venues' markets: for the executor (is this market taking entries?), the
public `GET /api/v1/venues` and the admin page."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlmodel import Session, select

from backend.models import TokenRegistry, VenueStatus
from backend.models.enums import ExecutionVenue


class MarketOut(BaseModel):
    symbol: str = Field(description="What people write: PEPE")
    name: str
    venue_market: str = Field(description="The venue's own name: Hyperliquid's kPEPE")
    units: int = Field(description="Tokens per venue contract: 1000 for kPEPE")
    size_decimals: int = Field(description="Of per-token sizes; -3 means sizes step by 1000")
    size_step: Decimal
    min_size: Decimal
    tick_size: Decimal = Field(description="Per token, at the price of the last refresh")
    min_notional_usd: Decimal
    max_leverage: Decimal
    is_active: bool = Field(description="False: delisted; no new entries, open positions still exit")
    updated_at: datetime


class VenueOut(BaseModel):
    venue: ExecutionVenue
    markets_listed: int
    markets_active: int
    refreshed_at: datetime | None = Field(description="The latest change any refresh wrote")
    markets: list[MarketOut]


class VenuesPage(BaseModel):
    venues: list[VenueOut]


def takes_entries(session: Session, venue: ExecutionVenue | str, market: str) -> bool:
    """False when the registry has the market delisted at that venue; a market it has never heard of is
    left to the venue adapter to judge (it lists what it trades)."""
    active = session.exec(
        select(VenueStatus.is_active).where(
            VenueStatus.venue == ExecutionVenue(venue), VenueStatus.market == market
        )
    ).first()
    return active is not False


def delisted_markets(session: Session, venue: ExecutionVenue | str) -> set[str]:
    """The markets the registry has delisted at that venue (one query for a batch of entries)."""
    query = select(VenueStatus.market).where(
        VenueStatus.venue == ExecutionVenue(venue),
        VenueStatus.is_active == False,  # noqa: E712
    )
    return set(session.exec(query))


def list_venues(
    session: Session, *, venue: ExecutionVenue | None = None, active: bool | None = None
) -> VenuesPage:
    """Every venue in the registry with its markets by symbol; optionally one venue, active or not."""
    query = select(VenueStatus)
    if venue is not None:
        query = query.where(VenueStatus.venue == venue)
    rows = list(session.exec(query.order_by(VenueStatus.venue, VenueStatus.market)))
    names = {
        (t.venue, t.symbol): t.name for t in session.exec(select(TokenRegistry)) if venue in (None, t.venue)
    }
    by_venue: dict[str, list[VenueStatus]] = {}
    for row in rows:
        by_venue.setdefault(row.venue, []).append(row)
    out = []
    for name, venue_rows in by_venue.items():
        shown = [r for r in venue_rows if active is None or r.is_active == active]
        out.append(
            VenueOut(
                venue=ExecutionVenue(name),
                markets_listed=len(venue_rows),
                markets_active=sum(r.is_active for r in venue_rows),
                refreshed_at=max(r.updated_at for r in venue_rows),
                markets=[_market(r, names.get((r.venue, r.market))) for r in shown],
            )
        )
    return VenuesPage(venues=out)


def _market(row: VenueStatus, name: str | None) -> MarketOut:
    return MarketOut(
        symbol=row.market,
        name=name or row.market,
        venue_market=row.venue_market or row.market,
        units=row.units,
        size_decimals=row.size_decimals,
        size_step=_plain(Decimal(1).scaleb(-row.size_decimals)),
        min_size=_plain(row.min_size),
        tick_size=_plain(row.tick_size),
        min_notional_usd=_plain(row.min_notional_usd),
        max_leverage=_plain(row.max_leverage),
        is_active=row.is_active,
        updated_at=row.updated_at,
    )


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros or a positive exponent: 10, 1000, 0.1 (not 10.000000, 1E+3, 0.1000000000)."""
    return Decimal(f"{value.normalize():f}")
