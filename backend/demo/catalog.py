"""Who and what the demo contains. Plain data; `seed.py` turns it into rows, and a replay into trades.

`tokens` are what the followed accounts talk about; an agent trades every call of the accounts it follows,
as the live generator does. Between them the agents cover the whole simulated universe (`MARKETS`).

Post templates write the token as `${t}` and quote prices as `{t}` (its price at the post's time) or
`{t*1.04}` (a level relative to it); the seed renders them from the price feed (`backend.prices.quotes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from backend.models.enums import SizingProfile, Venue

CREATORS = ("quantfox", "degenalpha", "sigmaseer", "midcurve_mo", "orderflow_ana", "basis_bob")
TRADERS = ("tr_lena", "tr_kofi", "tr_jun", "tr_sara", "tr_max", "tr_ivy", "tr_omar", "tr_zoe")

# handle, display name, followers
CT_ACCOUNTS = (
    ("demo_velvetbid", "Velvet Bid", 712_000),
    ("demo_tapeowl", "Tape Owl", 480_000),
    ("demo_wagmiward", "Wagmi Warden", 220_000),
    ("demo_icevein", "Ice Vein", 250_000),
    ("demo_wavecount", "Wave Counter", 410_000),
    ("demo_pelican", "Chart Pelican", 760_000),
    ("demo_lowlumen", "Low Lumen", 190_000),
    ("demo_memeorbit", "Meme Orbit", 690_000),
    ("demo_fadeclub", "Fade Club", 300_000),
    ("demo_flowheron", "Flow Heron", 95_000),
    ("demo_macromoth", "Macro Moth", 150_000),
    ("demo_altguide", "Alt Guide", 240_000),
)


@dataclass(frozen=True)
class DemoAgent:
    name: str
    creator: str
    venue: Venue
    description: str
    weights: dict[str, int]
    follows: tuple[str, ...]
    tokens: tuple[str, ...]
    # Exits under a percent or two away, so that on the simulated feed's minute path `make run` shows stops,
    # trailing stops and take-profits within minutes (bench/demo_liveliness.py). One shape for every agent,
    # scaled to its markets' volatility: the stop twice the take-profit's distance (most trades win, a few
    # lose more, as with the old platform's 10% stop and 3% trailing activation), the trailing stop arming
    # at 0.7 of the take-profit and trailing 0.3 of it, so an armed trade keeps at least 0.4 of it, more
    # than the paper venue's round-trip costs, and goes on to the take-profit about a third of the time.
    stop_loss: Decimal = Decimal("0.016")
    take_profit: Decimal | None = Decimal("0.008")
    trailing_activation: Decimal = Decimal("0.0055")
    trailing_distance: Decimal = Decimal("0.0025")
    sizing: SizingProfile = SizingProfile.MODERATE
    threshold: Decimal = Decimal("0.55")
    leverage: Decimal = Decimal("1")
    deployments: int = 2
    # How long ago it was published: its reference book and deployments trade from then on.
    published: timedelta = timedelta(days=95)


def _w(
    tweet=0, rsi=0, macd=0, bollinger=0, volume=0, moving_average=0, momentum=0, volatility=0
) -> dict[str, int]:
    return {
        "tweet": tweet,
        "rsi": rsi,
        "macd": macd,
        "bollinger": bollinger,
        "volume": volume,
        "moving_average": moving_average,
        "momentum": momentum,
        "volatility": volatility,
    }


AGENTS = (
    DemoAgent(
        "Velvet Momentum",
        "quantfox",
        Venue.HYPERLIQUID,
        "Rides high-conviction calls from veteran CT traders when momentum and MACD agree.",
        _w(tweet=70, macd=45, momentum=60, volume=25),
        ("demo_velvetbid", "demo_tapeowl"),
        ("BTC", "ETH", "SOL", "XRP", "BNB"),
        stop_loss=Decimal("0.012"),
        take_profit=Decimal("0.006"),
        trailing_activation=Decimal("0.0045"),
        trailing_distance=Decimal("0.002"),
        leverage=Decimal("3"),
        deployments=3,
    ),
    DemoAgent(
        "Mean Reversion Mike",
        "sigmaseer",
        Venue.HYPERLIQUID,
        "Fades stretched moves: RSI and Bollinger extremes, confirmed by a contrarian CT voice.",
        _w(tweet=30, rsi=80, bollinger=75, volatility=20),
        ("demo_fadeclub", "demo_icevein"),
        ("BTC", "ETH", "LTC", "DOT", "ADA", "ATOM"),
        stop_loss=Decimal("0.012"),
        take_profit=Decimal("0.006"),
        trailing_activation=Decimal("0.0045"),
        trailing_distance=Decimal("0.002"),
        sizing=SizingProfile.CONSERVATIVE,
        leverage=Decimal("2"),
    ),
    DemoAgent(
        "Meme Orbit Scout",
        "degenalpha",
        Venue.SPOT,
        "Spot-only memecoin rotations from the loudest Solana callers. High variance by design.",
        _w(tweet=90, volume=60, momentum=40),
        ("demo_memeorbit", "demo_wagmiward"),
        ("SOL", "WIF", "DOGE", "PEPE", "BONK", "POPCAT", "FARTCOIN", "TRUMP"),
        stop_loss=Decimal("0.024"),
        take_profit=Decimal("0.012"),
        trailing_activation=Decimal("0.0085"),
        trailing_distance=Decimal("0.0035"),
        sizing=SizingProfile.AGGRESSIVE,
        deployments=3,
    ),
    DemoAgent(
        "Trend Follower Pro",
        "orderflow_ana",
        Venue.MULTI,
        "Moving-average trend filter with CT confirmation; routed to the venue with the best market.",
        _w(tweet=40, moving_average=85, macd=50, momentum=45),
        ("demo_pelican", "demo_wavecount"),
        ("BTC", "ETH", "SOL", "LINK", "AAVE", "NEAR", "RENDER", "TAO", "FET"),
    ),
    DemoAgent(
        "Perp Scalper HL",
        "quantfox",
        Venue.HYPERLIQUID,
        "Short holding periods on Hyperliquid majors; tight stops, quick trailing.",
        _w(tweet=55, rsi=35, volatility=50, volume=40),
        ("demo_tapeowl", "demo_lowlumen"),
        ("BTC", "ETH", "HYPE"),
        stop_loss=Decimal("0.01"),
        take_profit=Decimal("0.005"),
        trailing_activation=Decimal("0.0035"),
        trailing_distance=Decimal("0.0015"),
        leverage=Decimal("5"),
    ),
    DemoAgent(
        "GMX Swing",
        "basis_bob",
        Venue.GMX,
        "Swings on GMX majors when CT sentiment and MACD line up; the roomiest stops of the perp agents.",
        _w(tweet=50, macd=70, moving_average=40),
        ("demo_wavecount", "demo_altguide"),
        ("BTC", "ETH", "AVAX", "GMX", "PENDLE", "UNI"),
        stop_loss=Decimal("0.02"),
        take_profit=Decimal("0.01"),
        trailing_activation=Decimal("0.007"),
        trailing_distance=Decimal("0.003"),
        leverage=Decimal("2"),
    ),
    DemoAgent(
        "Ostium Macro",
        "midcurve_mo",
        Venue.OSTIUM,
        "Macro-flavoured CT takes on BTC and ETH, sized conservatively.",
        _w(tweet=65, moving_average=50, volatility=35),
        ("demo_macromoth", "demo_flowheron"),
        ("BTC", "ETH", "MKR", "LDO"),
        sizing=SizingProfile.CONSERVATIVE,
        deployments=1,
    ),
    DemoAgent(
        "Alt Guide Follower",
        "sigmaseer",
        Venue.HYPERLIQUID,
        "Mid-cap altcoin setups from a chart-first account, filtered by RSI.",
        _w(tweet=60, rsi=55, bollinger=30),
        ("demo_altguide",),
        ("LINK", "AVAX", "ARB", "SUI", "OP", "INJ", "TIA", "SEI", "APT"),
        leverage=Decimal("2"),
    ),
    DemoAgent(
        "Volatility Breakout",
        "orderflow_ana",
        Venue.MULTI,
        "Enters when volatility expands with volume; CT sentiment picks the side.",
        _w(tweet=35, volume=70, volatility=80, momentum=30),
        ("demo_wagmiward", "demo_lowlumen", "demo_tapeowl"),
        ("SOL", "HYPE", "SUI", "ENA", "JUP", "WLD", "ONDO"),
        stop_loss=Decimal("0.02"),
        take_profit=Decimal("0.01"),
        trailing_activation=Decimal("0.007"),
        trailing_distance=Decimal("0.003"),
    ),
    DemoAgent(
        "Contrarian Inverse",
        "degenalpha",
        Venue.HYPERLIQUID,
        "Follows Fade Club's fades of euphoric moves when RSI and the bands agree.",
        _w(tweet=45, rsi=70, bollinger=45),
        ("demo_fadeclub",),
        ("BTC", "SOL", "DOGE", "XRP"),
        leverage=Decimal("2"),
    ),
    DemoAgent(
        "Blue Chip Spot DCA",
        "basis_bob",
        Venue.SPOT,
        "Slow spot accumulation on strong CT conviction in majors; wide stops.",
        _w(tweet=50, moving_average=60),
        ("demo_pelican", "demo_macromoth"),
        ("BTC", "ETH", "BNB"),
        stop_loss=Decimal("0.024"),
        take_profit=Decimal("0.012"),
        trailing_activation=Decimal("0.0085"),
        trailing_distance=Decimal("0.0035"),
        sizing=SizingProfile.CONSERVATIVE,
    ),
    DemoAgent(
        "HYPE Maxi",
        "midcurve_mo",
        Venue.HYPERLIQUID,
        "Only trades HYPE, only on calls from accounts that have been right about it.",
        _w(tweet=80, momentum=50),
        ("demo_flowheron", "demo_memeorbit"),
        ("HYPE",),
        stop_loss=Decimal("0.02"),
        take_profit=Decimal("0.01"),
        trailing_activation=Decimal("0.007"),
        trailing_distance=Decimal("0.003"),
        sizing=SizingProfile.AGGRESSIVE,
        leverage=Decimal("3"),
        deployments=1,
    ),
    DemoAgent(
        "Fresh Agent (no trades yet)",
        "quantfox",
        Venue.HYPERLIQUID,
        "Just published: follows a new account and has not traded yet.",
        _w(tweet=50, rsi=50, macd=50, bollinger=50, volume=50, moving_average=50, momentum=50, volatility=50),
        ("demo_icevein",),
        ("ETH",),
        deployments=0,
        published=timedelta(0),
    ),
)

BULLISH = (
    "${t} looks ready to send. Loading up here, invalidation below the range low.",
    "Long ${t}. Higher lows all week and funding is flat. This goes.",
    "${t} reclaiming the weekly open. Bid it.",
    "Bought more ${t} on this dip. Not selling until much higher.",
    "${t} breakout confirmed on the 4h, targeting the prior high.",
    "Accumulating ${t} quietly while everyone is distracted. Asymmetric.",
)
BEARISH = (
    "${t} looks heavy. Shorting the retest of the breakdown level.",
    "Opened a ${t} short. Lower highs, weak bids, no reason to be long.",
    "${t} lost the range. I'm out and leaning short.",
    "Fading this ${t} pump. Funding is way too hot.",
    "${t} rejection at resistance again, short with a tight stop.",
)
# Calls that quote the entry, stop and target, rendered from the feed at the post's time.
QUOTED_BULLISH = (
    "${t} long {t}. Stop {t*0.95}, target {t*1.12}.",
    "Longing ${t} at {t}, invalidation {t*0.93}. First target {t*1.1}.",
    "${t} reclaimed {t*0.99}. Bid {t}, stop {t*0.96}, target {t*1.08}.",
    "Bought ${t} spot at {t}. Out under {t*0.92}, taking profit into {t*1.15}.",
)
QUOTED_BEARISH = (
    "${t} short {t}, stop {t*1.04}, target {t*0.9}.",
    "Shorting ${t} at {t}. Lower highs since {t*1.08}; out above {t*1.05}, target {t*0.9}.",
    "${t} rejected at {t*1.02}. Short from {t}, target {t*0.92}.",
)
# Reports of exits: about a token, with a price, and never a call.
EXITS = (
    "Stopped out of my ${t} long at {t}. Flat for now.",
    "Took profit on my ${t} short at {t}. Done for the week.",
    "${t} long invalidated, closed at {t}.",
    "Out of my ${t} position at {t}. No edge left here.",
)
NOISE = (
    "GM. Markets are boring today, touch grass.",
    "Reminder: position size is the only risk management that matters.",
    "Anyone else watching the Fed presser later?",
    "Thread on how I journal my trades, 1/12",
    "Wild how fast narratives rotate this cycle.",
)
