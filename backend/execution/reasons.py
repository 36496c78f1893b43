"""Why a deployment did not trade a signal: a public category, then the owner's detail.

A stored reason reads "<category>: <detail>" ("insufficient balance: $123.45 available, $30.00 kept in
reserve"). The detail can hold amounts of the trader's balance or the venue's own words, so it is for the
deployment's owner only; a public page shows the category alone. A reason that starts with no known
category (rows from before categories, or a future writer that forgot one) reads as "other" in public:
nothing unknown is ever shown to a visitor.
"""

from __future__ import annotations

from enum import StrEnum


class SkipCategory(StrEnum):
    """What a visitor may read beside a signal; each value is also the prefix of a stored reason."""

    INSUFFICIENT_BALANCE = "insufficient balance"
    BELOW_MINIMUM = "below minimum"
    MARKET_NOT_LISTED = "market not listed"
    OPPOSITE_POSITION = "opposite position open"
    SIDE_NOT_TAKEN = "venue takes no shorts"  # spot buys the token; it cannot sell what the Safe lacks
    DEPLOYMENT_PAUSED = "deployment paused"
    DEPLOYMENT_CANCELLED = "deployment cancelled"
    AWAITING_APPROVAL = "deployment awaiting approval"
    SIGNAL_EXPIRED = "signal expired"
    SUBSCRIPTION_SUSPENDED = "subscription suspended"  # billing.subscriptions.ENTRY_BLOCKS' reasons
    SUBSCRIPTION_CANCELED = "subscription canceled"
    ORDER_REFUSED = "order refused by the venue"
    VENUE_FAILED = "venue failed"
    NO_DEPLOYMENTS = "no deployments of this agent"
    OTHER = "other"


MAX_REASON_LENGTH = 256  # SignalExecution.reason's and Signal.skip_reason's column width


def skip_reason(category: SkipCategory, detail: str | None = None) -> str:
    """The stored form: the category, then the owner's detail when there is one; cut to the column."""
    text = str(category.value) if not detail else f"{category.value}: {detail}"
    return text[:MAX_REASON_LENGTH]


def delisted_detail(market: str, venue: str) -> str:
    """Why a delisted market takes no entry; its open positions are not touched by this."""
    return f"{market} is delisted on {venue}: no new entries (open positions still exit)"


def category_of(stored: str | None) -> SkipCategory | None:
    """The public category of a stored reason; None when there is no reason, OTHER when none is known."""
    if not stored:
        return None
    for category in SkipCategory:
        if stored == category.value or stored.startswith(f"{category.value}:"):
            return category
    return SkipCategory.OTHER


def public_reason(stored: str | None) -> str | None:
    """What a visitor reads for a stored reason: its category's words, never the detail."""
    category = category_of(stored)
    return None if category is None else category.value
