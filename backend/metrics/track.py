"""An agent's track record as its page draws it: the reference book's equity curve with the drawdown under
each point, and the average winning and losing trade beside the cached figures.

Read on each view of the agent page (one book, its closes): the averages come from the same closed trades
as the cached profit factor and win rate, so they agree with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from backend.agents.reference import reference_book, reference_curve
from backend.metrics.service import closed_trades
from backend.monitor.equity import EquityCurve
from backend.trading import returns as calc


@dataclass(frozen=True)
class TrackRecord:
    curve: EquityCurve | None  # None before the agent has a reference book
    drawdown: tuple[Decimal, ...]  # each curve point's fall below the running peak, a fraction
    average_win: Decimal | None  # mean PnL of winning closes; None without one
    average_loss: Decimal | None  # mean PnL of losing closes, negative; None without one

    @property
    def has_curve(self) -> bool:
        return self.curve is not None and len(self.curve.points) > 0


NO_TRACK = TrackRecord(None, (), None, None)


def track_record(session: Session, agent_id: int, *, now: datetime) -> TrackRecord:
    """The reference book's curve, drawdown and average win and loss as of `now`."""
    book = reference_book(session, agent_id)
    if book is None:
        return NO_TRACK
    curve = reference_curve(session, agent_id, now=now)
    pnls = [t.realized_pnl for t in closed_trades(session, book.id, now)]
    equity = [p.equity for p in curve.points] if curve is not None else []
    return TrackRecord(
        curve=curve,
        drawdown=tuple(calc.drawdowns(equity)),
        average_win=calc.average_win(pnls),
        average_loss=calc.average_loss(pnls),
    )
