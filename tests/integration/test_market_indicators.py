"""Indicators per token and 6-hour bucket, stored on SQLite and PostgreSQL from the simulated feed."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from backend.models import MarketIndicators6h
from backend.prices.simulated import SimulatedPriceFeed
from backend.signals.indicators import MIN_CANDLES_FOR_ALL, compute_indicators
from backend.signals.market import (
    CANDLE_COUNT,
    CANDLE_INTERVAL,
    SIX_HOURS,
    bucket_start,
    indicators_at,
    refresh_indicators,
)

FEED = SimulatedPriceFeed(seed=7)
DAY = datetime(2025, 3, 10, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def rows(session: Session) -> list[MarketIndicators6h]:
    session.expire_all()
    return list(session.exec(select(MarketIndicators6h).order_by(MarketIndicators6h.bucket_start)))


def figures(row_or_indicators) -> dict:
    names = ("price", "rsi", "macd", "macd_signal", "bollinger_position", "volume", "volume_ratio")
    names += ("moving_average_trend", "momentum", "volatility", "as_of")
    values = {name: getattr(row_or_indicators, name) for name in names}
    # SQLite keeps NUMERIC as a double: a volume of 2.5e10 read back at 10 places shows float noise
    # (…140.7099990845). The feed's volumes have 2 places, so compare them at 2.
    values["volume"] = values["volume"].quantize(Decimal("0.01"))
    return values


# -- buckets and candles (no database) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(0), at(0)),
        (at(5, 59), at(0)),
        (at(6), at(6)),
        (at(17, 30), at(12)),
        (at(23, 59), at(18)),
        (datetime(2025, 3, 10, 7, 30, tzinfo=timezone(timedelta(hours=2))), at(0)),  # 05:30 UTC
    ],
)
def test_bucket_start_is_the_six_hour_utc_bucket(when, expected) -> None:
    assert bucket_start(when) == expected
    assert bucket_start(when) + SIX_HOURS > when


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        bucket_start(datetime(2025, 3, 10, 12))


def test_enough_candles_for_every_indicator() -> None:
    assert CANDLE_COUNT >= MIN_CANDLES_FOR_ALL
    assert timedelta(hours=1) == CANDLE_INTERVAL


# -- stored rows, on both databases -------------------------------------------------------------------


def test_uses_only_candles_closed_by_then_and_writes_the_bucket_row(session) -> None:
    ind = indicators_at(session, FEED, "btc", at(14, 37))
    session.commit()

    assert ind.token == "BTC"
    assert ind.as_of == at(14)
    assert ind.price == FEED.price_at("BTC", at(14))  # the close of the 13:00 candle
    expected = compute_indicators(
        "BTC", FEED.candles("BTC", at(14) - 60 * CANDLE_INTERVAL, 60, CANDLE_INTERVAL)
    )
    assert ind == expected
    assert None not in asdict(ind).values()
    # Minutes inside the hour change nothing: the 14:00 candle has not closed yet.
    assert indicators_at(session, FEED, "BTC", at(14, 59)) == ind
    assert indicators_at(session, FEED, "BTC", at(15)).as_of == at(15)

    (row,) = rows(session)
    assert (row.token, row.bucket_start) == ("BTC", at(12))
    assert figures(row) == figures(indicators_at(session, FEED, "BTC", at(15)))


def test_one_row_per_token_and_bucket(session) -> None:
    indicators_at(session, FEED, "BTC", at(14, 37))
    indicators_at(session, FEED, "BTC", at(19, 10))
    indicators_at(session, FEED, "ETH", at(19, 10))
    session.commit()
    assert [(r.token, r.bucket_start, r.as_of) for r in rows(session)] == [
        ("BTC", at(12), at(14)),
        ("BTC", at(18), at(19)),
        ("ETH", at(18), at(19)),
    ]


def test_later_figures_replace_earlier_ones_but_not_the_reverse(session) -> None:
    indicators_at(session, FEED, "SOL", at(13, 5))
    newest = indicators_at(session, FEED, "SOL", at(17, 59))
    session.commit()
    (row,) = rows(session)
    assert figures(row) == figures(newest)

    # A sweep re-scoring an older post gets its own figures back but leaves the newer row alone.
    older = indicators_at(session, FEED, "SOL", at(13, 5))
    session.commit()
    assert older.as_of == at(13)
    (row,) = rows(session)
    assert figures(row) == figures(newest)


def test_indicators_at_flushes_but_leaves_the_commit_to_the_caller(session) -> None:
    indicators_at(session, FEED, "ETH", at(9))
    assert len(rows(session)) == 1
    session.rollback()
    assert rows(session) == []


def test_refresh_writes_known_markets_and_skips_unknown_ones(session, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="backend.signals.market"):
        written = refresh_indicators(session, FEED, ["btc", "ETH", "NOPE", "BTC"], at(20, 15))
    assert written == 2
    assert "NOPE" in caplog.text

    with Session(session.get_bind()) as other:  # committed: another session sees the rows
        stored = other.exec(select(MarketIndicators6h.token, MarketIndicators6h.as_of)).all()
    assert sorted(stored) == [("BTC", at(20)), ("ETH", at(20))]

    assert refresh_indicators(session, FEED, ["BTC", "ETH"], at(20, 45)) == 0  # same figures
    assert refresh_indicators(session, FEED, ["BTC"], at(21, 0)) == 1  # a later hour replaces them
    assert {r.token: r.as_of for r in rows(session)} == {"BTC": at(21), "ETH": at(20)}


def test_bad_tokens_are_refused_and_nothing_is_stored(session) -> None:
    for bad in ("", "  ", "X" * 17):
        with pytest.raises(ValueError, match="token"):
            indicators_at(session, FEED, bad, at(12))
    with pytest.raises(ValueError, match="naive"):
        indicators_at(session, FEED, "BTC", datetime(2025, 3, 10, 12))
    assert rows(session) == []


# -- two workers on PostgreSQL ------------------------------------------------------------------------


def _wait_until_blocked(engine: sa.Engine, timeout: float = 10.0) -> bool:
    """Whether some other backend of this database is waiting on a row or index lock."""
    deadline = time.monotonic() + timeout
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            blocked = conn.execute(query).scalar_one()
            conn.rollback()  # pg_stat_activity is a snapshot per transaction: take a fresh one each time
            if blocked:
                return True
            time.sleep(0.02)
    return False


@pytest.mark.parametrize("first_hour", [13, 17], ids=["older-commits-first", "newer-commits-first"])
def test_racing_workers_leave_one_row_with_the_newest_figures(session, engine, first_hour) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: there is no concurrent insert to race")
    second_hour = 30 - first_hour  # 17 or 13
    newest = indicators_at(session, FEED, "HYPE", at(17, 30))  # also warms the feed's caches
    session.rollback()

    holding = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def worker(hour: int, hold: bool) -> None:
        try:
            with Session(engine) as s:
                indicators_at(s, FEED, "HYPE", at(hour, 30))
                if hold:  # keep the transaction open so the other worker's insert must wait on it
                    holding.set()
                    release.wait(10)
                s.commit()
        except BaseException as e:  # surfaced in the main thread
            errors.append(e)
            holding.set()

    first = threading.Thread(target=worker, args=(first_hour, True))
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=worker, args=(second_hour, False))
    second.start()
    try:
        blocked = _wait_until_blocked(engine)
    finally:
        release.set()
        first.join(10)
        second.join(10)

    assert errors == []
    assert blocked, "the second worker never waited on the first one's insert"
    (row,) = rows(session)
    assert (row.token, row.bucket_start) == ("HYPE", at(12))
    assert figures(row) == figures(newest)
