"""The paper venue: fills at the price feed with slippage and a taker fee, books kept in the database.

It behaves like an outside venue on purpose. Each order is its own transaction on its own connection, the
client order id is unique per account, and `status` answers from the fills, so the executor's
crash-and-retry path is the same for paper and Hyperliquid. The fan-out's batch (`open_many`, see
paper_batch) fills many accounts' orders in one transaction, each still its own fill and client order id.
Perp-style books: cash pays fees and receives realised PnL; open positions hold margin (notional / leverage)
out of what is available.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.models import PaperAccount, PaperFill, PaperPosition
from backend.models.common import utcnow
from backend.models.enums import ExecutionVenue, Side
from backend.prices.feed import PriceFeed
from backend.prices.markets import MARKETS
from backend.trading.book import NetPosition, account_balance, apply_fill
from backend.trading.fills import FillModel
from backend.venues import paper_batch
from backend.venues.base import (
    Balance,
    DuplicateClientOrderId,
    Fill,
    InsufficientFunds,
    InvalidOrder,
    Listing,
    MarketNotListed,
    MarketRules,
    OrderRequest,
    OrderState,
    OrderStatus,
    Submitted,
    VenueAccount,
    VenueError,
    VenuePosition,
)
from backend.venues.capabilities import PAPER

logger = logging.getLogger(__name__)

MIN_NOTIONAL = Decimal("10")


def paper_markets() -> dict[str, MarketRules]:
    return {
        spec.symbol: MarketRules(
            market=spec.symbol,
            size_decimals=spec.size_decimals,
            tick_size=spec.tick_size,
            min_notional=MIN_NOTIONAL,
            max_leverage=Decimal(spec.max_leverage),
            min_size=Decimal(1).scaleb(-spec.size_decimals),
        )
        for spec in MARKETS.values()
    }


def open_paper_account(session: Session, deployment_id: int, starting_balance: Decimal) -> PaperAccount:
    """The paper book of a new deployment, written in the caller's transaction with the deployment."""
    account = PaperAccount(
        deployment_id=deployment_id, starting_balance=starting_balance, cash=starting_balance
    )
    session.add(account)
    return account


class PaperVenue:
    venue = ExecutionVenue.PAPER
    capabilities = PAPER

    def __init__(
        self,
        engine: Engine,
        feed: PriceFeed,
        *,
        fills: FillModel | None = None,
        slippage_bps: Decimal = Decimal("5"),
        taker_fee_bps: Decimal = Decimal("4.5"),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`fills` is the core's fill model; without one it is built from the bps settings."""
        self._engine = engine
        self._feed = feed
        self._fills = fills or FillModel.from_bps(slippage_bps, taker_fee_bps)
        self._clock = clock
        self._markets = paper_markets()

    @property
    def fill_model(self) -> FillModel:
        """How this venue fills: replays of its trades ask the same model."""
        return self._fills

    def markets(self) -> dict[str, MarketRules]:
        return dict(self._markets)

    def listings(self) -> list[Listing]:
        """The simulated markets, each under its own symbol, one token per contract; never delisted."""
        return [
            Listing(symbol=symbol, venue_market=symbol, name=MARKETS[symbol].name, rules=rules)
            for symbol, rules in self._markets.items()
        ]

    def mids(self, markets: Sequence[str] | None = None) -> dict[str, Decimal]:
        """Every market's mid, or only those of `markets` (the batch path prices just what it trades)."""
        wanted = list(self._markets) if markets is None else [m for m in markets if m in self._markets]
        return self._feed.mids(self._clock(), wanted)

    def balance(self, account: VenueAccount) -> Balance:
        with Session(self._engine, expire_on_commit=False) as session:
            book = self._book(session, account.deployment_id)
            positions = self._positions(session, account.deployment_id)
        mids = self.mids() if positions else {}
        return account_balance(book.cash, _held(positions), mids)

    def positions(self, account: VenueAccount) -> list[VenuePosition]:
        with Session(self._engine, expire_on_commit=False) as session:
            rows = self._positions(session, account.deployment_id)
        mids = self.mids() if rows else {}
        return [
            VenuePosition(
                market=p.market,
                side=Side.LONG if p.size > 0 else Side.SHORT,
                size=abs(p.size),
                entry_price=p.entry_price,
                leverage=p.leverage,
                unrealized_pnl=_net(p).unrealized(mids[p.market]),
            )
            for p in rows
        ]

    def status(
        self, account: VenueAccount, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderStatus:
        """FILLED with its fill, or UNKNOWN: a paper order fills in the transaction booking it, or never."""
        fill = self._found(account, client_order_id)
        if fill is None:
            return OrderStatus(OrderState.UNKNOWN)
        return OrderStatus(OrderState.FILLED, fill=fill, venue_order_id=fill.venue_order_id)

    def _found(self, account: VenueAccount, client_order_id: str) -> Fill | None:
        with Session(self._engine, expire_on_commit=False) as session:
            fill = session.exec(
                select(PaperFill).where(
                    PaperFill.deployment_id == account.deployment_id,
                    PaperFill.client_order_id == client_order_id,
                )
            ).first()
        return None if fill is None else _to_fill(fill)

    def closing_fill(self, account: VenueAccount, market: str, side: Side) -> Fill | None:
        """The latest fill that reduced a `side` position in `market` (a close placed outside our rows).

        Fills say nothing of the position they met, so the market's fills are replayed in order.
        """
        query = select(PaperFill).where(
            PaperFill.deployment_id == account.deployment_id, PaperFill.market == market
        )
        with Session(self._engine, expire_on_commit=False) as session:
            fills = list(session.exec(query.order_by(sa.text("id"))))
        held, last = Decimal(0), None
        for fill in fills:
            if held != 0 and (held > 0) == (side == Side.LONG) and fill.is_buy == (held < 0):
                last = fill
            held += fill.size if fill.is_buy else -fill.size
        return None if last is None else replace(_to_fill(last), side=side)

    def submit(self, account: VenueAccount, order: OrderRequest) -> Submitted:
        """An entry, or with `reduce_only` a close of the `order.side` position; filled at once."""
        fill = self._execute(account, order, is_buy=(order.side == Side.LONG) != order.reduce_only)
        return Submitted(fill.venue_order_id, fill)

    # The batch path: one signal's orders for many accounts (see paper_batch); the executor's fan-out uses it.
    def balances(self, deployment_ids: Sequence[int]) -> dict[int, Balance | VenueError]:
        """Every account's balance from two queries; a VenueError for an account the venue lacks."""
        with Session(self._engine, expire_on_commit=False) as session:
            return paper_batch.balances(session, deployment_ids, self.mids)

    def order_statuses(self, orders: Sequence[tuple[int, str]]) -> dict[str, Fill]:
        """`status` for many (deployment, client order id) pairs at once: the ones that filled."""
        with Session(self._engine, expire_on_commit=False) as session:
            return paper_batch.found_fills(session, orders)

    def open_many(self, orders: Sequence[paper_batch.PaperOrder]) -> dict[str, Fill | VenueError]:
        """Many accounts' open orders in one transaction; per client order id, its fill or its refusal."""
        results = paper_batch.open_many(
            self._engine,
            orders,
            markets=self._markets,
            model=self._fills,
            mid_at=self._feed.price_at,
            now=self._clock(),
        )
        filled = sum(isinstance(r, Fill) for r in results.values())
        logger.info("paper batch: %d orders, %d filled", len(orders), filled)
        return results

    def _execute(self, account: VenueAccount, order: OrderRequest, *, is_buy: bool) -> Fill:
        rules = self._markets.get(order.market)
        if rules is None:
            raise MarketNotListed(f"{order.market} is not listed on the paper venue")
        size = rules.round_size(order.size)
        if size <= 0:
            raise InvalidOrder(f"size {order.size} rounds to zero at {rules.size_decimals} decimals")
        now = self._clock()
        mid = self._feed.price_at(order.market, now)
        price = self._fills.price(mid, is_buy=is_buy, rules=rules)
        try:
            with Session(self._engine, expire_on_commit=False) as session, session.begin():
                fill = self._book_fill(session, account.deployment_id, order, rules, size, price, is_buy, now)
        except IntegrityError as error:
            if self._found(account, order.client_order_id) is not None:
                message = f"client order id {order.client_order_id} was used already"
                raise DuplicateClientOrderId(message) from error
            raise
        logger.info(
            "paper fill deployment=%s %s %s %s @ %s",
            account.deployment_id,
            order.market,
            order.side,
            size,
            price,
        )
        return _to_fill(fill)

    def _book_fill(
        self,
        session: Session,
        deployment_id: int,
        order: OrderRequest,
        rules: MarketRules,
        size: Decimal,
        price: Decimal,
        is_buy: bool,
        now: datetime,
    ) -> PaperFill:
        book = self._book(session, deployment_id, lock=True)
        position = session.get(PaperPosition, (deployment_id, order.market), with_for_update=True)
        held = _net(position) if position is not None and position.size != 0 else None
        if order.reduce_only and (held is None or (held.size > 0) == is_buy or size > abs(held.size)):
            raise InvalidOrder(f"reduce-only order of {size} {order.market} has no position to reduce")
        notional = size * price
        if not order.reduce_only and notional < rules.min_notional:
            raise InvalidOrder(f"order value ${notional:.2f} is below the ${rules.min_notional} minimum")
        fee = self._fills.fee(size, price)
        if order.reduce_only:
            leverage = held.leverage
        else:
            leverage = min(order.leverage, rules.max_leverage)
            needed = NetPosition(size, price, leverage).margin + fee
            self._check_margin(session, book, deployment_id, needed)
        effect = apply_fill(held, is_buy=is_buy, size=size, price=price, leverage=leverage)
        fill = PaperFill(
            deployment_id=deployment_id,
            client_order_id=order.client_order_id,
            market=order.market,
            is_buy=is_buy,
            size=size,
            price=price,
            fee=fee,
            reduce_only=order.reduce_only,
            realized_pnl=effect.realized,
            created_at=now,
        )
        session.add(fill)
        book.cash = book.cash - fee + effect.realized
        book.updated_at = now
        _store(session, position, deployment_id, order.market, effect.position, now)
        session.flush()  # the unique client order id is checked here, inside the transaction
        return fill

    def _check_margin(
        self, session: Session, book: PaperAccount, deployment_id: int, needed: Decimal
    ) -> None:
        available = self._available(session, book, deployment_id)
        if needed > available:
            raise InsufficientFunds(f"insufficient margin: ${needed:.2f} needed, ${available:.2f} available")

    def _available(self, session: Session, book: PaperAccount, deployment_id: int) -> Decimal:
        positions = self._positions(session, deployment_id)
        mids = self._feed.mids(self._clock(), [p.market for p in positions]) if positions else {}
        return account_balance(book.cash, _held(positions), mids).available

    @staticmethod
    def _book(session: Session, deployment_id: int, lock: bool = False) -> PaperAccount:
        book = session.get(PaperAccount, deployment_id, with_for_update=lock)
        if book is None:
            raise InvalidOrder(f"deployment {deployment_id} has no paper account")
        return book

    @staticmethod
    def _positions(session: Session, deployment_id: int) -> list[PaperPosition]:
        query = select(PaperPosition).where(
            PaperPosition.deployment_id == deployment_id, PaperPosition.size != 0
        )
        return list(session.exec(query.order_by(sa.text("market"))))


def _net(position: PaperPosition) -> NetPosition:
    return NetPosition(position.size, position.entry_price, position.leverage)


def _held(positions: list[PaperPosition]) -> list[tuple[str, NetPosition]]:
    return [(p.market, _net(p)) for p in positions]


def _store(
    session: Session,
    row: PaperPosition | None,
    deployment_id: int,
    market: str,
    position: NetPosition | None,
    now: datetime,
) -> None:
    """Write the book's net position after a fill: deleted when flat, created when new."""
    if position is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        row = PaperPosition(
            deployment_id=deployment_id, market=market, size=0, entry_price=position.entry_price
        )
        session.add(row)
    row.size = position.size
    row.entry_price = position.entry_price
    row.leverage = position.leverage
    row.updated_at = now


def _to_fill(fill: PaperFill) -> Fill:
    held_side = Side.LONG if fill.is_buy != fill.reduce_only else Side.SHORT
    return Fill(
        client_order_id=fill.client_order_id,
        market=fill.market,
        side=held_side,
        size=fill.size,
        price=fill.price,
        fee=fill.fee,
        venue_order_id=f"paper-{fill.id}",
        filled_at=fill.created_at,
    )
