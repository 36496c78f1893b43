"""The two steps after a post is stored: classify it, then score it for every agent following its author.

Scoring is per agent version in use: the newest (which the reference book trades) and every older one a
deployment still trades because its owner has not accepted the newer; each signal names its version.
Both steps are idempotent and safe to run twice at once: the first classification sticks (a conditional
UPDATE), and signals are unique per agent version, token and 6-hour bucket in the database itself. A retry
after a crash redoes only what is missing; the sweep finds posts a crash left half done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.agents.reference import ensure_reference_book
from backend.agents.versions import Strategy, ensure_version, versions_in_use
from backend.config import get_settings
from backend.db import insert_or_ignore
from backend.models import Agent, AgentAccount, AgentDeployment, AgentVersion, CtPost, Signal
from backend.models.common import utcnow
from backend.models.enums import AgentStatus, DeploymentStatus, Side, SignalStatus
from backend.prices.feed import PriceFeed
from backend.prices.simulated import UnknownMarket
from backend.signals.errors import PostNotFound
from backend.signals.features import feature_values, score
from backend.signals.market import bucket_start, indicators_at
from backend.signals.tokens import known_tokens
from backend.signals.types import Classifier
from backend.trading.decision import takes_signal

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
    reference_capital: Decimal | None = None,
) -> Generated:
    """Score a classified signal post for each version in use of each active agent following its author;
    store those that pass. An agent that signals without a reference book (made before books, by a seed or
    by hand) gets one first, with `reference_capital` (default REFERENCE_CAPITAL_USD), so no signal is ever
    missing from an agent's track record.

    Commits. A post already generated, not a signal, or older than `max_post_age` yields no signals.
    """
    now = now or utcnow()
    post = _post(session, post_id)
    if not post.is_signal or post.signals_generated_at is not None:
        return Generated([], 0, "nothing to do")
    if now - post.posted_at > max_post_age:
        _mark_generated(session, post_id, now)
        return Generated([], 0, f"stale: posted {now - post.posted_at} ago")
    agents = candidates(session, post.ct_account_id)
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
            capital = reference_capital or get_settings().reference_capital_usd
            for agent in agents:
                created += _signals_of(session, agent, post, side, features, capital, now)
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


def candidates(session: Session, ct_account_id: int) -> list[Agent]:
    """Active agents following the account now, and those some deployment still trades an older version
    of (that version may follow the account although the newest does not); each version is checked later."""
    stale = (
        select(AgentDeployment.agent_id)
        .join(AgentVersion, col(AgentVersion.id) == col(AgentDeployment.agent_version_id))
        .join(Agent, col(Agent.id) == col(AgentDeployment.agent_id))
        .where(AgentDeployment.status != DeploymentStatus.CANCELLED, AgentVersion.number != Agent.version)
    )
    older = session.exec(
        select(Agent)
        .where(col(Agent.id).in_(stale), Agent.status == AgentStatus.ACTIVE)
        .order_by(col(Agent.id))
    ).all()
    found = {a.id: a for a in [*followers(session, ct_account_id), *older]}
    return [found[i] for i in sorted(found)]


def _signals_of(
    session: Session,
    agent: Agent,
    post: CtPost,
    side: Side,
    features: dict[str, Decimal],
    capital: Decimal,
    now: datetime,
) -> list[int]:
    """The new signals of one agent: one per version in use that follows the author and passes."""
    _once(session, lambda: ensure_version(session, agent))
    created = []
    for version in versions_in_use(session, agent):
        strategy = Strategy.from_json(version.strategy)
        if post.ct_account_id not in strategy.ct_account_ids:
            continue
        value = score(strategy.weights, features)
        if not takes_signal(value, strategy.signal_threshold):
            continue
        # The reference book exists before its first signal, so dispatch (which hands a signal to the
        # deployments made before it) always includes it.
        _once(session, lambda: ensure_reference_book(session, agent, capital=capital, now=now))
        signal_id = _insert_signal(session, agent, version, strategy, post, side, features, value, now)
        if signal_id is not None:
            created.append(signal_id)
    return created


def _once(session: Session, make: Callable[[], object]) -> None:
    """Make a per-agent row (version 1, reference book) in a savepoint: a racing worker's row wins."""
    try:
        with session.begin_nested():
            make()
    except IntegrityError:
        logger.info("a concurrent worker made it first")


def _insert_signal(
    session: Session,
    agent: Agent,
    version: AgentVersion,
    strategy: Strategy,
    post: CtPost,
    side: Side,
    features: dict[str, Decimal],
    value: Decimal,
    now: datetime,
) -> int | None:
    # The unique (agent, version, token, bucket) key decides: a racing worker or a second post adds nothing.
    return insert_or_ignore(
        session,
        Signal,
        {
            "agent_id": agent.id,
            "agent_version_id": version.id,
            "post_id": post.id,
            "token": post.token,
            "side": side.value,
            "score": value.quantize(SCORE_PLACES),
            "features": {name: str(v) for name, v in features.items()},
            "weights": dict(strategy.weights),
            "threshold": strategy.signal_threshold,
            "bucket_start": bucket_start(post.posted_at),
            "status": SignalStatus.PENDING.value,
            "created_at": now,  # the caller's clock: the executor's TTL measures from it
        },
        ["agent_id", "agent_version_id", "token", "bucket_start"],
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
