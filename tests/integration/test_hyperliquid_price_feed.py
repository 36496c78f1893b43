"""HyperliquidPriceFeed through the SDK's Info against the local server, which serves the simulated prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from backend.config import Settings
from backend.prices.factory import build_price_feed
from backend.prices.feed import PriceFeed
from backend.prices.hyperliquid import HyperliquidPriceFeed
from backend.prices.simulated import SimulatedPriceFeed, UnknownMarket
from backend.venues.base import TemporaryVenueError
from tests.hyperliquid_server import HyperliquidServer

SIMULATED = SimulatedPriceFeed(seed=7)  # the server's default seed


@pytest.fixture
def feed(hl_server: HyperliquidServer) -> HyperliquidPriceFeed:
    return HyperliquidPriceFeed(hl_server.url, timeout=2)


def _hour(hours_ago: int) -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_ago)


def test_factory_picks_the_feed_from_settings(hl_server: HyperliquidServer) -> None:
    assert isinstance(build_price_feed(Settings()), SimulatedPriceFeed)
    live = build_price_feed(Settings(price_feed="hyperliquid", hyperliquid_api=hl_server.url))
    assert isinstance(live, HyperliquidPriceFeed)
    assert (live.name, live.base_url) == ("hyperliquid", hl_server.url)


def test_constructor_does_no_network_io() -> None:
    feed: PriceFeed = HyperliquidPriceFeed("http://127.0.0.1:9", timeout=0.5)  # nothing listens there
    with pytest.raises(TemporaryVenueError):
        feed.mids(datetime.now(UTC))


def test_mids_are_one_all_mids_request(hl_server: HyperliquidServer, feed: HyperliquidPriceFeed) -> None:
    hl_server.set_mid("ETH", Decimal("3000.5"))
    hl_server.delist("WIF")
    now = datetime.now(UTC)
    feed.mids(now)  # the first call also reads meta once
    before = len(hl_server.info_requests())
    mids = feed.mids(now)
    assert mids["ETH"] == Decimal("3000.5") and "WIF" not in mids and "BTC" in mids
    assert feed.mids(now, ["ETH", "sol"]) == {"ETH": Decimal("3000.5"), "sol": mids["SOL"]}
    assert hl_server.info_requests()[before:] == ["allMids", "allMids"]
    with pytest.raises(UnknownMarket):
        feed.mids(now, ["ETH", "NOPE"])


def test_price_now_is_the_mid(hl_server: HyperliquidServer, feed: HyperliquidPriceFeed) -> None:
    hl_server.set_mid("BTC", Decimal("65000"))
    assert feed.price_at("BTC", datetime.now(UTC)) == Decimal("65000")
    assert feed.price_at("BTC", datetime.now(UTC) - timedelta(seconds=30)) == Decimal("65000")


def test_past_prices_are_minute_candle_closes(
    hl_server: HyperliquidServer, feed: HyperliquidPriceFeed
) -> None:
    hl_server.set_mid("SOL", Decimal("1"))  # pinned mids must not leak into history
    at = datetime.now(UTC) - timedelta(hours=2, seconds=17)
    minute = at.replace(second=0, microsecond=0)
    expected = SIMULATED.candles("SOL", minute, 1, timedelta(minutes=1))[0].close
    assert feed.price_at("SOL", at) == expected != Decimal("1")


def test_candles_match_the_simulated_feed(feed: HyperliquidPriceFeed) -> None:
    start = _hour(10)
    candles = feed.candles("ETH", start, 5, timedelta(hours=1))
    assert candles == SIMULATED.candles("ETH", start, 5, timedelta(hours=1))
    assert all(isinstance(c.close, Decimal) and isinstance(c.volume, Decimal) for c in candles)
    # An unaligned start gets the candle that contains it, as Hyperliquid aligns candles.
    assert feed.candles("ETH", start + timedelta(minutes=20), 2, timedelta(hours=1)) == candles[:2]


def test_candles_stop_at_the_present(feed: HyperliquidPriceFeed) -> None:
    candles = feed.candles("BTC", _hour(3), 10, timedelta(hours=1))
    assert [c.start for c in candles] == [_hour(h) for h in (3, 2, 1, 0)]


def test_more_candles_than_one_request_returns(
    hl_server: HyperliquidServer, feed: HyperliquidPriceFeed
) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5200)
    feed.mids(datetime.now(UTC))
    before = len(hl_server.info_requests())
    candles = feed.candles("DOGE", start, 5100, timedelta(minutes=1))
    assert len(candles) == 5100
    assert [c.start for c in candles[4998:5002]] == [start + timedelta(minutes=m) for m in range(4998, 5002)]
    assert hl_server.info_requests()[before:] == ["candleSnapshot", "candleSnapshot"]


def test_unknown_markets_and_intervals(feed: HyperliquidPriceFeed) -> None:
    with pytest.raises(UnknownMarket):
        feed.price_at("NOPE", datetime.now(UTC))
    with pytest.raises(UnknownMarket):
        feed.candles("NOPE", _hour(5), 2, timedelta(hours=1))
    with pytest.raises(ValueError, match="no 0:07:00 candles"):
        feed.candles("BTC", _hour(5), 2, timedelta(minutes=7))
    with pytest.raises(ValueError, match="future"):
        feed.price_at("BTC", datetime.now(UTC) + timedelta(hours=1))


def test_server_trouble_is_temporary(hl_server: HyperliquidServer, feed: HyperliquidPriceFeed) -> None:
    feed.mids(datetime.now(UTC))
    hl_server.fail_next(502)
    with pytest.raises(TemporaryVenueError):
        feed.mids(datetime.now(UTC))
    hl_server.stop()
    with pytest.raises(TemporaryVenueError):
        feed.candles("BTC", _hour(5), 2, timedelta(hours=1))


def test_k_prefixed_perps_are_priced_per_token(
    hl_server: HyperliquidServer, feed: HyperliquidPriceFeed
) -> None:
    hl_server.set_mid("kPEPE", Decimal("0.0105"))
    now = datetime.now(UTC)
    assert feed.mids(now)["PEPE"] == Decimal("0.0000105") and "kPEPE" not in feed.mids(now)
    assert feed.mids(now, ["PEPE"]) == {"PEPE": Decimal("0.0000105")}
    assert feed.price_at("PEPE", now) == Decimal("0.0000105")
    start = _hour(3)
    [candle] = feed.candles("PEPE", start, 1, timedelta(hours=1))
    [simulated] = hl_server.state.feed.candles("PEPE", start, 1, timedelta(hours=1))
    assert candle.close == simulated.close  # the server's kPEPE candle is 1,000 PEPE's; back per token
    hl_server.delist("kPEPE")
    fresh = HyperliquidPriceFeed(hl_server.url, timeout=2)
    assert "PEPE" not in fresh.mids(now)  # not listed for new entries
    assert fresh.mids(now, ["PEPE"]) == {"PEPE": Decimal("0.0000105")}  # still priced while it winds down


def test_an_unknown_market_reads_meta_again_at_most_every_few_minutes(
    hl_server: HyperliquidServer, feed: HyperliquidPriceFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    feed.mids(now)
    with pytest.raises(UnknownMarket):
        feed.mids(now, ["NOPE"])
    assert hl_server.info_requests("meta") == ["meta"]  # read lately: not again
    monkeypatch.setattr("backend.prices.hyperliquid.META_MAX_AGE_S", 0)
    with pytest.raises(UnknownMarket):
        feed.mids(now, ["NOPE"])
    assert hl_server.info_requests("meta") == ["meta", "meta"]  # a listing since? asked once more
    assert feed.mids(now, ["ETH"])["ETH"] > 0  # and the thread's Info follows the new meta
