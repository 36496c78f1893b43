"""Read side of signals: one agent's signal history, each with what drove its score and what came of it.

A trader deciding whether to copy an agent wants to see why it traded: the post, the eight feature values,
and how much each one contributed under the weights it was scored with (`weight_i * feature_i / sum(weights)`,
the formula that produced the score). Signals record their weights and threshold, so an agent edited later
does not rewrite its history; rows from before that was recorded fall back to the agent's current ones.

What came of each signal is told in aggregates (see `backend.signals.outcomes`): an agent's history is public,
its followers' deployments are not. A signed-in viewer also gets their own deployments' executions (`mine`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from backend.agents.schemas import MAX_PAGE_SIZE
from backend.agents.service import AgentNotFound, can_view
from backend.auth.identity import CurrentUser
from backend.execution.reasons import public_reason
from backend.models import (
    WEIGHT_NAMES,
    Agent,
    CtAccount,
    CtPost,
    Signal,
)
from backend.models.enums import Side, SignalStatus
from backend.signals.outcomes import (
    OutcomeKind,
    OwnExecution,
    describe,
    outcome_sentence,
    own_executions,
    position_counts,
    skip_counts,
)

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 25
MAX_OFFSET = 1_000_000
MAX_TOKEN_LENGTH = 16  # Signal.token's column width
CONTRIBUTION_PLACES = Decimal("0.000001")  # the RATIO column's scale, so contributions add up to the score


class SignalView(BaseModel):
    """One signal as a trader reads it: the call, the score against the threshold, its parts, its outcome."""

    id: int
    agent_id: int
    post_id: int | None
    post_handle: str | None
    post_text: str | None
    post_classifier: str | None
    post_confidence: Decimal | None
    token: str
    side: Side
    score: Decimal
    threshold: Decimal
    features: dict[str, Decimal]
    weights: dict[str, int]
    contributions: dict[str, Decimal]
    bucket_start: datetime
    created_at: datetime
    status: SignalStatus
    skip_reason: str | None  # the public category of why the signal itself was skipped
    positions_opened: int
    skipped: dict[str, int]  # deployments that did not trade it, by public reason category
    outcome: str
    outcome_kind: OutcomeKind  # traded, partly_traded, not_traded, skipped or awaiting: what pages colour
    mine: list[OwnExecution]  # the viewer's own deployments' executions; empty for anyone else


class SignalPage(BaseModel):
    """A page of one agent's signals, newest first, with the agent's name and threshold for the heading."""

    agent_id: int
    agent_name: str
    threshold: Decimal
    items: list[SignalView]
    total: int
    limit: int
    offset: int


def visible_agent(session: Session, agent_id: int, viewer: CurrentUser | None) -> Agent:
    """The agent if `viewer` may see it, else AgentNotFound: a private agent's existence never leaks."""
    agent = session.get(Agent, agent_id)
    if agent is None or not can_view(agent, viewer):
        raise AgentNotFound(f"agent {agent_id} not found")
    return agent


def list_signals(
    session: Session,
    *,
    agent_id: int,
    viewer: CurrentUser | None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
    token: str | None = None,
) -> SignalPage:
    """One page of the agent's signals, newest first, optionally for one token (case-insensitive)."""
    _check_page(limit, offset)
    token = normalize_token(token)
    agent = visible_agent(session, agent_id, viewer)
    conditions = [Signal.agent_id == agent_id]
    if token is not None:
        conditions.append(Signal.token == token)
    total = session.exec(select(func.count()).select_from(Signal).where(*conditions)).one()
    rows = session.exec(
        select(Signal, CtPost, CtAccount)
        .outerjoin(CtPost, col(CtPost.id) == col(Signal.post_id))
        .outerjoin(CtAccount, col(CtAccount.id) == col(CtPost.ct_account_id))
        .where(*conditions)
        .order_by(col(Signal.created_at).desc(), col(Signal.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    ids = [signal.id for signal, _, _ in rows]
    counts, skips = position_counts(session, ids), skip_counts(session, ids)
    mine = own_executions(session, ids, viewer)
    weights = agent.weights()
    items = [
        _view(
            signal,
            post,
            account,
            agent,
            weights,
            counts.get(signal.id, 0),
            skips.get(signal.id, {}),
            mine.get(signal.id, []),
        )
        for signal, post, account in rows
    ]
    return SignalPage(
        agent_id=agent_id,
        agent_name=agent.name,
        threshold=agent.signal_threshold,
        items=items,
        total=total,
        limit=limit,
        offset=offset,
    )


def normalize_token(token: str | None) -> str | None:
    """ "  eth " -> "ETH"; blank means no filter. Tokens are stored upper-case."""
    value = (token or "").strip().upper()
    if len(value) > MAX_TOKEN_LENGTH:
        raise ValueError(f"token must be at most {MAX_TOKEN_LENGTH} characters")
    return value or None


def parse_features(raw: Any) -> dict[str, Decimal]:
    """Stored feature values (decimal strings) as Decimals in WEIGHT_NAMES order; missing or bad ones omitted.

    A malformed value is logged and left out rather than failing the page: one bad row must not hide the
    agent's whole history.
    """
    if not isinstance(raw, Mapping):
        return {}
    features: dict[str, Decimal] = {}
    for name in WEIGHT_NAMES:
        if name not in raw or raw[name] is None:
            continue
        try:
            value = Decimal(str(raw[name]))
        except (InvalidOperation, ValueError):
            value = Decimal("NaN")
        if not value.is_finite():
            logger.warning("signal feature %s is not a number (%.40r); left out", name, raw[name])
            continue
        features[name] = value
    return features


def contributions(features: Mapping[str, Decimal], weights: Mapping[str, int]) -> dict[str, Decimal]:
    """Each feature's share of the score, `weight * feature / sum(weights)`; empty when no weight is set."""
    total = sum(weights.values())
    if total <= 0:
        return {}
    return {
        name: (Decimal(weights.get(name, 0)) * value / total).quantize(CONTRIBUTION_PLACES)
        for name, value in features.items()
    }


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    if not 0 <= offset <= MAX_OFFSET:
        raise ValueError(f"offset must be between 0 and {MAX_OFFSET}")


def _view(
    signal: Signal,
    post: CtPost | None,
    account: CtAccount | None,
    agent: Agent,
    weights: dict[str, int],
    positions: int,
    skipped: dict[str, int],
    mine: list[OwnExecution],
) -> SignalView:
    features = parse_features(signal.features)
    reason = public_reason(signal.skip_reason)
    outcome = describe(signal.status, reason, positions, skipped)
    if signal.weights:
        weights = {name: int(signal.weights.get(name, 0)) for name in weights}
    return SignalView(
        id=signal.id,
        agent_id=signal.agent_id,
        post_id=signal.post_id,
        post_handle=account.handle if account else None,
        post_text=post.text if post else None,
        post_classifier=post.classifier if post else None,
        post_confidence=post.confidence if post else None,
        token=signal.token,
        side=signal.side,
        score=signal.score,
        threshold=signal.threshold if signal.threshold is not None else agent.signal_threshold,
        features=features,
        weights=weights,
        contributions=contributions(features, weights),
        bucket_start=signal.bucket_start,
        created_at=signal.created_at,
        status=signal.status,
        skip_reason=reason,
        positions_opened=positions,
        skipped=skipped,
        outcome=outcome.sentence,
        outcome_kind=outcome.kind,
        mine=mine,
    )


__all__ = [
    "OwnExecution",
    "SignalPage",
    "SignalView",
    "can_view",
    "contributions",
    "list_signals",
    "normalize_token",
    "outcome_sentence",
    "parse_features",
    "visible_agent",
]
