"""A position's money, the one way every page and endpoint shows it: gross, venue fees, Maxxit's, net.

The venue's fees are on the position row; Maxxit's trade fee and profit share are billing lines keyed by the
position (waived ones do not count). `trading.book.breakdown` puts them side by side, so a close shows the
same fees and the same net wherever it is read. Batched variants cost two queries for any number of rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, func, select

from backend.models import BillingEvent, Position, VenueStatus
from backend.models.enums import BillingKind, BillingStatus, PositionStatus, Side
from backend.trading.book import Breakdown, breakdown, total
from backend.trading.market import MarketRules
from backend.trading.money import ZERO
from backend.venues.capabilities import real_funds
from backend.venues.paper import paper_markets


@dataclass(frozen=True)
class Billed:
    """What Maxxit billed for one position."""

    platform_fee: Decimal = ZERO
    profit_share: Decimal = ZERO


def billed(session: Session, position_ids: Iterable[int]) -> dict[int, Billed]:
    """The trade fee and profit share billed per position (absent: nothing billed)."""
    ids = sorted(set(position_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(BillingEvent.position_id, BillingEvent.kind, func.sum(BillingEvent.amount))
        .where(
            col(BillingEvent.position_id).in_(ids),
            col(BillingEvent.kind).in_([BillingKind.TRADE_FEE, BillingKind.PROFIT_SHARE]),
            BillingEvent.status != BillingStatus.WAIVED,
        )
        .group_by(BillingEvent.position_id, BillingEvent.kind)
    ).all()
    sums: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for position_id, kind, amount in rows:
        sums[position_id][str(kind)] = Decimal(amount)
    return {
        pid: Billed(k.get(BillingKind.TRADE_FEE, ZERO), k.get(BillingKind.PROFIT_SHARE, ZERO))
        for pid, k in sums.items()
    }


def of_position(position: Position, charged: Billed, mark: Decimal | None = None) -> Breakdown:
    """The breakdown of a loaded position and what was billed for it (no query)."""
    closed = position.status == PositionStatus.CLOSED
    price = position.exit_price if closed else mark
    return breakdown(
        Side(position.side),
        position.entry_price,
        position.entry_price if price is None else price,
        position.size,
        entry_fee=position.entry_fee,
        exit_fee=position.exit_fee if closed else ZERO,
        platform_fee=charged.platform_fee,
        profit_share=charged.profit_share,
    )


def position_breakdown(session: Session, position: Position, mark: Decimal | None = None) -> Breakdown:
    """One position's breakdown: at its exit once closed, else at `mark` (its entry without one)."""
    return of_position(position, billed(session, [position.id]).get(position.id, Billed()), mark)


def breakdowns(
    session: Session, positions: Sequence[Position], marks: Mapping[int, Decimal] | None = None
) -> dict[int, Breakdown]:
    """Many positions' breakdowns by id, in two queries; `marks` prices open ones by position id."""
    charged = billed(session, [p.id for p in positions])
    marks = marks or {}
    return {p.id: of_position(p, charged.get(p.id, Billed()), marks.get(p.id)) for p in positions}


def deployment_totals(session: Session, deployment_ids: Sequence[int]) -> dict[int, Breakdown]:
    """Per deployment, its positions' breakdowns summed: closed ones at their exit, open ones' fees so far."""
    if not deployment_ids:
        return {}
    positions = list(session.exec(select(Position).where(col(Position.deployment_id).in_(deployment_ids))))
    parts = breakdowns(session, positions)
    by_deployment: dict[int, list[Breakdown]] = defaultdict(list)
    for position in positions:
        by_deployment[position.deployment_id].append(parts[position.id])
    return {d: total(items) for d, items in by_deployment.items()}


def market_rules(session: Session, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], MarketRules]:
    """The rules (tick, size step, maximum leverage) of each (venue, market) a page shows positions in.

    Paper markets are the simulated feed's; a live venue's are what its last refresh stored (venue_status),
    else the paper table's Hyperliquid-like rules for that symbol; a market neither knows is left out.
    """
    wanted = set(pairs)
    live = {(v, m) for v, m in wanted if real_funds(v)}
    stored: dict[tuple[str, str], MarketRules] = {}
    if live:
        rows = session.exec(
            select(VenueStatus).where(
                col(VenueStatus.venue).in_({v for v, _ in live}),
                col(VenueStatus.market).in_({m for _, m in live}),
            )
        ).all()
        stored = {
            (str(r.venue), r.market): MarketRules(
                r.market, r.size_decimals, r.tick_size, r.min_notional_usd, r.max_leverage, r.min_size
            )
            for r in rows
        }
    paper = paper_markets()
    found = {pair: stored.get(pair) or paper.get(pair[1]) for pair in wanted}
    return {pair: rules for pair, rules in found.items() if rules is not None}
