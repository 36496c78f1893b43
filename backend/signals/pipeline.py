"""The two steps after a post is stored: classify it, then score it for every agent following its author.

Both steps are idempotent and safe to run twice at once: the first classification sticks (a conditional
UPDATE), and signals are unique per agent, token and 6-hour bucket in the database itself. A retry
after a crash redoes only what is missing; the sweep finds posts a crash left half done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.db import insert_or_ignore
from backend.models import Agent, AgentAccount, CtPost, Signal
from backend.models.common import utcnow
from backend.models.enums import AgentStatus, Side, SignalStatus
from backend.prices.feed import PriceFeed
from backend.prices.simulated import UnknownMarket
from backend.signals.errors import PostNotFound
from backend.signals.features import feature_values, score
from backend.signals.market import bucket_start, indicators_at
from backend.signals.tokens import known_tokens
from backend.signals.types import Classifier

logger = logging.getLogger(__name__)

SCORE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Generated:
    """What scoring one post did: the new signal ids, and why nothing was kept when nothing was."""

    signal_ids: list[int]
    agents_scored: int
    note: str = ""


def classify_post(session: Session, post_id: int, classifier: Classifier) -> bool:
    """Classify a stored post once; True when it is a signal still waiting for the generator.

    The classifier (maybe a network call) runs outside any transaction; a racing worker's
    classification wins if it lands first, and this one is dropped.
    """
    post = _post(session, post_id)
    if post.classified_at is None:
        text, tokens = post.text, known_tokens(session)
        session.commit()  # close the read transaction before a slow classifier call
        result = classifier.classify(text, tokens)
        session.execute(
            sa.update(CtPost)
            .where(col(CtPost.id) == post_id, col(CtPost.classified_at).is_(None))
            .values(
                is_signal=result.is_signal,
                token=result.token,
                side=result.side.value if result.side else None,
                confidence=result.confidence,
                reasoning=result.reasoning[:1000],
                classifier=result.classifier[:64],
                classified_at=utcnow(),
            )
        )
        session.commit()
        session.refresh(post)
        logger.info(
            "post %s classified by %s: %s", post_id, post.classifier, _describe(post) or "not a signal"
        )
    return bool(post.is_signal) and post.signals_generated_at is None


def generate_signals(
    session: Session,
    post_id: int,
    feed: PriceFeed,
    *,
    max_post_age: timedelta,
    now: datetime | None = None,
) -> Generated:
    """Score a classified signal post for each active agent following its author; store those that pass.

    Commits. A post already generated, not a signal, or older than `max_post_age` yields no signals.
    """
    now = now or utcnow()
    post = _post(session, post_id)
    if not post.is_signal or post.signals_generated_at is not None:
        return Generated([], 0, "nothing to do")
    if now - post.posted_at > max_post_age:
        _mark_generated(session, post_id, now)
        return Generated([], 0, f"stale: posted {now - post.posted_at} ago")
    agents = followers(session, post.ct_account_id)
    created: list[int] = []
    note = ""
    if agents:
        try:
            indicators = indicators_at(session, feed, post.token, post.posted_at)
        except UnknownMarket:
            note = f"no price feed market for {post.token}"
            logger.warning("post %s: %s; no signals", post_id, note)
        else:
            side = Side(post.side)
            features = feature_values(indicators, side, post.confidence or Decimal("0.5"))
            for agent in agents:
                signal_id = _keep_if_above_threshold(session, agent, post, side, features)
                if signal_id is not None:
                    created.append(signal_id)
    _mark_generated(session, post_id, now)
    if created:
        logger.info("post %s: %d signal(s) from %d follower(s)", post_id, len(created), len(agents))
    return Generated(created, len(agents), note)


def followers(session: Session, ct_account_id: int) -> list[Agent]:
    """Active agents following the account; paused, draft and archived agents do not trade."""
    return list(
        session.exec(
            select(Agent)
            .join(AgentAccount, col(AgentAccount.agent_id) == col(Agent.id))
            .where(AgentAccount.ct_account_id == ct_account_id, Agent.status == AgentStatus.ACTIVE)
            .order_by(col(Agent.id))
        )
    )


def _keep_if_above_threshold(
    session: Session, agent: Agent, post: CtPost, side: Side, features: dict[str, Decimal]
) -> int | None:
    value = score(agent.weights(), features)
    if value is None or value < agent.signal_threshold:
        return None
    # The unique (agent, token, bucket) key decides: a racing worker or a second post adds nothing.
    return insert_or_ignore(
        session,
        Signal,
        {
            "agent_id": agent.id,
            "post_id": post.id,
            "token": post.token,
            "side": side.value,
            "score": value.quantize(SCORE_PLACES),
            "features": {name: str(v) for name, v in features.items()},
            "weights": agent.weights(),
            "threshold": agent.signal_threshold,
            "bucket_start": bucket_start(post.posted_at),
            "status": SignalStatus.PENDING.value,
            "created_at": utcnow(),
        },
        ["agent_id", "token", "bucket_start"],
    )


def _mark_generated(session: Session, post_id: int, now: datetime) -> None:
    session.execute(
        sa.update(CtPost)
        .where(col(CtPost.id) == post_id, col(CtPost.signals_generated_at).is_(None))
        .values(signals_generated_at=now)
    )
    session.commit()


def _post(session: Session, post_id: int) -> CtPost:
    post = session.get(CtPost, post_id)
    if post is None:
        raise PostNotFound(post_id)
    return post


def _describe(post: CtPost) -> str:
    if not post.is_signal:
        return ""
    return f"{post.side} {post.token} at {post.confidence} confidence"
