"""MULTI agents: pick the venue for one signal from the deployment's preference order.

The first preferred venue that is available here, can take the signal's side (a short never goes to spot:
its capabilities say it takes no shorts), lists the market and has not delisted it (the registry's last
refresh may know of a delisting before this process's adapter does) wins. A venue the capabilities table
does not know has no adapter, so it counts as not available. Paper is never a fallback for a live
deployment: new deployments cannot mix them (deployments.service), and a row stored before that rule which
lists PAPER after a live venue skips the signal rather than trading it on paper. Every decision is kept in
venue_routing_history with its reason and the candidates considered, so "why did this trade go there?" has
an answer later.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from backend.markets.listings import takes_entries
from backend.models import AgentDeployment, VenueRoutingHistory
from backend.models.enums import ExecutionVenue
from backend.trading.types import Side
from backend.venues.base import VenueError
from backend.venues.capabilities import capabilities_of
from backend.venues.registry import VenueRegistry


@dataclass(frozen=True)
class RouteDecision:
    venue: ExecutionVenue | None
    reason: str
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refused_side(self) -> bool:
        """No venue was chosen and a preferred one was passed over for the signal's side: the skip is about
        the side ("takes no shorts"), not the market."""
        return self.venue is None and any(str(c["verdict"]).startswith("takes no ") for c in self.candidates)


NOT_A_FALLBACK = "paper is never a fallback for a live deployment"
NOT_AVAILABLE = "not available here"


def preferred_venues(deployment: AgentDeployment) -> list[ExecutionVenue]:
    """Every venue the deployment names, in its order (the reconciler looks at each of them)."""
    return [ExecutionVenue(v) for v in (deployment.venue_preferences or [deployment.venue])]


def mixes_paper_and_live(venues: Collection[ExecutionVenue | str]) -> bool:
    """Paper beside a live venue: paper would only ever serve as the live venue's fallback."""
    named = {ExecutionVenue(v) for v in venues}
    return ExecutionVenue.PAPER in named and len(named) > 1


def choose_venue(
    deployment: AgentDeployment,
    market: str,
    venues: VenueRegistry,
    delisted: Collection[ExecutionVenue] = (),
    *,
    side: Side | str | None = None,
) -> RouteDecision:
    """The first preferred venue that takes `side` (any side when None) and lists `market`, and why."""
    candidates: list[dict[str, Any]] = []
    preferred = preferred_venues(deployment)
    live = mixes_paper_and_live(preferred)
    for venue in preferred:
        declared = capabilities_of(venue)
        if live and venue == ExecutionVenue.PAPER:
            verdict = NOT_A_FALLBACK
        elif declared is None:
            verdict = NOT_AVAILABLE  # no adapter declares what it can do
        elif side is not None and not declared.takes(side):
            verdict = f"takes no {Side(side).value}s"
        elif venue in delisted:
            verdict = "market delisted"
        else:
            verdict = _verdict(venue, market, venues)
        candidates.append({"venue": venue.value, "verdict": verdict})
        if verdict == "lists the market":
            rank = len(candidates)
            reason = f"{venue.value}: preference {rank} lists {market}"
            if rank > 1:
                reason += f"; passed over {_passed_over(candidates[:-1])}"
            return RouteDecision(venue, reason[:256], candidates)
    reason = f"no preferred venue takes {market}; passed over {_passed_over(candidates)}"
    return RouteDecision(None, reason[:256], candidates)


def _passed_over(candidates: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['venue']} ({c['verdict']})" for c in candidates)


def route_signal(
    session: Session,
    deployment: AgentDeployment,
    signal_id: int,
    market: str,
    venues: VenueRegistry,
    *,
    side: Side | str | None = None,
) -> RouteDecision:
    """Decide and record, in the caller's transaction."""
    delisted = [v for v in preferred_venues(deployment) if not takes_entries(session, v, market)]
    decision = choose_venue(deployment, market, venues, delisted, side=side)
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
        return NOT_AVAILABLE
    try:
        listed = market in venues.get(venue).markets()
    except VenueError as error:
        return f"unreachable: {error.reason}"[:80]
    return "lists the market" if listed else "market not listed"
