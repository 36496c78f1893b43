"""Write side of agents: the builder creates, edits and archives agents; owners read theirs back to edit them.

Each write owns its transaction: it commits the change together with its audit row, or rolls back and raises,
leaving nothing written. Only an agent's creator or an admin may change or read it here; the marketplace
reads (private and archived agents hidden) stay in `backend.agents.service`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from backend import audit
from backend.agents.drafts import MAX_LEVERAGE, AgentDraft, AgentPatch, RiskDraft
from backend.agents.reference import ensure_reference_book, follow_version
from backend.agents.schemas import CtAccountOut, MyAgentRow, OwnedAgent
from backend.agents.service import AgentNotFound, risk_settings
from backend.agents.versions import (
    FIRST_VERSION_NOTE,
    STRATEGY_COLUMNS,
    Strategy,
    add_version,
    change_note,
    ensure_version,
    followed_ids,
    strategy_of,
)
from backend.audit import Action
from backend.auth.errors import Forbidden
from backend.auth.identity import CurrentUser
from backend.config import get_settings
from backend.db import transaction
from backend.models import Agent, AgentAccount, CtAccount
from backend.models.common import utcnow
from backend.models.enums import AgentStatus, Venue
from backend.notify import accounts

logger = logging.getLogger(__name__)

ENTITY = "agent"
_RISK_COLUMNS = frozenset(RiskDraft.model_fields)


class AgentEditError(ValueError):
    """Input that passed the draft's own checks but conflicts with the database; `field` names that input."""

    field = "request"


class UnknownCtAccounts(AgentEditError):
    """Some ids name no CT account the platform follows (unknown, removed, or inactive and not followed)."""

    field = "ct_account_ids"

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = sorted(ids)
        super().__init__("unknown or inactive CT account ids: " + ", ".join(map(str, self.ids)))


class DuplicateAgentName(AgentEditError):
    """The creator already has an agent of that name (names are unique per creator)."""

    field = "name"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"the creator already has an agent named {name!r}")


class LeverageAboveVenueMax(AgentEditError):
    """An edit that leaves the agent's leverage above what its (maybe new) venue's markets allow."""

    field = "risk.leverage"

    def __init__(self, venue: str, limit: Decimal) -> None:
        super().__init__(f"risk.leverage must be at most {limit.normalize():f}x for a {venue} agent")


class AgentArchived(Exception):
    """Archived agents are read-only, so their history keeps meaning what it meant."""


def create_agent(
    session: Session,
    user: CurrentUser,
    draft: AgentDraft,
    *,
    ip: str | None = None,
    reference_capital: Decimal | None = None,
) -> OwnedAgent:
    """Store a new agent owned by `user`, its follows, its version 1, its reference book (which takes every
    signal from this moment on, with `reference_capital`, default REFERENCE_CAPITAL_USD) and an audit row,
    in one transaction."""
    with transaction(session):
        _check_name_free(session, user.id, draft.name)
        _check_accounts(session, draft.ct_account_ids)
        now = utcnow()
        # An explicit NULL: the ORM treats None as "use the column default" on insert (take-profit 20%).
        columns = {k: sa.null() if v is None else v for k, v in draft.columns().items()}
        agent = Agent(creator_id=user.id, created_at=now, updated_at=now, **columns)
        session.add(agent)
        _flush_or_duplicate(session, user.id, draft.name)
        session.add_all(AgentAccount(agent_id=agent.id, ct_account_id=i) for i in draft.ct_account_ids)
        session.flush()
        add_version(session, agent, note=FIRST_VERSION_NOTE, now=now)
        capital = reference_capital or get_settings().reference_capital_usd
        ensure_reference_book(session, agent, capital=capital, now=now)
        details = {"values": draft.model_dump(mode="json")}
        audit.record_by(session, user, Action.AGENT_CREATED, ENTITY, agent.id, details, ip)
    logger.info("agent %s %r created by user %s", agent.id, agent.name, user.id)
    return _owned(session, agent)


def update_agent(
    session: Session, user: CurrentUser, agent_id: int, patch: AgentPatch, *, ip: str | None = None
) -> OwnedAgent:
    """Apply the fields `patch` gives; an audit row lists each changed field with its old and new value.

    A change of the strategy (weights, threshold, follows, exits, sizing, leverage, venue) makes a new
    immutable version, which the reference book follows at once; deployments keep the version they
    accepted until their owners accept the new one. Name, description and visibility make no version.
    A patch that changes nothing writes nothing (no audit row, `updated_at` kept).
    """
    with transaction(session):
        agent = _owned_row(session, user, agent_id, lock=True)
        if agent.status == AgentStatus.ARCHIVED:
            raise AgentArchived(f"agent {agent_id} is archived and can no longer be edited")
        columns = _diff(agent, patch.columns())
        _check_leverage(agent, columns)
        if "name" in columns:
            _check_name_free(session, agent.creator_id, patch.name, exclude_id=agent.id)
        follows = _follows_diff(session, agent.id, patch.ct_account_ids)
        if columns or follows:
            strategy_changed = bool(follows) or bool(set(columns) & set(STRATEGY_COLUMNS))
            if strategy_changed:
                ensure_version(session, agent)  # made before versions: version 1 is its old settings
            before = strategy_of(agent, followed_ids(session, agent.id))
            _apply(session, agent, columns, follows)
            _flush_or_duplicate(session, agent.creator_id, agent.name)
            details = {"changes": _changes(columns, follows)}
            if strategy_changed:
                details["version"] = _new_version(session, agent, before)
            audit.record_by(session, user, Action.AGENT_UPDATED, ENTITY, agent.id, details, ip)
    if columns or follows:
        logger.info("agent %s updated by user %s: %s", agent_id, user.id, sorted(columns))
    return _owned(session, agent)


def _new_version(session: Session, agent: Agent, before: Strategy) -> int:
    """Snapshot the edited strategy as the next version and move the reference book onto it."""
    note = change_note(before, strategy_of(agent, followed_ids(session, agent.id)))
    version = add_version(session, agent, note=note)
    follow_version(session, agent.id, version.id)
    accounts.version_available(session, agent, version)  # told to deployments still on an older one
    logger.info("agent %s: version %s (%s)", agent.id, version.number, note)
    return version.number


def archive_agent(session: Session, user: CurrentUser, agent_id: int, *, ip: str | None = None) -> OwnedAgent:
    """Retire an agent: it leaves the marketplace and can no longer be edited; its history stays.

    Archiving an archived agent is a no-op, so a retried request neither fails nor writes a second audit row.
    """
    with transaction(session):
        agent = _owned_row(session, user, agent_id, lock=True)
        previous = agent.status
        if previous != AgentStatus.ARCHIVED:
            agent.status = AgentStatus.ARCHIVED
            agent.updated_at = utcnow()
            changes = {"status": {"old": _jsonable(previous), "new": AgentStatus.ARCHIVED.value}}
            audit.record_by(session, user, Action.AGENT_ARCHIVED, ENTITY, agent.id, {"changes": changes}, ip)
    if previous != AgentStatus.ARCHIVED:
        logger.info("agent %s archived by user %s", agent_id, user.id)
    return _owned(session, agent)


def get_owned_agent(session: Session, user: CurrentUser, agent_id: int) -> OwnedAgent:
    """Every editable value of one agent, for the edit form; private and archived agents included."""
    return _owned(session, _owned_row(session, user, agent_id))


def list_my_agents(session: Session, user: CurrentUser) -> list[MyAgentRow]:
    """The user's own agents, private and archived ones included, newest first."""
    agents = session.exec(
        select(Agent)
        .where(Agent.creator_id == user.id)
        .order_by(col(Agent.created_at).desc(), col(Agent.id).desc())
    ).all()
    return [MyAgentRow.model_validate(a, from_attributes=True) for a in agents]


def list_ct_accounts(session: Session) -> list[CtAccountOut]:
    """Active CT accounts an agent can follow, for the builder's picker, by handle; removed ones never."""
    accounts = session.exec(
        select(CtAccount)
        .where(col(CtAccount.is_active), col(CtAccount.removed_at).is_(None))
        .order_by(func.lower(CtAccount.handle), CtAccount.id)
    ).all()
    return [CtAccountOut.model_validate(a, from_attributes=True) for a in accounts]


def _owned_row(session: Session, user: CurrentUser, agent_id: int, *, lock: bool = False) -> Agent:
    """The agent if `user` created it or is an admin. With `lock`, the row stays locked until commit
    (FOR UPDATE on PostgreSQL; SQLite serialises writers itself), so concurrent edits apply one after another.
    """
    query = select(Agent).where(Agent.id == agent_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    agent = session.exec(query).first()
    if agent is None:
        raise AgentNotFound(f"agent {agent_id} not found")
    if agent.creator_id != user.id and not user.is_admin:
        raise Forbidden("only the agent's creator or an admin may do this")
    return agent


def _check_leverage(agent: Agent, columns: dict[str, tuple[Any, Any]]) -> None:
    venue = columns["venue"][1] if "venue" in columns else agent.venue
    leverage = columns["leverage"][1] if "leverage" in columns else agent.leverage
    limit = MAX_LEVERAGE[Venue(venue)]
    if Decimal(leverage) > limit:
        raise LeverageAboveVenueMax(Venue(venue).value, limit)


def _check_name_free(session: Session, creator_id: int, name: str, exclude_id: int | None = None) -> None:
    if _name_taken(session, creator_id, name, exclude_id):
        raise DuplicateAgentName(name)


def _name_taken(session: Session, creator_id: int, name: str, exclude_id: int | None = None) -> bool:
    query = select(Agent.id).where(Agent.creator_id == creator_id, Agent.name == name)
    if exclude_id is not None:
        query = query.where(Agent.id != exclude_id)
    return session.exec(query).first() is not None


def _flush_or_duplicate(session: Session, creator_id: int, name: str) -> None:
    """Flush; a unique-name clash with a concurrent request becomes DuplicateAgentName, the rest re-raise."""
    try:
        session.flush()
    except IntegrityError as e:
        session.rollback()
        if _name_taken(session, creator_id, name):
            raise DuplicateAgentName(name) from e
        raise


def _check_accounts(session: Session, ids: Iterable[int], already_followed: Iterable[int] = ()) -> None:
    """New follows must be active and not removed; an inactive one the agent already follows may stay."""
    wanted = set(ids)
    if not wanted:
        return
    kept = set(already_followed)
    found = session.exec(
        select(CtAccount.id, CtAccount.is_active, CtAccount.removed_at).where(col(CtAccount.id).in_(wanted))
    ).all()
    usable = {i for i, active, removed_at in found if (active and removed_at is None) or i in kept}
    if wanted - usable:
        raise UnknownCtAccounts(wanted - usable)


def _followed_ids(session: Session, agent_id: int) -> set[int]:
    return set(
        session.exec(select(AgentAccount.ct_account_id).where(AgentAccount.agent_id == agent_id)).all()
    )


def _follows_diff(session: Session, agent_id: int, ids: list[int] | None) -> tuple[set[int], set[int]] | None:
    """(old, new) followed ids when `ids` changes them, after checking the new ones; None otherwise."""
    if ids is None:
        return None
    old, new = _followed_ids(session, agent_id), set(ids)
    if old == new:
        return None
    _check_accounts(session, new, already_followed=old)
    return old, new


def _diff(agent: Agent, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Column -> (old, new) for the values that differ from the agent's (Decimals compare by value)."""
    return {
        column: (getattr(agent, column), new)
        for column, new in values.items()
        if getattr(agent, column) != new
    }


def _apply(
    session: Session,
    agent: Agent,
    columns: dict[str, tuple[Any, Any]],
    follows: tuple[set[int], set[int]] | None,
) -> None:
    for column, (_, new) in columns.items():
        setattr(agent, column, new)
    agent.updated_at = utcnow()
    if follows is None:
        return
    old, new = follows
    for link in session.exec(
        select(AgentAccount).where(
            AgentAccount.agent_id == agent.id, col(AgentAccount.ct_account_id).in_(old - new)
        )
    ):
        session.delete(link)
    session.add_all(AgentAccount(agent_id=agent.id, ct_account_id=i) for i in sorted(new - old))


def _changes(
    columns: dict[str, tuple[Any, Any]], follows: tuple[set[int], set[int]] | None
) -> dict[str, dict[str, Any]]:
    """Audit details keyed by the field names clients send (`name`, `weights.rsi`, `risk.stoploss`)."""
    changes = {
        _field_path(column): {"old": _jsonable(old), "new": _jsonable(new)}
        for column, (old, new) in columns.items()
    }
    if follows is not None:
        changes["ct_account_ids"] = {"old": sorted(follows[0]), "new": sorted(follows[1])}
    return changes


def _field_path(column: str) -> str:
    if column.startswith("weight_"):
        return "weights." + column.removeprefix("weight_")
    return f"risk.{column}" if column in _RISK_COLUMNS else column


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Enum):
        return value.value
    return value


def _owned(session: Session, agent: Agent) -> OwnedAgent:
    accounts = session.exec(
        select(CtAccount)
        .join(AgentAccount, AgentAccount.ct_account_id == CtAccount.id)
        .where(AgentAccount.agent_id == agent.id)
        .order_by(func.lower(CtAccount.handle), CtAccount.id)
    ).all()
    return OwnedAgent(
        id=agent.id,
        creator_id=agent.creator_id,
        name=agent.name,
        description=agent.description,
        venue=agent.venue,
        visibility=agent.visibility,
        status=agent.status,
        weights=agent.weights(),
        risk=risk_settings(agent),
        ct_account_ids=sorted(a.id for a in accounts),
        accounts=[CtAccountOut.model_validate(a, from_attributes=True) for a in accounts],
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )
