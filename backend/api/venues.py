"""The venues and their markets over REST, as the registry's last refresh wrote them.

Public, like the marketplace: which tokens a venue lists, and at what size step, tick and leverage, is the
venues' own public information, and no user's data is in it. So the route needs no session and ignores
one sent along (nothing here depends on who asks).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from backend.api.deps import SessionDep
from backend.api.errors import INVALID, UNAVAILABLE
from backend.markets.listings import VenuesPage, list_venues
from backend.models.enums import ExecutionVenue

router = APIRouter(prefix="/api/v1", tags=["venues"], responses={**INVALID, **UNAVAILABLE})


class VenueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    venue: ExecutionVenue | None = Field(default=None, description="One venue only")
    active: bool | None = Field(default=None, description="true: markets taking entries; false: delisted")


@router.get("/venues", summary="Venues and their markets")
def venues(query: Annotated[VenueQuery, Query()], session: SessionDep) -> VenuesPage:
    """Every venue in the token registry with its markets: the symbol people write, the venue's own
    market name and how many tokens one of its contracts holds (Hyperliquid's kPEPE: 1000 PEPE), the
    rules per token (size step, minimum size and value, tick, maximum leverage) and whether the market
    takes new entries (delisted ones do not; their open positions still exit)."""
    return list_venues(session, venue=query.venue, active=query.active)
