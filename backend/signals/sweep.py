"""The safety net: posts a crash (or a lost queue message) left unclassified or unscored.

Events carry posts through the pipeline within seconds; anything still unfinished after a grace period
is handed out again. Handing a post out twice is harmless: both pipeline steps are idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from backend.models import CtPost

BATCH = 500


@dataclass(frozen=True)
class Unfinished:
    to_classify: list[int]
    to_generate: list[int]


def find_unfinished(session: Session, *, now: datetime, grace: timedelta, limit: int = BATCH) -> Unfinished:
    """Post ids older than `grace` still waiting for a classification or for their signals, oldest first."""
    cutoff = now - grace
    to_classify = session.exec(
        select(CtPost.id)
        .where(col(CtPost.classified_at).is_(None), col(CtPost.ingested_at) < cutoff)
        .order_by(col(CtPost.ingested_at))
        .limit(limit)
    ).all()
    to_generate = session.exec(
        select(CtPost.id)
        .where(
            col(CtPost.is_signal).is_(True),
            col(CtPost.signals_generated_at).is_(None),
            col(CtPost.classified_at) < cutoff,
        )
        .order_by(col(CtPost.classified_at))
        .limit(limit)
    ).all()
    return Unfinished(list(to_classify), list(to_generate))
