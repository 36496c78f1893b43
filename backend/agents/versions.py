"""Agent versions: an immutable snapshot of everything that changes how an agent trades.

The agent row holds the newest version's settings (the builder edits them); `AgentVersion.strategy` keeps
each version as it was, so a deployment that accepted version 2 trades version 2 until its owner accepts
version 3, and every signal and reference-book trade names the version that made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from backend.models import WEIGHT_NAMES, Agent, AgentAccount, AgentDeployment, AgentVersion
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus
from backend.trading.types import SizingProfile

FIRST_VERSION_NOTE = "first version"
EXIT_NAMES = ("stoploss", "take_profit", "trailing_stop_positive", "trailing_stop_positive_offset")
# The agent columns a version snapshots; editing any of them (or the followed accounts) makes a new version.
STRATEGY_COLUMNS = (
    "venue",
    "signal_threshold",
    "sizing_profile",
    "leverage",
    *EXIT_NAMES,
    *(f"weight_{w}" for w in WEIGHT_NAMES),
)


@dataclass(frozen=True)
class Strategy:
    """One version's settings, typed: what the signal generator, the executor and the monitor read."""

    venue: str
    weights: Mapping[str, int]
    signal_threshold: Decimal
    ct_account_ids: tuple[int, ...]
    stoploss: Decimal
    take_profit: Decimal | None
    trailing_stop_positive: Decimal
    trailing_stop_positive_offset: Decimal
    sizing_profile: SizingProfile
    leverage: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "weights": dict(self.weights),
            "signal_threshold": str(self.signal_threshold),
            "ct_account_ids": list(self.ct_account_ids),
            **{name: _text(getattr(self, name)) for name in EXIT_NAMES},
            "sizing_profile": self.sizing_profile.value,
            "leverage": str(self.leverage),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Strategy:
        take = data.get("take_profit")
        return cls(
            venue=data["venue"],
            weights={name: int(data["weights"].get(name, 0)) for name in WEIGHT_NAMES},
            signal_threshold=Decimal(data["signal_threshold"]),
            ct_account_ids=tuple(int(i) for i in data["ct_account_ids"]),
            stoploss=Decimal(data["stoploss"]),
            take_profit=None if take is None else Decimal(take),
            trailing_stop_positive=Decimal(data["trailing_stop_positive"]),
            trailing_stop_positive_offset=Decimal(data["trailing_stop_positive_offset"]),
            sizing_profile=SizingProfile(data["sizing_profile"]),
            leverage=Decimal(data.get("leverage", "1")),
        )


def strategy_of(agent: Agent, ct_account_ids: Iterable[int]) -> Strategy:
    """The strategy an agent row holds now, with the accounts it follows."""
    return Strategy(
        venue=str(agent.venue),
        weights=agent.weights(),
        signal_threshold=Decimal(agent.signal_threshold),
        ct_account_ids=tuple(sorted(ct_account_ids)),
        stoploss=Decimal(agent.stoploss),
        take_profit=None if agent.take_profit is None else Decimal(agent.take_profit),
        trailing_stop_positive=Decimal(agent.trailing_stop_positive),
        trailing_stop_positive_offset=Decimal(agent.trailing_stop_positive_offset),
        sizing_profile=SizingProfile(agent.sizing_profile),
        leverage=Decimal(agent.leverage),
    )


def followed_ids(session: Session, agent_id: int) -> list[int]:
    query = select(AgentAccount.ct_account_id).where(AgentAccount.agent_id == agent_id)
    return sorted(session.exec(query).all())


def add_version(
    session: Session, agent: Agent, *, note: str = "", now: datetime | None = None
) -> AgentVersion:
    """Snapshot the agent's current strategy as its next version, in the caller's transaction."""
    latest = latest_version(session, agent.id)
    number = 1 if latest is None else latest.number + 1
    strategy = strategy_of(agent, followed_ids(session, agent.id))
    version = AgentVersion(
        agent_id=agent.id,
        number=number,
        strategy=strategy.to_json(),
        note=note[:256],
        created_at=now or utcnow(),
    )
    session.add(version)
    agent.version = number
    session.add(agent)
    session.flush()
    return version


def latest_version(session: Session, agent_id: int) -> AgentVersion | None:
    query = (
        select(AgentVersion)
        .where(AgentVersion.agent_id == agent_id)
        .order_by(col(AgentVersion.number).desc())
    )
    return session.exec(query).first()


def ensure_version(session: Session, agent: Agent, now: datetime | None = None) -> AgentVersion:
    """The agent's newest version, creating version 1 for an agent that has none (made before versions)."""
    return latest_version(session, agent.id) or add_version(session, agent, note=FIRST_VERSION_NOTE, now=now)


def strategies(session: Session, version_ids: Iterable[int | None]) -> dict[int, Strategy]:
    """The strategies of these versions by id, read in one query (for the monitor's and charts' batches)."""
    wanted = {i for i in version_ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(select(AgentVersion).where(col(AgentVersion.id).in_(wanted))).all()
    return {v.id: Strategy.from_json(v.strategy) for v in rows}


def pinned_strategy(session: Session, deployment: AgentDeployment, agent: Agent | None = None) -> Strategy:
    """What a deployment trades: the version it accepted; the agent's current settings when it has none
    (rows made before versions, or by hand), so nothing unpinned ever trades on a missing strategy."""
    if deployment.agent_version_id is not None:
        version = session.get(AgentVersion, deployment.agent_version_id)
        if version is not None:
            return Strategy.from_json(version.strategy)
    agent = agent or session.get(Agent, deployment.agent_id)
    return strategy_of(agent, followed_ids(session, agent.id))


def exit_settings(
    by_id: Mapping[int, Strategy], deployment: AgentDeployment, agent: Agent
) -> Strategy | Agent:
    """Whose exits a deployment's positions run under: its version's (from `strategies`), else its agent's."""
    if deployment.agent_version_id is None:
        return agent
    return by_id.get(deployment.agent_version_id, agent)


def versions_in_use(session: Session, agent: Agent) -> list[AgentVersion]:
    """The versions signals are made for: the newest (the reference book's) and every older one a live
    deployment still trades because its owner has not accepted the newer one. Oldest first."""
    newest = ensure_version(session, agent)
    pinned = select(AgentDeployment.agent_version_id).where(
        AgentDeployment.agent_id == agent.id,
        AgentDeployment.status != DeploymentStatus.CANCELLED,
        col(AgentDeployment.agent_version_id).is_not(None),
    )
    older = session.exec(
        select(AgentVersion).where(
            AgentVersion.agent_id == agent.id,
            AgentVersion.id != newest.id,
            col(AgentVersion.id).in_(pinned.distinct()),
        )
    ).all()
    return sorted([*older, newest], key=lambda v: v.number)


def list_versions(session: Session, agent_id: int) -> list[AgentVersion]:
    """Every version of an agent, newest first: the agent page's list and its chart's marks."""
    query = (
        select(AgentVersion)
        .where(AgentVersion.agent_id == agent_id)
        .order_by(col(AgentVersion.number).desc())
    )
    return list(session.exec(query).all())


def change_note(old: Strategy, new: Strategy) -> str:
    """A short account of what a new version changed, in the builder's words, for the version list."""
    parts: list[str] = []
    changed = [name for name in WEIGHT_NAMES if old.weights.get(name) != new.weights.get(name)]
    if changed:
        parts.append("weights (" + ", ".join(f"{n} {new.weights[n]}" for n in changed) + ")")
    if old.signal_threshold != new.signal_threshold:
        parts.append(f"threshold {_percent(new.signal_threshold)}")
    if old.ct_account_ids != new.ct_account_ids:
        added = len(set(new.ct_account_ids) - set(old.ct_account_ids))
        removed = len(set(old.ct_account_ids) - set(new.ct_account_ids))
        parts.append(f"followed accounts (+{added} -{removed})")
    exits = [name for name in EXIT_NAMES if getattr(old, name) != getattr(new, name)]
    if exits:
        parts.append("exits (" + ", ".join(f"{n} {_percent(getattr(new, n))}" for n in exits) + ")")
    if old.sizing_profile != new.sizing_profile:
        parts.append(f"sizing {new.sizing_profile.value}")
    if old.leverage != new.leverage:
        parts.append(f"leverage {new.leverage.normalize():f}x")
    if old.venue != new.venue:
        parts.append(f"venue {new.venue}")
    return "; ".join(parts)


def _percent(value: Decimal | None) -> str:
    return "none" if value is None else f"{(value * 100).normalize():f}%"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
