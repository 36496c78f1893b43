"""The simulated universe: forty markets at plausible levels, a feed that stays near them at any date."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.prices.markets import MARKETS, MarketSpec, tick_for
from backend.prices.simulated import EPOCH, HALF_LIFE_DAYS, SimulatedPriceFeed, stationary_spread

UNIVERSE = {
    "BTC": "Bitcoin", "ETH": "Ethereum", "SOL": "Solana", "HYPE": "Hyperliquid", "XRP": "XRP", "BNB": "BNB",
    "DOGE": "Dogecoin", "ADA": "Cardano", "AVAX": "Avalanche", "LINK": "Chainlink", "SUI": "Sui",
    "DOT": "Polkadot", "LTC": "Litecoin", "NEAR": "NEAR Protocol", "APT": "Aptos", "ARB": "Arbitrum",
    "OP": "Optimism", "INJ": "Injective", "TIA": "Celestia", "SEI": "Sei", "AAVE": "Aave", "UNI": "Uniswap",
    "MKR": "Maker", "LDO": "Lido DAO", "ENA": "Ethena", "JUP": "Jupiter", "RENDER": "Render",
    "TAO": "Bittensor", "WLD": "Worldcoin", "ONDO": "Ondo", "FET": "Fetch.ai", "GMX": "GMX",
    "PENDLE": "Pendle", "ATOM": "Cosmos", "PEPE": "Pepe", "BONK": "Bonk", "WIF": "dogwifhat",
    "FARTCOIN": "Fartcoin", "TRUMP": "Official Trump", "POPCAT": "Popcat",
}  # fmt: skip
MEMES = {"PEPE", "BONK", "WIF", "FARTCOIN", "TRUMP", "POPCAT"}
END = date(2028, 1, 1)


def test_the_universe_is_the_forty_agreed_tokens_with_their_names():
    assert {s: m.name for s, m in MARKETS.items()} == UNIVERSE


@pytest.mark.parametrize("spec", MARKETS.values(), ids=lambda m: m.symbol)
def test_each_market_has_plausible_rules(spec):
    # Five significant figures at its level, like a Hyperliquid price.
    assert spec.tick_size == tick_for(spec.start_price)
    assert D(10000) <= spec.start_price / spec.tick_size < D(100000)
    assert 0 <= spec.size_decimals <= 5 and 3 <= spec.max_leverage <= 50
    if spec.symbol in MEMES:
        assert 1.2 <= spec.annual_volatility <= 1.6 and spec.size_decimals <= 1 and spec.max_leverage <= 10
    else:
        assert 0.5 <= spec.annual_volatility <= 1.0


def test_levels_are_late_2025_ish():
    levels = {s: MARKETS[s].start_price for s in ("BTC", "ETH", "SOL", "HYPE", "PEPE", "BONK")}
    assert D(80000) <= levels["BTC"] <= D(110000) and D(2500) <= levels["ETH"] <= D(4000)
    assert D(100) <= levels["SOL"] <= D(200) and D(20) <= levels["HYPE"] <= D(45)
    assert D("0.000003") <= levels["PEPE"] <= D("0.00001") and D("0.000008") <= levels["BONK"] <= D("0.00003")
    assert (MARKETS["BTC"].size_decimals, MARKETS["BTC"].max_leverage) == (5, 40)
    assert (MARKETS["ETH"].size_decimals, MARKETS["ETH"].max_leverage) == (4, 25)
    assert (MARKETS["SOL"].size_decimals, MARKETS["SOL"].max_leverage) == (2, 20)


def test_tick_for_writes_five_significant_figures():
    assert tick_for(D("90000")) == D("1") and tick_for(D("3100")) == D("0.1")
    assert tick_for(D("0.0000045")) == D("1E-10") and tick_for(D("0.00001")) == D("1E-9")


@given(seed=st.integers(0, 10_000), minutes=st.integers(0, (END - EPOCH).days * 1440 - 1))
def test_any_instant_is_deterministic_per_seed(seed, minutes):
    at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    market = list(MARKETS)[minutes % len(MARKETS)]
    price = SimulatedPriceFeed(seed=seed).price_at(market, at)
    assert price == SimulatedPriceFeed(seed=seed).price_at(market, at) > 0
    assert price == price.quantize(MARKETS[market].tick_size)


@pytest.mark.parametrize("seed", [7, 1, 42])
def test_every_market_stays_near_its_level_from_2024_to_2027(seed):
    """Mean reversion: sampled every 61 days over four years, each market within five spreads of its level,
    and the majors within roughly +-60% (where a plain random walk from 2024 wanders off by 2x and more)."""
    feed = SimulatedPriceFeed(seed=seed)
    for symbol, spec in MARKETS.items():
        bound = 5 * stationary_spread(spec.annual_volatility)
        at = datetime(2024, 1, 1, 12, tzinfo=UTC)
        while at.date() < END:
            deviation = math.log(feed.price_at(symbol, at) / spec.start_price)
            assert abs(deviation) <= bound, (symbol, at)
            if symbol in ("BTC", "ETH", "BNB"):
                assert -0.75 <= deviation <= 0.6, (symbol, at)
            at += timedelta(days=61)


def test_a_month_still_trends_and_a_year_forgets_the_start():
    """The half-life is months: day-to-day the walk is nearly free; a year on, its spread has settled."""
    assert 30 <= HALF_LIFE_DAYS <= 90
    feed = SimulatedPriceFeed(seed=7)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    moves = [
        abs(math.log(feed.price_at(s, start + timedelta(days=30)) / feed.price_at(s, start))) for s in MARKETS
    ]
    assert sum(moves) / len(moves) > 0.05, "a 30-day chart moves"


@pytest.mark.parametrize("market", ["BTC", "SOL", "WIF"])
def test_minutes_are_lively_and_hours_keep_the_annual_volatility(market):
    """The jitter makes a few minutes move well over twice the walk alone (the demo's exits fire within
    minutes) but does not accumulate: hourly and daily moves stay near the market's annual volatility."""
    feed = SimulatedPriceFeed(seed=7)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    logs = [math.log(feed.price_at(market, start + timedelta(minutes=i))) for i in range(4 * 1440 + 1)]
    per_minute = MARKETS[market].annual_volatility / math.sqrt(365 * 1440)

    def spread(lag: int) -> float:
        moves = [logs[i + lag] - logs[i] for i in range(0, len(logs) - lag, lag)]
        return math.sqrt(sum(m * m for m in moves) / len(moves)) / (per_minute * math.sqrt(lag))

    assert spread(5) > 2
    assert 0.8 < spread(60) < 1.6


@pytest.mark.parametrize("market", ["BTC", "PEPE", "FARTCOIN"])
def test_candles_agree_with_the_path(market):
    feed = SimulatedPriceFeed(seed=11)
    start, step = datetime(2027, 6, 30, 23, 0, tzinfo=UTC), timedelta(minutes=30)
    candles = feed.candles(market, start, 4, step)
    path = feed.path(market, start, start + 4 * step, timedelta(minutes=1))
    for i, candle in enumerate(candles):
        window = [price for _, price in path[i * 30 : i * 30 + 31]]
        assert (candle.open, candle.high, candle.low, candle.close) == (
            window[0],
            max(window),
            min(window),
            window[-1],
        )
        assert candle.volume > 0
    assert [c[1:] for c in feed.ohlc(market, start, 4, step)] == [
        (c.open, c.high, c.low, c.close) for c in candles
    ]


def test_mids_name_every_market():
    mids = SimulatedPriceFeed(seed=7).mids(datetime(2026, 12, 1, tzinfo=UTC))
    assert set(mids) == set(MARKETS) and all(p > 0 for p in mids.values())


def test_a_tick_that_is_not_a_power_of_ten_is_written_to_its_places():
    spec = MarketSpec("HALF", "Half", D("101"), 0.8, D("0.5"), 1, 10)
    feed = SimulatedPriceFeed(seed=7, markets={"HALF": spec})
    at = datetime(2026, 2, 3, 4, 5, tzinfo=UTC)
    bars = feed.ohlc("HALF", at, 24, timedelta(hours=1))
    assert all(price == price.quantize(D("0.1")) for bar in bars for price in bar[1:])
    assert all(bar[3] <= bar[1] <= bar[2] for bar in bars)
    assert feed.price_at("HALF", at) == bars[0][1]
