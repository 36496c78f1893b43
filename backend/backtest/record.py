"""A replayed book written down as live trading would have left it: positions, the paper venue's book,
daily PnL snapshots and (for billable books only) billing lines.

Every figure comes from the replay's output as it is; nothing here computes money. The rows are what the
executor, the monitor and the paper venue write, so the app carries on trading from them: the paper book's
cash and net positions match the open positions, and reconciliation finds nothing to repair.
"""

from __future__ import annotations

from sqlmodel import Session

from backend.billing.charges import line_values, profit_share_key
from backend.billing.trade_fee import trade_fee_key
from backend.execution.service import client_order_id
from backend.models import AgentDeployment, BillingEvent, PaperAccount, PaperPosition, PnlSnapshot, Position
from backend.models.enums import PositionStatus
from backend.trading.fees import BillingLine, LineKind
from backend.trading.replay import ReplayResult, ReplayTrade


def record_book(
    session: Session, deployment: AgentDeployment, result: ReplayResult, *, creator_id: int
) -> int:
    """Write one deployment's replay in the caller's transaction; returns how many positions it opened.

    Meant for a book with no trades yet (a new demo deployment or reference book): it adds, never merges.
    """
    for trade in result.trades:
        position = _position(deployment, trade)
        session.add(position)
        if trade.billing:
            session.flush()  # billing lines name the position
            session.add_all(_billing(deployment, trade, position, line, creator_id) for line in trade.billing)
    book = session.get(PaperAccount, deployment.id)
    if book is None:
        book = PaperAccount(deployment_id=deployment.id, starting_balance=deployment.capital_usd, cash=0)
    book.cash = result.cash
    book.updated_at = result.equity[-1].at if result.equity else deployment.created_at
    session.add(book)
    for market, net in result.positions.items():
        session.add(
            PaperPosition(
                deployment_id=deployment.id,
                market=market,
                size=net.size,
                entry_price=net.entry_price,
                leverage=net.leverage,
                updated_at=book.updated_at,
            )
        )
    session.add_all(
        PnlSnapshot(
            deployment_id=deployment.id,
            day=point.day,
            equity=point.equity,
            realized_pnl=point.realized_pnl,
            unrealized_pnl=point.unrealized_pnl,
            created_at=point.at,
        )
        for point in result.equity
    )
    return len(result.trades)


def _position(deployment: AgentDeployment, trade: ReplayTrade) -> Position:
    closed = not trade.is_open
    return Position(
        deployment_id=deployment.id,
        signal_id=trade.signal_id,
        venue=deployment.venue,
        market=trade.market,
        side=trade.side,
        size=trade.size,
        leverage=trade.leverage,
        entry_price=trade.entry_price,
        exit_price=trade.exit_price,
        trailing_high=trade.best_price,
        status=PositionStatus.CLOSED if closed else PositionStatus.OPEN,
        close_reason=trade.reason,
        entry_fee=trade.entry_fee,
        exit_fee=trade.exit_fee,
        realized_pnl=trade.realized_pnl,
        client_order_id=client_order_id(deployment.id, trade.signal_id) if trade.signal_id else None,
        opened_at=trade.entry_at,
        closed_at=trade.exit_at,
    )


def _billing(
    deployment: AgentDeployment, trade: ReplayTrade, position: Position, line: BillingLine, creator_id: int
) -> BillingEvent:
    """The line as the executor (trade fee) and the close (`billing.charges.bill_close`) key and store it."""
    if line.kind == LineKind.TRADE_FEE:
        key, at = trade_fee_key(deployment.id, trade.signal_id), trade.entry_at
    else:
        key, at = profit_share_key(position.id, line), trade.exit_at
    values = line_values(
        line,
        key=key,
        user_id=deployment.user_id,
        deployment_id=deployment.id,
        position_id=position.id,
        creator_id=creator_id,
        at=at,
    )
    return BillingEvent(**values)
