"""Whether an agent acts on a post: its score against its threshold, for the live pipeline and replays."""

from __future__ import annotations

from decimal import Decimal


def takes_signal(score: Decimal | None, threshold: Decimal) -> bool:
    """A score at or above the threshold makes a signal; no score (every weight zero) never does."""
    return score is not None and score >= threshold
