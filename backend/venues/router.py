"""MULTI agents: pick the venue for one signal from the deployment's preference order.

The first preferred venue that is available here, lists the market and has not delisted it (the registry's
last refresh may know of a delisting before this process's adapter does) wins. Every decision is kept in
venue_routing_history with its reason and the candidates considered, so "why did this trade go there?"
has an answer later.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from backend.markets.listings import takes_entries
from backend.models import AgentDeployment, VenueRoutingHistory
from backend.models.enums import ExecutionVenue
from backend.venues.base import VenueError
from backend.venues.registry import VenueRegistry


@dataclass(frozen=True)
class RouteDecision:
    venue: ExecutionVenue | None
    reason: str
    candidates: list[dict[str, Any]] = field(default_factory=list)


def preferred_venues(deployment: AgentDeployment) -> list[ExecutionVenue]:
    return [ExecutionVenue(v) for v in (deployment.venue_preferences or [deployment.venue])]


def choose_venue(
    deployment: AgentDeployment,
    market: str,
    venues: VenueRegistry,
    delisted: Collection[ExecutionVenue] = (),
) -> RouteDecision:
    candidates: list[dict[str, Any]] = []
    for venue in preferred_venues(deployment):
        verdict = "market delisted" if venue in delisted else _verdict(venue, market, venues)
        candidates.append({"venue": venue.value, "verdict": verdict})
        if verdict == "lists the market":
            rank = len(candidates)
            reason = f"{venue.value}: preference {rank} lists {market}"
            if rank > 1:
                skipped = ", ".join(f"{c['venue']} ({c['verdict']})" for c in candidates[:-1])
                reason += f"; passed over {skipped}"
            return RouteDecision(venue, reason[:256], candidates)
    return RouteDecision(None, f"no preferred venue lists {market}"[:256], candidates)


def route_signal(
    session: Session, deployment: AgentDeployment, signal_id: int, market: str, venues: VenueRegistry
) -> RouteDecision:
    """Decide and record, in the caller's transaction."""
    delisted = [v for v in preferred_venues(deployment) if not takes_entries(session, v, market)]
    decision = choose_venue(deployment, market, venues, delisted)
    session.add(
        VenueRoutingHistory(
            signal_id=signal_id,
            deployment_id=deployment.id,
            chosen_venue=decision.venue,
            reason=decision.reason,
            candidates=decision.candidates,
        )
    )
    return decision


def _verdict(venue: ExecutionVenue, market: str, venues: VenueRegistry) -> str:
    if venue not in venues:
        return "not available here"
    try:
        listed = market in venues.get(venue).markets()
    except VenueError as error:
        return f"unreachable: {error.reason}"[:80]
    return "lists the market" if listed else "market not listed"
