"""Reference books: every agent's own paper book of standard capital, the only source of its public figures.

A reference book is an `AgentDeployment` with `is_reference` set, on the paper venue, trading the agent's
newest version with the agent's own sizing, leverage and exits. It takes every signal from the moment the
agent exists; follower deployments never change it. It is the platform's: never listed among anyone's
deployments, never billed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from backend.agents.versions import ensure_version
from backend.models import Agent, AgentDeployment
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus, ExecutionVenue
from backend.monitor.equity import EquityCurve, deployment_curve
from backend.venues.paper import open_paper_account

logger = logging.getLogger(__name__)


def reference_book(session: Session, agent_id: int) -> AgentDeployment | None:
    query = select(AgentDeployment).where(
        AgentDeployment.agent_id == agent_id, AgentDeployment.is_reference.is_(True)
    )
    return session.exec(query).first()


def ensure_reference_book(
    session: Session, agent: Agent, *, capital: Decimal, now: datetime | None = None
) -> AgentDeployment:
    """The agent's reference book, opened (with its paper account) in the caller's transaction if missing.

    `now` is when it starts taking signals: the agent's creation for a new agent or a replayed history.
    """
    book = reference_book(session, agent.id)
    if book is not None:
        return book
    version = ensure_version(session, agent, now=now)
    start = now or utcnow()
    book = AgentDeployment(
        agent_id=agent.id,
        user_id=agent.creator_id,
        agent_version_id=version.id,
        is_reference=True,
        venue=ExecutionVenue.PAPER,
        status=DeploymentStatus.ACTIVE,
        capital_usd=capital,
        created_at=start,
        updated_at=start,
    )
    session.add(book)
    session.flush()
    open_paper_account(session, book.id, capital)
    logger.info("agent %s: reference book %s opened with %s", agent.id, book.id, capital)
    return book


def reference_curve(session: Session, agent_id: int, *, now: datetime) -> EquityCurve | None:
    """The reference book's equity over time (the agent page's chart); None before the agent has one."""
    book = reference_book(session, agent_id)
    if book is None:
        return None
    return deployment_curve(session, book, "Reference book", now=now)


def follow_version(session: Session, agent_id: int, version_id: int) -> None:
    """Re-pin the agent's reference book to a new version: it always trades the newest one."""
    book = reference_book(session, agent_id)
    if book is not None and book.agent_version_id != version_id:
        book.agent_version_id = version_id
        book.updated_at = utcnow()
        session.add(book)


def ensure_all_reference_books(session: Session, *, capital: Decimal, now: datetime | None = None) -> int:
    """Open the missing reference book of every agent (agents made before books, by a seed or by hand).

    The safety net behind `create_agent` and the signal generator; commits, returns how many it opened.
    """
    with_book = select(AgentDeployment.agent_id).where(AgentDeployment.is_reference.is_(True))
    missing = session.exec(select(Agent).where(col(Agent.id).not_in(with_book)).order_by(col(Agent.id))).all()
    for agent in missing:
        ensure_reference_book(session, agent, capital=capital, now=now)
    session.commit()
    return len(missing)
