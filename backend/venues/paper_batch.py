"""The paper venue for many accounts at once: one signal's orders for a chunk of deployments, one transaction.

The executor's batch path asks here instead of calling `PaperVenue.submit` once per deployment: balances in
two queries, found orders in one, and every order of the chunk filled in a single transaction that locks
the chunk's books (in deployment order, so two chunks never deadlock). Each order is still its own fill
with its own client order id, unique per account, so a retry or a duplicate run finds the fill instead of
placing another, exactly as with one order. Prices, fees and the net position come from the trading core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from backend.db import among, dialect_insert
from backend.models import PaperAccount, PaperFill, PaperPosition
from backend.trading.book import NetPosition, account_balance, apply_fill
from backend.trading.fills import FillModel
from backend.trading.types import Side
from backend.venues.base import (
    Balance,
    Fill,
    InsufficientFunds,
    InvalidOrder,
    MarketNotListed,
    MarketRules,
    OrderRequest,
    VenueError,
)

# A duplicate run can insert the same client order id between our check and our insert (SQLite takes no
# row locks): the transaction is then tried again, and the second pass finds that fill.
MAX_PASSES = 3


@dataclass(frozen=True)
class PaperOrder:
    """One account's order in a batch."""

    deployment_id: int
    order: OrderRequest


Result = Fill | VenueError  # per client order id: the fill (new or found again), or why there is none
MidAt = Callable[[str, datetime], Decimal]


def balances(
    session: Session, deployment_ids: Sequence[int], mids_of: Callable[[list[str]], dict[str, Decimal]]
) -> dict[int, Balance | VenueError]:
    """Each account's balance, as `PaperVenue.balance` gives it, from two queries for the whole chunk."""
    cash = _cash(session, deployment_ids, lock=False)
    held: dict[int, list[tuple[str, NetPosition]]] = {}
    positions = _positions(session, deployment_ids)
    for (deployment_id, market), position in positions.items():
        held.setdefault(deployment_id, []).append((market, position))
    mids = mids_of(sorted({market for _, market in positions})) if positions else {}
    result: dict[int, Balance | VenueError] = {}
    for deployment_id in deployment_ids:
        if deployment_id not in cash:
            result[deployment_id] = InvalidOrder(f"deployment {deployment_id} has no paper account")
            continue
        result[deployment_id] = account_balance(cash[deployment_id], held.get(deployment_id, []), mids)
    return result


def found_fills(session: Session, orders: Iterable[tuple[int, str]]) -> dict[str, Fill]:
    """The fills already made for these (deployment, client order id) pairs, by client order id."""
    from backend.venues.paper import _to_fill

    pairs = list(orders)
    if not pairs:
        return {}
    table = PaperFill.__table__
    rows = session.execute(
        sa.select(table).where(
            among(table.c.deployment_id, {d for d, _ in pairs}),
            among(table.c.client_order_id, {c for _, c in pairs}),
        )
    ).all()
    wanted = set(pairs)
    # Rows, not ORM objects: `_to_fill` reads attributes only, and building objects is the slow part here.
    return {r.client_order_id: _to_fill(r) for r in rows if (r.deployment_id, r.client_order_id) in wanted}


def open_many(
    engine: sa.Engine,
    orders: Sequence[PaperOrder],
    *,
    markets: dict[str, MarketRules],
    model: FillModel,
    mid_at: MidAt,
    now: datetime,
) -> dict[str, Result]:
    """Fill every order in one transaction of its own; an order already filled is returned, not repeated."""
    for attempt in range(MAX_PASSES):
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return _Batch(session, markets, model, now).fill(orders, mid_at)
        except IntegrityError:  # a racing run filled one of these ids first: the next pass finds it
            if attempt == MAX_PASSES - 1:
                raise
    raise AssertionError("unreachable")


class _Batch:
    """The chunk's books and positions in memory while its orders fill, written back in three batches."""

    def __init__(self, session: Session, markets: dict[str, MarketRules], model: FillModel, now: datetime):
        self.session, self.markets, self.model, self.now = session, markets, model, now
        self.cash: dict[int, Decimal] = {}
        self.positions: dict[tuple[int, str], NetPosition] = {}
        self.touched: set[tuple[int, str]] = set()
        self.mids: dict[str, Decimal] = {}

    def fill(self, orders: Sequence[PaperOrder], mid_at: MidAt) -> dict[str, Result]:
        ids = sorted({o.deployment_id for o in orders})
        self.cash = _cash(self.session, ids, lock=True)  # first: the check below sees a racing run's fills
        self.positions = _positions(self.session, ids)
        found = found_fills(self.session, [(o.deployment_id, o.order.client_order_id) for o in orders])
        held = {market for _, market in self.positions} | {o.order.market for o in orders}
        self.mids = {market: mid_at(market, self.now) for market in held if market in self.markets}
        results: dict[str, Result] = {}
        fills: list[dict] = []
        for item in orders:
            cloid = item.order.client_order_id
            if cloid in found:
                results[cloid] = found[cloid]
                continue
            try:
                fills.append(self._fill_one(item))
            except VenueError as error:
                results[cloid] = error
        if fills:
            self._write(fills)
            # The ids are read back with the fills (the venue order id is the fill's id) rather than by
            # RETURNING: see db.insert_many_or_ignore.
            results.update(
                found_fills(self.session, [(f["deployment_id"], f["client_order_id"]) for f in fills])
            )
        return results

    def _fill_one(self, item: PaperOrder) -> dict:
        """One open order against its account's book, in memory; the fill's row to insert."""
        order, deployment_id = item.order, item.deployment_id
        rules = self.markets.get(order.market)
        if rules is None:
            raise MarketNotListed(f"{order.market} is not listed on the paper venue")
        if deployment_id not in self.cash:
            raise InvalidOrder(f"deployment {deployment_id} has no paper account")
        if order.reduce_only:
            raise InvalidOrder("open orders cannot be reduce-only")
        size = rules.round_size(order.size)
        if size <= 0:
            raise InvalidOrder(f"size {order.size} rounds to zero at {rules.size_decimals} decimals")
        is_buy = order.side == Side.LONG
        price = self.model.price(self.mids[order.market], is_buy=is_buy, rules=rules)
        notional = size * price
        if notional < rules.min_notional:
            raise InvalidOrder(f"order value ${notional:.2f} is below the ${rules.min_notional} minimum")
        fee = self.model.fee(size, price)
        leverage = min(order.leverage, rules.max_leverage)
        own = [(m, p) for (d, m), p in self._held(deployment_id)]
        available = account_balance(self.cash[deployment_id], own, self.mids).available
        needed = notional / leverage + fee
        if needed > available:
            raise InsufficientFunds(f"insufficient margin: ${needed:.2f} needed, ${available:.2f} available")
        key = (deployment_id, order.market)
        effect = apply_fill(self.positions.get(key), is_buy=is_buy, size=size, price=price, leverage=leverage)
        self.cash[deployment_id] = self.cash[deployment_id] - fee + effect.realized
        if effect.position is None:
            self.positions.pop(key, None)
        else:
            self.positions[key] = effect.position
        self.touched.add(key)
        return {
            "deployment_id": deployment_id,
            "client_order_id": order.client_order_id,
            "market": order.market,
            "is_buy": is_buy,
            "size": size,
            "price": price,
            "fee": fee,
            "reduce_only": False,
            "realized_pnl": effect.realized,
            "created_at": self.now,
        }

    def _held(self, deployment_id: int) -> list[tuple[tuple[int, str], NetPosition]]:
        """The account's open positions; an account holds at most the few markets priced for this batch."""
        keys = ((deployment_id, market) for market in self.mids)
        return [(key, self.positions[key]) for key in keys if key in self.positions]

    def _write(self, fills: list[dict]) -> None:
        """Fills, books and positions back to the database, one batched statement each."""
        session, now = self.session, self.now
        session.execute(sa.insert(PaperFill.__table__), fills)  # the unique client order ids are checked here
        books = PaperAccount.__table__
        changed = sorted({d for d, _ in self.touched})
        session.execute(
            sa.update(books)
            .where(books.c.deployment_id == sa.bindparam("account"))
            .values(cash=sa.bindparam("new_cash"), updated_at=sa.bindparam("now")),
            [{"account": d, "new_cash": self.cash[d], "now": now} for d in changed],
        )
        table = PaperPosition.__table__
        flat = [key for key in sorted(self.touched) if key not in self.positions]
        if flat:
            session.execute(
                sa.delete(table).where(
                    table.c.deployment_id == sa.bindparam("account"), table.c.market == sa.bindparam("mkt")
                ),
                [{"account": d, "mkt": m} for d, m in flat],
            )
        open_ = [(key, self.positions[key]) for key in sorted(self.touched) if key in self.positions]
        if open_:
            insert = dialect_insert(session)(table)
            upsert = insert.on_conflict_do_update(
                index_elements=["deployment_id", "market"],
                set_={c: insert.excluded[c] for c in ("size", "entry_price", "leverage", "updated_at")},
            )
            rows = [
                {
                    "deployment_id": d,
                    "market": m,
                    "size": p.size,
                    "entry_price": p.entry_price,
                    "leverage": p.leverage,
                    "updated_at": now,
                }
                for (d, m), p in open_
            ]
            session.execute(upsert, rows)


def _cash(session: Session, deployment_ids: Sequence[int], *, lock: bool) -> dict[int, Decimal]:
    table = PaperAccount.__table__
    query = (
        sa.select(table.c.deployment_id, table.c.cash)
        .where(among(table.c.deployment_id, deployment_ids))
        .order_by(table.c.deployment_id)
    )
    if lock:
        query = query.with_for_update()
    return dict(session.execute(query).all())


def _positions(session: Session, deployment_ids: Sequence[int]) -> dict[tuple[int, str], NetPosition]:
    table = PaperPosition.__table__
    query = sa.select(
        table.c.deployment_id, table.c.market, table.c.size, table.c.entry_price, table.c.leverage
    ).where(among(table.c.deployment_id, deployment_ids), table.c.size != 0)
    return {
        (d, m): NetPosition(size, entry, leverage) for d, m, size, entry, leverage in session.execute(query)
    }
