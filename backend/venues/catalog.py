"""What the product says about each venue, in one table: its name on screen, its badge colour, and whether
orders there reach a real venue today or it is paper trading only for now.

Agent venues (`Venue`) and execution venues (`ExecutionVenue`) share their names, so one row serves both.
Whether a venue trades live is its declared capabilities' answer (an adapter moving real funds), so this
table cannot disagree with them.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.venues.capabilities import DECLARED, real_funds

PAPER_ONLY_NOTE = "Paper trading only for now"
# Hyperliquid's name while `maxxit up` runs the local sandbox in its place (HYPERLIQUID_SANDBOX_URL).
SANDBOX_LABEL = "Hyperliquid sandbox (no real funds)"


@dataclass(frozen=True)
class VenueFacts:
    label: str
    colour: str  # a Radix colour name: the badge the UI draws
    live: bool  # False: no adapter yet, deployments of agents built for it trade on paper only


def _facts(venue: str, label: str, colour: str) -> VenueFacts:
    return VenueFacts(label, colour, live=real_funds(venue))


VENUES: dict[str, VenueFacts] = {
    "PAPER": _facts("PAPER", "Paper", "gray"),
    "HYPERLIQUID": _facts("HYPERLIQUID", "Hyperliquid", "teal"),
    # Routes among the live venues it enables: live while any declared venue is.
    "MULTI": VenueFacts("Multi-venue", "purple", live=any(c.real_funds for c in DECLARED.values())),
    "SPOT": _facts("SPOT", "Spot", "blue"),  # a Safe on Arbitrum, swapping through the Maxxit module
    "GMX": _facts("GMX", "GMX", "indigo"),
    "OSTIUM": _facts("OSTIUM", "Ostium", "orange"),
}


def venue_facts(venue: str) -> VenueFacts:
    """The row for `venue`; an unknown name reads as itself, grey, paper only."""
    return VENUES.get(str(venue), VenueFacts(str(venue).replace("_", " ").title(), "gray", live=False))


def venue_label(venue: str, *, sandbox: bool = False) -> str:
    """The venue's name on screen; with `sandbox`, Hyperliquid says it is the sandbox (no real funds)."""
    if sandbox and str(venue) == "HYPERLIQUID":
        return SANDBOX_LABEL
    return venue_facts(venue).label


def venue_colour(venue: str) -> str:
    return venue_facts(venue).colour


def trades_live(venue: str) -> bool:
    """Whether an agent built for `venue` can be deployed to a real venue today."""
    return venue_facts(venue).live
