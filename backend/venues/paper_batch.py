"""The paper venue for many accounts at once: one signal's orders for a chunk of deployments, one transaction.

The executor's batch path asks here instead of calling `PaperVenue.open` once per deployment: balances in
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
from sqlmodel import Session, col, select

from backend.models import PaperAccount, PaperFill, PaperPosition
from backend.trading.book import NetPosition, account_balance, apply_fill
from backend.trading.fills import FillModel
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
    session: Session, deployment_ids: Sequence[int], mids: dict[str, Decimal]
) -> dict[int, Balance | VenueError]:
    """Each account's balance, as `PaperVenue.balance` gives it, from two queries for the whole chunk."""
    books = _books(session, deployment_ids, lock=False)
    held: dict[int, list[tuple[str, NetPosition]]] = {}
    for (deployment_id, market), position in _positions(session, deployment_ids, lock=False).items():
        held.setdefault(deployment_id, []).append((market, position))
    result: dict[int, Balance | VenueError] = {}
    for deployment_id in deployment_ids:
        book = books.get(deployment_id)
        if book is None:
            result[deployment_id] = InvalidOrder(f"deployment {deployment_id} has no paper account")
            continue
        result[deployment_id] = account_balance(book.cash, held.get(deployment_id, []), mids)
    return result


def found_fills(session: Session, orders: Iterable[tuple[int, str]]) -> dict[str, Fill]:
    """The fills already made for these (deployment, client order id) pairs, by client order id."""
    from backend.venues.paper import _to_fill

    pairs = list(orders)
    if not pairs:
        return {}
    rows = session.exec(
        select(PaperFill).where(
            col(PaperFill.deployment_id).in_({d for d, _ in pairs}),
            col(PaperFill.client_order_id).in_({c for _, c in pairs}),
        )
    ).all()
    wanted = set(pairs)
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
                return _fill_all(session, orders, markets, model, mid_at, now)
        except IntegrityError:  # a racing run filled one of these ids first: the next pass finds it
            if attempt == MAX_PASSES - 1:
                raise
    raise AssertionError("unreachable")


def _fill_all(
    session: Session,
    orders: Sequence[PaperOrder],
    markets: dict[str, MarketRules],
    model: FillModel,
    mid_at: MidAt,
    now: datetime,
) -> dict[str, Result]:
    ids = sorted({o.deployment_id for o in orders})
    books = _books(session, ids, lock=True)  # taken first, so the check below sees any racing run's fills
    rows = _position_rows(session, ids)
    found = found_fills(session, [(o.deployment_id, o.order.client_order_id) for o in orders])
    markets_held = {market for _, market in rows} | {o.order.market for o in orders}
    mids = {market: mid_at(market, now) for market in markets_held if market in markets}
    results: dict[str, Result] = {}
    fills: list[dict] = []
    for item in orders:
        cloid = item.order.client_order_id
        if cloid in found:
            results[cloid] = found[cloid]
            continue
        try:
            fills.append(_fill_one(session, item, books, rows, markets, mids, model, now))
        except VenueError as error:
            results[cloid] = error
    if fills:
        # One batched insert; the unique client order ids are checked here. The ids are read back with the
        # fills (the venue order id is the fill's id) rather than by RETURNING: see db.insert_many_or_ignore.
        session.execute(sa.insert(PaperFill.__table__), fills)
        session.flush()
        results.update(found_fills(session, [(f["deployment_id"], f["client_order_id"]) for f in fills]))
    return results


def _fill_one(
    session: Session,
    item: PaperOrder,
    books: dict[int, PaperAccount],
    rows: dict[tuple[int, str], PaperPosition],
    markets: dict[str, MarketRules],
    mids: dict[str, Decimal],
    model: FillModel,
    now: datetime,
) -> dict:
    """One open order against its account's book, changing the book and the position rows in place;
    the fill's row to insert."""
    order, deployment_id = item.order, item.deployment_id
    rules = markets.get(order.market)
    if rules is None:
        raise MarketNotListed(f"{order.market} is not listed on the paper venue")
    book = books.get(deployment_id)
    if book is None:
        raise InvalidOrder(f"deployment {deployment_id} has no paper account")
    if order.reduce_only:
        raise InvalidOrder("open orders cannot be reduce-only")
    size = rules.round_size(order.size)
    if size <= 0:
        raise InvalidOrder(f"size {order.size} rounds to zero at {rules.size_decimals} decimals")
    is_buy = order.side.value == "long"
    price = model.price(mids[order.market], is_buy=is_buy, rules=rules)
    notional = size * price
    if notional < rules.min_notional:
        raise InvalidOrder(f"order value ${notional:.2f} is below the ${rules.min_notional} minimum")
    fee = model.fee(size, price)
    leverage = min(order.leverage, rules.max_leverage)
    own = [(m, _net(p)) for m, p in _held(rows, deployment_id, mids)]
    available = account_balance(book.cash, own, mids).available
    needed = notional / leverage + fee
    if needed > available:
        raise InsufficientFunds(f"insufficient margin: ${needed:.2f} needed, ${available:.2f} available")
    row = rows.get((deployment_id, order.market))
    effect = apply_fill(
        _net(row) if row is not None and row.size != 0 else None,
        is_buy=is_buy,
        size=size,
        price=price,
        leverage=leverage,
    )
    book.cash = book.cash - fee + effect.realized
    book.updated_at = now
    _write_position(session, rows, row, (deployment_id, order.market), effect.position, now)
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
        "created_at": now,
    }


def _write_position(
    session: Session,
    rows: dict[tuple[int, str], PaperPosition],
    row: PaperPosition | None,
    key: tuple[int, str],
    position: NetPosition | None,
    now: datetime,
) -> None:
    """Keep the account's row for the market in step with the core's net position; flat means no row."""
    if position is None:
        if row is not None:
            session.delete(row)
            del rows[key]
        return
    if row is None:
        row = PaperPosition(deployment_id=key[0], market=key[1], size=0, entry_price=position.entry_price)
        session.add(row)
        rows[key] = row
    row.size, row.entry_price, row.leverage = position.size, position.entry_price, position.leverage
    row.updated_at = now


def _held(
    rows: dict[tuple[int, str], PaperPosition], deployment_id: int, mids: dict[str, Decimal]
) -> list[tuple[str, PaperPosition]]:
    """The account's open rows; the markets are the ones priced for this batch (at most a few per account)."""
    found = ((market, rows.get((deployment_id, market))) for market in mids)
    return [(market, row) for market, row in found if row is not None and row.size != 0]


def _net(row: PaperPosition) -> NetPosition:
    return NetPosition(row.size, row.entry_price, row.leverage)


def _books(session: Session, deployment_ids: Sequence[int], *, lock: bool) -> dict[int, PaperAccount]:
    query = (
        select(PaperAccount)
        .where(col(PaperAccount.deployment_id).in_(deployment_ids))
        .order_by(PaperAccount.deployment_id)
    )
    if lock:
        query = query.with_for_update()
    return {book.deployment_id: book for book in session.exec(query)}


def _positions(
    session: Session, deployment_ids: Sequence[int], *, lock: bool
) -> dict[tuple[int, str], NetPosition]:
    query = select(PaperPosition).where(
        col(PaperPosition.deployment_id).in_(deployment_ids), PaperPosition.size != 0
    )
    if lock:
        query = query.with_for_update()
    return {(p.deployment_id, p.market): _net(p) for p in session.exec(query)}


def _position_rows(session: Session, deployment_ids: Sequence[int]) -> dict[tuple[int, str], PaperPosition]:
    query = select(PaperPosition).where(col(PaperPosition.deployment_id).in_(deployment_ids))
    return {(p.deployment_id, p.market): p for p in session.exec(query)}
