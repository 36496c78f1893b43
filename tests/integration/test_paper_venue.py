"""The paper venue as an outside venue would behave: fills, fees, margin, books that survive a restart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from backend.models.enums import Side, Venue
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.book import account_balance, apply_fill
from backend.trading.fills import FillModel
from backend.venues.base import (
    DuplicateClientOrderId,
    InsufficientFunds,
    InvalidOrder,
    MarketNotListed,
    OrderRequest,
    VenueAccount,
)
from backend.venues.paper import PaperVenue
from backend.venues.paper_batch import PaperOrder
from tests.venue_support import fill_of, place, reduce

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def venue(engine, clock) -> PaperVenue:
    return PaperVenue(engine, SimulatedPriceFeed(seed=7), slippage_bps=Decimal("10"), clock=clock)


@pytest.fixture
def account(factory) -> VenueAccount:
    deployment = factory.paper_deployment(factory.agent(venue=Venue.HYPERLIQUID), balance=Decimal("10000"))
    return VenueAccount(deployment.id)


def cloid(n: int) -> str:
    return f"0x{n:032x}"


def test_a_long_fills_above_the_mid_by_the_slippage_and_pays_the_taker_fee(venue, account):
    mid = SimulatedPriceFeed(seed=7).price_at("ETH", NOW)
    fill = place(
        venue, account, OrderRequest("ETH", Side.LONG, Decimal("0.5"), cloid(1), leverage=Decimal(5))
    )

    assert fill.price == (mid * Decimal("1.001") / Decimal("0.1")).to_integral_value() * Decimal("0.1")
    assert fill.size == Decimal("0.5")
    assert fill.fee == (fill.price * Decimal("0.5") * Decimal("0.00045")).quantize(Decimal("0.000001"))
    [position] = venue.positions(account)
    assert (position.market, position.side, position.size, position.leverage) == (
        "ETH",
        Side.LONG,
        Decimal("0.5"),
        5,
    )
    balance = venue.balance(account)
    assert balance.equity < Decimal("10000")  # the fee and the spread
    assert balance.available == pytest.approx(
        balance.equity - fill.price * Decimal("0.5") / 5, abs=Decimal("0.01")
    )


def test_closing_realises_the_move_into_cash(venue, account, clock):
    opened = place(venue, account, OrderRequest("BTC", Side.SHORT, Decimal("0.01"), cloid(1)))
    clock.now = LATER
    closed = reduce(venue, account, OrderRequest("BTC", Side.SHORT, Decimal("0.01"), cloid(2)))

    assert venue.positions(account) == []
    pnl = (opened.price - closed.price) * Decimal("0.01")
    balance = venue.balance(account)
    assert balance.equity == balance.available
    assert balance.equity == pytest.approx(
        Decimal("10000") + pnl - opened.fee - closed.fee, abs=Decimal("0.000002")
    )


def test_books_survive_a_restart(engine, venue, account, clock):
    place(venue, account, OrderRequest("SOL", Side.LONG, Decimal("10"), cloid(1)))
    restarted = PaperVenue(engine, SimulatedPriceFeed(seed=7), clock=clock)

    assert restarted.positions(account) == venue.positions(account)
    assert fill_of(restarted, account, cloid(1)) == fill_of(venue, account, cloid(1))
    assert fill_of(restarted, account, cloid(2)) is None


def test_a_client_order_id_fills_once(venue, account):
    place(venue, account, OrderRequest("SOL", Side.LONG, Decimal("10"), cloid(1)))
    with pytest.raises(DuplicateClientOrderId):
        place(venue, account, OrderRequest("SOL", Side.LONG, Decimal("10"), cloid(1)))
    assert venue.positions(account)[0].size == Decimal("10")


def test_orders_beyond_the_margin_are_refused_and_change_nothing(venue, account):
    with pytest.raises(InsufficientFunds, match="insufficient margin"):
        place(venue, account, OrderRequest("BTC", Side.LONG, Decimal("1"), cloid(1)))  # ~$64k at 1x
    assert venue.positions(account) == []
    assert venue.balance(account).equity == Decimal("10000")


@pytest.mark.parametrize(
    ("order", "error", "message"),
    [
        (OrderRequest("SHIB", Side.LONG, Decimal("1"), cloid(1)), MarketNotListed, "SHIB is not listed"),
        (OrderRequest("ETH", Side.LONG, Decimal("0.001"), cloid(1)), InvalidOrder, "below the \\$10 minimum"),
        (OrderRequest("ETH", Side.LONG, Decimal("0.00001"), cloid(1)), InvalidOrder, "rounds to zero"),
    ],
)
def test_bad_orders_get_a_reason(venue, account, order, error, message):
    with pytest.raises(error, match=message):
        place(venue, account, order)


def test_a_close_without_a_position_is_refused(venue, account):
    with pytest.raises(InvalidOrder, match="no position to reduce"):
        reduce(venue, account, OrderRequest("ETH", Side.LONG, Decimal("1"), cloid(1)))


def test_a_batch_fills_as_one_order_at_a_time_would_and_refuses_with_the_same_reasons(venue, factory, clock):
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    one, many, poor = (
        factory.paper_deployment(agent, balance=b).id for b in (Decimal(10000), Decimal(10000), 50)
    )
    order = OrderRequest("ETH", Side.SHORT, Decimal("0.5"), cloid(10), leverage=Decimal(2))
    alone = place(venue, VenueAccount(one), order)
    batch = [
        PaperOrder(many, replace(order, client_order_id=cloid(11))),
        PaperOrder(many, OrderRequest("SHIB", Side.LONG, Decimal(1), cloid(12))),
        PaperOrder(many, OrderRequest("BTC", Side.LONG, Decimal("0.00001"), cloid(13))),
        PaperOrder(poor, OrderRequest("ETH", Side.LONG, Decimal("0.5"), cloid(14))),
    ]

    results = venue.open_many(batch)

    filled = results[cloid(11)]
    assert (filled.price, filled.size, filled.fee, filled.side) == (
        alone.price,
        alone.size,
        alone.fee,
        alone.side,
    )
    assert isinstance(results[cloid(12)], MarketNotListed)
    assert isinstance(results[cloid(13)], InvalidOrder)  # $1 of BTC: under the $10 minimum
    assert isinstance(results[cloid(14)], InsufficientFunds)
    assert venue.balances([one, many]) == {
        one: venue.balance(VenueAccount(one)),
        many: venue.balance(VenueAccount(many)),
    }
    assert venue.positions(VenueAccount(many)) == venue.positions(VenueAccount(one))
    assert venue.order_statuses([(many, cloid(11)), (many, cloid(12))]) == {cloid(11): filled}


def test_a_batch_sent_again_finds_its_fills_instead_of_filling_twice(venue, account):
    orders = [PaperOrder(account.deployment_id, OrderRequest("SOL", Side.LONG, Decimal("2"), cloid(20)))]
    first = venue.open_many(orders)
    balance = venue.balance(account)

    again = venue.open_many(orders)

    assert again == first
    assert venue.balance(account) == balance
    assert venue.positions(account)[0].size == Decimal("2")


def test_the_venue_fills_and_books_as_the_core_s_fill_model_and_book_say(engine, account, clock):
    """Given a fill model, the paper venue's prices, fees, net position and cash are the core's: an add, a
    partial close and a flip replayed through `apply_fill` give the same book."""
    model = FillModel(slippage=Decimal("0.002"), taker_fee=Decimal("0.001"))
    feed = SimulatedPriceFeed(seed=7)
    venue = PaperVenue(engine, feed, fills=model, clock=clock)
    rules = venue.markets()["SOL"]
    orders = [(Side.LONG, "2"), (Side.LONG, "1"), (Side.SHORT, "1"), (Side.SHORT, "4")]
    held, cash = None, Decimal("10000")
    for n, (side, size) in enumerate(orders, 1):
        clock.now = NOW + timedelta(hours=n)
        fill = place(venue, account, OrderRequest("SOL", side, Decimal(size), cloid(n), leverage=Decimal(2)))
        is_buy = side == Side.LONG
        assert fill.price == model.price(feed.price_at("SOL", clock.now), is_buy=is_buy, rules=rules)
        assert fill.fee == model.fee(fill.size, fill.price)
        effect = apply_fill(held, is_buy=is_buy, size=fill.size, price=fill.price, leverage=Decimal(2))
        held, cash = effect.position, cash - fill.fee + effect.realized

    [position] = venue.positions(account)
    assert (position.side, position.size, position.entry_price) == (Side.SHORT, Decimal(2), held.entry_price)
    mids = venue.mids()
    assert venue.balance(account) == account_balance(cash, [("SOL", held)], mids)
