"""Reference books: every agent's own paper book of standard capital, the only source of its public figures.

A reference book is an `AgentDeployment` with `is_reference` set, on the paper venue, trading the agent's
newest version with the agent's own sizing, leverage and exits. It takes every signal from the moment the
agent exists; follower deployments never change it. It is the platform's: never listed among anyone's
deployments, never billed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from backend.agents.versions import ensure_version
from backend.models import Agent, AgentDeployment
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus, ExecutionVenue
from backend.venues.paper import open_paper_account


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
    return book
