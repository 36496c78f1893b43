"""One monitor cycle: one price request per venue, every open position checked against its exits.

Per cycle: load OPEN positions with their deployment and agent, ask each venue once for all mids, record
those mids as ticks (what charts are drawn from), evaluate every position with the pure rules, persist the
trailing highs that moved (with a `position.stop_moved` event, in the same commit, for each whose stop
armed its trailing line or reached break-even), move the positions whose exit fired to CLOSING
(compare-and-set), and hand every CLOSING position (this cycle's, a trader's Close, a crashed close) to
`close`, which finishes it. A close the venue refused waits out its backoff (`next_close_attempt_at`)
before it is handed out again.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from backend.agents.versions import exit_settings, strategies
from backend.backtest.tick_bars import TICK_VENUES, rolled_through
from backend.models import Agent, AgentDeployment, MarketTick, MonitorCycle, Position
from backend.models.common import utcnow
from backend.models.enums import CloseReason, ExecutionVenue, PositionStatus, Side
from backend.monitor.close import begin_close
from backend.notify import positions as position_events
from backend.notify.events import NewEvent, emit_many
from backend.trading.exits import ExitRules, OpenPosition, evaluate, rules_for, stop_milestones
from backend.venues.base import VenueError
from backend.venues.registry import VenueRegistry

logger = logging.getLogger(__name__)

TICK_RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class CycleReport:
    positions_watched: int
    closes_requested: int
    closing_handed_out: int
    venue_requests: int
    venue_errors: int
    duration_ms: float


class Monitor:
    """Evaluates exits; `close(position_id)` finishes a CLOSING position (a task in production)."""

    def __init__(
        self,
        venues: VenueRegistry,
        close: Callable[[int], None],
        *,
        time_limit: timedelta | None = None,
        holder: str = "",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.venues = venues
        self.close = close
        self.time_limit = time_limit
        self.holder = holder
        self.clock = clock

    def run_cycle(self, session: Session) -> CycleReport:
        started, now = time.perf_counter(), self.clock()
        session.expire_all()  # a long-lived session must not see last cycle's positions
        # Plain rows, not ORM objects: loading 10,000 positions as objects costs more than evaluating them.
        positions = Position.__table__
        rows = session.execute(
            select(
                positions.c.id,
                positions.c.deployment_id,
                positions.c.venue,
                positions.c.market,
                positions.c.side,
                positions.c.entry_price,
                positions.c.trailing_high,
                positions.c.opened_at,
            ).where(positions.c.status == PositionStatus.OPEN.value)
        ).all()
        rules, owners = self._rules(session)
        by_venue: dict[str, list] = defaultdict(list)
        for row in rows:
            by_venue[row.venue].append(row)
        requests = errors = 0
        moved: list[dict] = []
        milestones: list[tuple] = []  # (row, stop price, milestone) of moved rows that crossed one
        to_close: list[tuple[int, CloseReason]] = []
        ticks: list[dict] = []
        for venue, venue_rows in by_venue.items():
            requests += 1
            try:
                mids = self.venues.get(ExecutionVenue(venue)).mids()
            except VenueError as error:
                errors += 1
                logger.warning("monitor: %s prices unavailable: %s", venue, error.reason)
                continue
            markets = {row.market for row in venue_rows}
            ticks += [
                {"venue": venue, "market": m, "at": now, "price": mids[m]} for m in markets if m in mids
            ]
            self._evaluate(venue_rows, rules, mids, now, moved, to_close, milestones)
        events = [
            position_events.stop_moved(owners[row.deployment_id], row, stop, milestone)
            for row, stop, milestone in milestones
            if row.deployment_id in owners  # not a reference book's
        ]
        self._persist(session, moved, ticks, events)
        closes = sum(begin_close(session, position_id, reason) for position_id, reason in to_close)
        closing = list(session.exec(closing_due(now)))
        for position_id in closing:
            self.close(position_id)
        report = CycleReport(
            positions_watched=len(rows),
            closes_requested=closes,
            closing_handed_out=len(closing),
            venue_requests=requests,
            venue_errors=errors,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        self._record(session, report, now)
        return report

    def _rules(
        self, session: Session
    ) -> tuple[dict[int, ExitRules | None], dict[int, position_events.Owner]]:
        """Exit rules per deployment with open positions (its overrides over its version's settings), and
        its owner and agent name (for the events of stops that moved)."""
        positions = Position.__table__
        watched = select(positions.c.deployment_id).where(positions.c.status == PositionStatus.OPEN.value)
        rules: dict[int, ExitRules | None] = {}
        owners: dict[int, position_events.Owner] = {}
        rows = session.exec(
            select(AgentDeployment, Agent)
            .join(Agent, Agent.id == AgentDeployment.agent_id)
            .where(col(AgentDeployment.id).in_(watched.distinct()))
        ).all()
        pinned = strategies(session, (d.agent_version_id for d, _ in rows))
        for deployment, agent in rows:
            if not deployment.is_reference:  # the platform's book: nobody to tell of its stops
                owners[deployment.id] = (deployment.user_id, agent.name)
            try:
                settings = exit_settings(pinned, deployment, agent)
                rules[deployment.id] = rules_for(settings, deployment, self.time_limit)
            except ValueError as error:  # unusable stored settings: say so, keep watching the rest
                logger.error("deployment %s: exit rules unusable: %s", deployment.id, error)
                rules[deployment.id] = None
        return rules, owners

    @staticmethod
    def _evaluate(
        rows: list,
        rules: dict[int, ExitRules | None],
        mids: dict[str, Decimal],
        now: datetime,
        moved: list[dict],
        to_close: list[tuple[int, CloseReason]],
        milestones: list[tuple],
    ) -> None:
        for row in rows:
            price, exit_rules = mids.get(row.market), rules.get(row.deployment_id)
            if price is None or exit_rules is None:
                continue
            best = row.trailing_high or row.entry_price
            state = OpenPosition(Side(row.side), row.entry_price, row.opened_at, best)
            result = evaluate(state, exit_rules, price, now)
            if result.best_price != best:
                moved.append({"position_id": row.id, "best": result.best_price})
                if result.trailing:  # a milestone needs the trailing line: most moves stop here
                    stop = result.stop_price
                    crossed = stop_milestones(
                        state.side, row.entry_price, best, result.best_price, exit_rules, new_stop=stop
                    )
                    milestones += [(row, stop, milestone) for milestone in crossed]
            if result.reason is not None:
                to_close.append((row.id, result.reason))

    @staticmethod
    def _persist(session: Session, moved: list[dict], ticks: list[dict], events: list[NewEvent]) -> None:
        positions = Position.__table__
        if moved:
            session.execute(
                sa.update(positions)
                .where(
                    positions.c.id == sa.bindparam("position_id"), positions.c.status == PositionStatus.OPEN
                )
                .values(trailing_high=sa.bindparam("best")),
                moved,
            )
        if ticks:
            session.execute(sa.insert(MarketTick.__table__), ticks)
        emit_many(session, events)
        session.commit()

    def _record(self, session: Session, report: CycleReport, now: datetime) -> None:
        session.add(
            MonitorCycle(
                started_at=now,
                duration_ms=Decimal(f"{report.duration_ms:.3f}"),
                positions_watched=report.positions_watched,
                closes_requested=report.closes_requested,
                venue_requests=report.venue_requests,
                venue_errors=report.venue_errors,
                holder=self.holder[:128],
            )
        )
        session.commit()


def closing_due(now: datetime) -> Select:
    """CLOSING positions to hand to `close` now: all but those backing off after a refused close."""
    retry_at = col(Position.next_close_attempt_at)
    return select(Position.id).where(
        Position.status == PositionStatus.CLOSING, sa.or_(retry_at.is_(None), retry_at <= now)
    )


def prune_ticks(
    session: Session, now: datetime, keep: timedelta = TICK_RETENTION, *, rolled_into: str | None = None
) -> int:
    """Ticks older than `keep` go: charts look back as far as the oldest open position, a few days.

    With a live feed the ticks of Hyperliquid and paper are rolled up into stored bars for backtests
    (`backend.backtest.tick_bars`, under the candle source `rolled_into`): one of those goes only once its
    bar is rolled up, so a roll-up that has not run yet loses nothing.
    """
    ticks = MarketTick.__table__
    cutoff = now - keep
    if rolled_into is None:
        removed = session.execute(sa.delete(ticks).where(ticks.c.at < cutoff)).rowcount
    else:
        rolled = ticks.c.venue.in_(TICK_VENUES)
        removed = session.execute(sa.delete(ticks).where(~rolled, ticks.c.at < cutoff)).rowcount
        for market, through in sorted(rolled_through(session, rolled_into).items()):
            removed += session.execute(
                sa.delete(ticks).where(rolled, ticks.c.market == market, ticks.c.at < min(cutoff, through))
            ).rowcount
    session.commit()
    return removed
