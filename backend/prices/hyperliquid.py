"""Live prices from Hyperliquid through the SDK's `Info`: `allMids` for mids, `candleSnapshot` for history.

A live feed has only the present: `mids(at)` answers with the mids of now, whatever `at` says (callers pass
their cycle's now). `price_at` is the mid within a minute of now, else the close of the minute candle
containing `at`. Transport trouble raises the venue errors (`TemporaryVenueError` for network, 5xx, 429).
Markets are the app's symbols: Hyperliquid's kPEPE (1,000 PEPE) answers as PEPE, its prices /1000.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hyperliquid.api import API
from hyperliquid.info import Info

from backend.prices.simulated import Candle, UnknownMarket
from backend.venues.hyperliquid_errors import parsing, sdk_errors
from backend.venues.hyperliquid_rules import app_symbol

LIVE_WINDOW = timedelta(minutes=1)
META_MAX_AGE_S = 300  # a market we do not know makes us read meta again, at most this often
MAX_CANDLES_PER_REQUEST = 5000  # Hyperliquid answers at most this many per candleSnapshot
INTERVALS = {
    timedelta(minutes=1): "1m",
    timedelta(minutes=3): "3m",
    timedelta(minutes=5): "5m",
    timedelta(minutes=15): "15m",
    timedelta(minutes=30): "30m",
    timedelta(hours=1): "1h",
    timedelta(hours=2): "2h",
    timedelta(hours=4): "4h",
    timedelta(hours=8): "8h",
    timedelta(hours=12): "12h",
    timedelta(days=1): "1d",
}


class HyperliquidPriceFeed:
    name = "hyperliquid"

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._lock = threading.Lock()
        self._meta: _Meta | None = None
        self._local = threading.local()  # one Info (one HTTP session) per thread

    def __repr__(self) -> str:
        return f"HyperliquidPriceFeed({self.base_url!r})"

    def mids(self, at: datetime, markets: list[str] | None = None) -> dict[str, Decimal]:
        """Every listed perp's mid now per token, in one request (`at` is ignored: see the module
        docstring). Named markets may be delisted ones Hyperliquid still prices (their positions exit)."""
        coins = {market: self._coin(market) for market in markets or []}
        with sdk_errors("reading mids"):
            raw = self._info().all_mids()
        meta = self._load_meta()
        if markets is None:
            with parsing("allMids"):
                return {s: Decimal(raw[c]) / u for s, (c, u) in meta.listed.items() if c in raw}
        missing = [m for m, (coin, _) in coins.items() if coin not in raw]
        if missing:
            raise UnknownMarket(missing[0])
        with parsing("allMids"):
            return {market: Decimal(raw[coin]) / units for market, (coin, units) in coins.items()}

    def price_at(self, market: str, at: datetime) -> Decimal:
        if at.tzinfo is None:
            raise ValueError("naive datetime: prices are asked for in UTC")
        now = datetime.now(UTC)
        if abs(now - at) <= LIVE_WINDOW:
            return self.mids(now, [market])[market]
        if at > now:
            raise ValueError("a live feed has no prices in the future")
        minute = at.astimezone(UTC).replace(second=0, microsecond=0)
        candles = self.candles(market, minute, 1, timedelta(minutes=1))
        if not candles or candles[0].start != minute:
            raise ValueError(f"Hyperliquid has no {market} candle at {minute.isoformat()}")
        return candles[0].close

    def candles(self, market: str, start: datetime, count: int, interval: timedelta) -> list[Candle]:
        """Up to `count` candles from the one containing `start` (Hyperliquid aligns candles to their
        interval), never past the present; several requests when more than 5000 are asked for."""
        name = INTERVALS.get(interval)
        if name is None:
            raise ValueError(f"Hyperliquid has no {interval} candles; one of {', '.join(INTERVALS.values())}")
        coin, units = self._coin(market)
        step = int(interval.total_seconds() * 1000)
        first = int(start.timestamp() * 1000) // step * step
        out: list[Candle] = []
        while len(out) < count:
            last = first + (min(count - len(out), MAX_CANDLES_PER_REQUEST) - 1) * step
            with sdk_errors(f"reading {market} candles"):
                rows = self._info().candles_snapshot(coin, name, first, last)
            with parsing("candleSnapshot"):
                batch = sorted((r for r in rows if first <= int(r["t"]) <= last), key=lambda r: int(r["t"]))
                out.extend(_candle(r, units) for r in batch)
            if not batch:
                break
            first = int(batch[-1]["t"]) + step
        return out[:count]

    # -- plumbing -------------------------------------------------------------------------------------

    def _info(self) -> Info:
        """This thread's Info, built again when meta was read again (it maps names to assets)."""
        meta = self._load_meta()
        held = getattr(self._local, "info", None)
        if held is None or held[0] is not meta:
            with parsing("meta or spotMeta"):
                info = Info(
                    self.base_url,
                    skip_ws=True,
                    meta=meta.meta,
                    spot_meta=meta.spot_meta,
                    timeout=self.timeout,
                )
            held = self._local.info = (meta, info)
        return held[1]

    def _load_meta(self, *, reload: bool = False) -> _Meta:
        """meta and spotMeta, read once (again on `reload`): what the SDK's Info needs, and the perps by
        the app's symbols."""
        with self._lock:
            if self._meta is None or reload:
                api = API(self.base_url, self.timeout)
                with sdk_errors("reading Hyperliquid's markets"):
                    spot_meta = api.post("/info", {"type": "spotMeta"})
                    meta = api.post("/info", {"type": "meta"})
                listed: dict[str, tuple[str, int]] = {}
                every: dict[str, tuple[str, int]] = {}
                with parsing("meta"):
                    for asset in meta["universe"]:
                        symbol, units = app_symbol(asset["name"])
                        every.setdefault(symbol, (asset["name"], units))
                        if not asset.get("isDelisted"):
                            listed.setdefault(symbol, (asset["name"], units))
                self._meta = _Meta(meta, spot_meta, listed, every, time.monotonic())
            return self._meta

    def _coin(self, market: str) -> tuple[str, int]:
        """Hyperliquid's name for a market and its tokens per contract: ("kPEPE", 1000) for PEPE."""
        meta = self._load_meta()
        if _lookup(meta, market) is None and time.monotonic() - meta.loaded_at > META_MAX_AGE_S:
            meta = self._load_meta(reload=True)  # listed since we last looked?
        found = _lookup(meta, market)
        if found is None:
            raise UnknownMarket(market)
        return found


@dataclass(frozen=True)
class _Meta:
    meta: dict[str, Any]
    spot_meta: dict[str, Any]
    listed: dict[str, tuple[str, int]]  # symbol -> (coin, units), perps open to trading
    every: dict[str, tuple[str, int]]  # delisted ones too
    loaded_at: float  # time.monotonic()


def _lookup(meta: _Meta, market: str) -> tuple[str, int] | None:
    return meta.every.get(market) or meta.every.get(market.upper())


def _candle(row: dict[str, Any], units: int) -> Candle:
    return Candle(
        start=datetime.fromtimestamp(int(row["t"]) / 1000, UTC),
        open=Decimal(row["o"]) / units,
        high=Decimal(row["h"]) / units,
        low=Decimal(row["l"]) / units,
        close=Decimal(row["c"]) / units,
        volume=Decimal(row["v"]) * units,
    )
