"""The monitor's ticks rolled up into stored bars, and the prune that keeps ticks not yet rolled up, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from backend.backtest.tick_bars import roll_up_ticks, ticks_source
from backend.models import MarketTick, PriceCandle
from backend.models.enums import ExecutionVenue
from backend.monitor.cycle import prune_ticks

SOURCE = "hyperliquid"
T = datetime(2026, 10, 1, 3, tzinfo=UTC)
HL, PAPER, OSTIUM = ExecutionVenue.HYPERLIQUID, ExecutionVenue.PAPER, ExecutionVenue.OSTIUM


def _record(session: Session, *ticks: tuple[ExecutionVenue, str, timedelta, str]) -> None:
    for venue, market, after, price in ticks:
        session.add(MarketTick(venue=venue, market=market, at=T + after, price=Decimal(price)))
    session.commit()


def _bars(session: Session) -> list[tuple]:
    c = PriceCandle.__table__.c
    return [
        tuple(row)
        for row in session.execute(
            sa.select(c.market, c.interval_seconds, c.start, c.open, c.high, c.low, c.close, c.volume)
            .where(c.source == ticks_source(SOURCE))
            .order_by(c.market, c.start)
        )
    ]


def _ticks(session: Session) -> list[tuple]:
    rows = session.exec(select(MarketTick).order_by(MarketTick.market, MarketTick.at, MarketTick.id)).all()
    return [(t.venue, t.market, t.at - T) for t in rows]


def _m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


def _bar(market: str, minutes: int, o: str, h: str, low: str, c: str) -> tuple:
    prices = (Decimal(o), Decimal(h), Decimal(low), Decimal(c))
    return (market, 900, T + _m(minutes), *prices, Decimal(0))


def test_settled_bars_are_rolled_up_as_the_ohlc_of_their_ticks(session):
    _record(
        session,
        (HL, "ETH", _m(1), "10"),
        (PAPER, "ETH", _m(5), "12"),
        (OSTIUM, "ETH", _m(7), "99"),  # not the feed's mids: never rolled up
        (HL, "ETH", _m(9), "9.5"),
        (PAPER, "ETH", _m(14), "11"),
        (HL, "ETH", _m(20), "20"),
        (HL, "ETH", _m(31), "30"),  # one cycle's two venues: in the order recorded
        (PAPER, "ETH", _m(31), "31"),
        (PAPER, "BTC", _m(2), "100"),
    )
    # 03:46:59: the 03:30 bar ended, but a cycle that began inside it may not have committed its ticks yet.
    assert roll_up_ticks(session, SOURCE, T + _m(46.98)) == 3
    assert _bars(session) == [
        _bar("BTC", 0, "100", "100", "100", "100"),
        _bar("ETH", 0, "10", "12", "9.5", "11"),
        _bar("ETH", 15, "20", "20", "20", "20"),
    ]
    assert roll_up_ticks(session, SOURCE, T + _m(47)) == 1
    assert _bars(session)[-1] == _bar("ETH", 30, "30", "31", "30", "31")
    assert roll_up_ticks(session, SOURCE, T + _m(47)) == 0  # rolled up already


class Crash(Exception):
    pass


def test_rolling_up_again_or_after_a_crash_gives_the_same_rows(engine, session):
    for market, base in (("BTC", 100), ("ETH", 10), ("SOL", 50)):
        _record(session, *((HL, market, _m(k * 4), str(base + k % 7)) for k in range(30)))
    now = T + timedelta(hours=3)
    assert roll_up_ticks(session, SOURCE, now) == 3 * 8
    expected = _bars(session)
    session.execute(sa.delete(PriceCandle))
    session.commit()

    writes = []

    def crash_on_the_second_market(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO price_candles"):
            writes.append(statement)
            if len(writes) == 2:
                raise Crash

    sa.event.listen(engine, "before_cursor_execute", crash_on_the_second_market)
    try:
        with Session(engine) as crashing, pytest.raises(Crash):
            roll_up_ticks(crashing, SOURCE, now)
    finally:
        sa.event.remove(engine, "before_cursor_execute", crash_on_the_second_market)
    assert {row[0] for row in _bars(session)} == {"BTC"}  # the first market was committed, no more

    assert roll_up_ticks(session, SOURCE, now) == 2 * 8  # carries on where the crash stopped it
    assert _bars(session) == expected
    assert roll_up_ticks(session, SOURCE, now) == 0
    assert _bars(session) == expected


def test_the_prune_keeps_ticks_whose_bars_are_not_rolled_up(session):
    now = T + timedelta(days=10)
    recent = now - T - timedelta(hours=1)
    _record(
        session,
        (HL, "ETH", _m(1), "10"),
        (PAPER, "ETH", _m(20), "11"),
        (OSTIUM, "ETH", _m(5), "99"),  # another venue's: never rolled up, pruned as always
        (PAPER, "BTC", _m(2), "100"),
        (PAPER, "ETH", recent, "12"),
    )
    assert prune_ticks(session, now, rolled_into=SOURCE) == 1  # nothing rolled up yet: only OSTIUM's go
    assert _ticks(session) == [
        (PAPER, "BTC", _m(2)),
        (HL, "ETH", _m(1)),
        (PAPER, "ETH", _m(20)),
        (PAPER, "ETH", recent),
    ]

    roll_up_ticks(session, SOURCE, T + _m(17))  # the 03:00 bars only
    assert prune_ticks(session, now, rolled_into=SOURCE) == 2
    assert _ticks(session) == [(PAPER, "ETH", _m(20)), (PAPER, "ETH", recent)]

    roll_up_ticks(session, SOURCE, now)
    assert prune_ticks(session, now, rolled_into=SOURCE) == 1
    assert _ticks(session) == [(PAPER, "ETH", recent)]  # rolled up too, but younger than a week


def test_without_a_roll_up_the_prune_keeps_a_week(session):
    """The simulated feed's ticks are not rolled up (its past is fixed by the seed): a week is kept."""
    now = T + timedelta(days=10)
    _record(session, (HL, "ETH", _m(1), "10"), (PAPER, "ETH", now - T - timedelta(days=6), "11"))
    assert prune_ticks(session, now) == 1
    assert _ticks(session) == [(PAPER, "ETH", now - T - timedelta(days=6))]
