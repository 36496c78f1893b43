"""One user's perp account on the test server: cash, positions, leverage, orders and fills.

Cross margin, simplified the way a test venue may be: IOC orders fill completely at the mid or not at all,
every fill pays the taker fee, there is no funding and no liquidation engine (the liquidation price is
still reported, from the maintenance margin at half the initial margin of the maximum leverage).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tests.hyperliquid_server.numbers import USD_STEP, ZERO, fmt, fmt_usd

TAKER_FEE_RATE = Decimal("0.00045")
MIN_ORDER_VALUE = Decimal(10)
DEFAULT_LEVERAGE = 20  # Hyperliquid's default: 20x cross, or the market's maximum when lower


@dataclass(frozen=True)
class Market:
    """What an order needs to know about its market at the moment it is placed."""

    coin: str
    asset: int
    sz_decimals: int
    max_leverage: int
    mid: Decimal
    reduce_only: bool = False  # delisted, winding down: exits only


@dataclass
class Position:
    szi: Decimal  # signed: long > 0, short < 0
    entry_px: Decimal


@dataclass
class Order:
    oid: int
    coin: str
    is_buy: bool
    limit_px: Decimal
    orig_sz: Decimal
    reduce_only: bool
    cloid: str | None
    timestamp: int
    status: str = "open"
    status_timestamp: int = 0
    filled_sz: Decimal = ZERO

    def to_api(self) -> dict[str, Any]:
        """The `order` object of orderStatus."""
        return {
            "coin": self.coin,
            "side": "B" if self.is_buy else "A",
            "limitPx": fmt(self.limit_px),
            "sz": fmt(self.orig_sz - self.filled_sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "triggerCondition": "N/A",
            "isTrigger": False,
            "triggerPx": "0.0",
            "children": [],
            "isPositionTpsl": False,
            "reduceOnly": self.reduce_only,
            "orderType": "Limit",
            "origSz": fmt(self.orig_sz),
            "tif": "Ioc",
            "cloid": self.cloid,
        }


@dataclass
class Account:
    cash: Decimal = ZERO
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, tuple[bool, int]] = field(default_factory=dict)  # coin -> (is_cross, value)
    orders: list[Order] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    cloids: dict[str, Order] = field(default_factory=dict)  # the latest order placed with each cloid

    # -- valuation ------------------------------------------------------------------------------------

    def leverage_of(self, coin: str, max_leverage: int) -> tuple[bool, int]:
        return self.leverage.setdefault(coin, (True, min(DEFAULT_LEVERAGE, max_leverage)))

    def unrealized(self, coin: str, mid: Decimal) -> Decimal:
        pos = self.positions[coin]
        return pos.szi * (mid - pos.entry_px)

    def value(self, mids: Mapping[str, Decimal]) -> Decimal:
        return self.cash + sum((self.unrealized(c, mids[c]) for c in self.positions), ZERO)

    def margin_of(self, coin: str, mid: Decimal) -> Decimal:
        return abs(self.positions[coin].szi) * mid / self.leverage[coin][1]

    def margin_used(self, mids: Mapping[str, Decimal]) -> Decimal:
        return sum((self.margin_of(c, mids[c]) for c in self.positions), ZERO)

    def withdrawable(self, mids: Mapping[str, Decimal]) -> Decimal:
        return max(ZERO, self.value(mids) - self.margin_used(mids))

    def liquidation_px(
        self, coin: str, mids: Mapping[str, Decimal], mmr: Mapping[str, Decimal]
    ) -> Decimal | None:
        """Where account value meets maintenance margin, the other positions held at their mids."""
        pos = self.positions[coin]
        rest = self.cash
        for other, p in self.positions.items():
            if other != coin:
                rest += self.unrealized(other, mids[other]) - abs(p.szi) * mids[other] * mmr[other]
        price = (pos.szi * pos.entry_px - rest) / (pos.szi - abs(pos.szi) * mmr[coin])
        return price if price > 0 else None

    # -- trading --------------------------------------------------------------------------------------

    def fill_ioc(
        self,
        order: Order,
        market: Market,
        mids: Mapping[str, Decimal],
        now: int,
        tid: int,
        *,
        builder_rate: Decimal | None = None,
    ) -> dict:
        """Fill an IOC order completely at the mid, or reject it with the API's reason; the order's status.

        `builder_rate`: the order names a builder, whose fee (this fraction of the notional) it also pays."""
        pos = self.positions.get(order.coin)
        szi = pos.szi if pos else ZERO
        size = order.orig_sz
        if order.reduce_only:
            if szi == 0 or (szi > 0) == order.is_buy:
                return _reject(order, now, "reduceOnlyRejected", "Reduce only order would increase position.")
            size = min(size, abs(szi))
        elif size * order.limit_px < MIN_ORDER_VALUE:
            return _reject(order, now, "minTradeNtlRejected", "Order must have minimum value of $10.")
        mid = market.mid
        if (order.limit_px < mid) if order.is_buy else (order.limit_px > mid):
            reason = "Order could not immediately match against any resting orders."
            return _reject(order, now, "iocCancelRejected", reason)
        fee = (size * mid * TAKER_FEE_RATE).quantize(USD_STEP, rounding=ROUND_HALF_UP)
        builder_fee = _builder_fee(size * mid, builder_rate)
        added = max(ZERO, abs(szi + (size if order.is_buy else -size)) - abs(szi))
        _, leverage = self.leverage_of(order.coin, market.max_leverage)
        if added and added * mid / leverage + fee + (builder_fee or ZERO) > self.withdrawable(mids):
            return _reject(order, now, "perpMarginRejected", "Insufficient margin to place order.")
        self._apply_fill(order, size, mid, fee, now, tid)
        if builder_fee is not None:
            self.cash -= builder_fee
            self.fills[-1]["builderFee"] = fmt_usd(builder_fee)
        return {"filled": {"totalSz": fmt(size), "avgPx": fmt(mid), "oid": order.oid}}

    def _apply_fill(self, order: Order, size: Decimal, px: Decimal, fee: Decimal, now: int, tid: int) -> None:
        pos = self.positions.get(order.coin) or Position(ZERO, ZERO)
        start = pos.szi
        new_szi = start + (size if order.is_buy else -size)
        closing = start != 0 and (start > 0) != order.is_buy
        closed = min(size, abs(start)) if closing else ZERO
        pnl = closed * (px - pos.entry_px) * (1 if start > 0 else -1)
        if new_szi == 0:
            self.positions.pop(order.coin, None)
        elif not closing:
            self.positions[order.coin] = Position(
                new_szi, (abs(start) * pos.entry_px + size * px) / abs(new_szi)
            )
        else:  # a partial close keeps the entry; a flip opens the rest at the fill price
            self.positions[order.coin] = Position(new_szi, pos.entry_px if size <= abs(start) else px)
        self.cash += pnl - fee
        order.status, order.status_timestamp, order.filled_sz = "filled", now, size
        fill = {
            "coin": order.coin,
            "px": fmt(px),
            "sz": fmt(size),
            "side": "B" if order.is_buy else "A",
            "time": now,
            "startPosition": fmt(start),
            "dir": _direction(start, new_szi, order.is_buy),
            "closedPnl": fmt_usd(pnl),
            "hash": "0x" + hashlib.sha256(f"{order.oid}:{tid}".encode()).hexdigest(),
            "oid": order.oid,
            "crossed": True,
            "fee": fmt_usd(fee),
            "tid": tid,
            "feeToken": "USDC",
        }
        if order.cloid:
            fill["cloid"] = order.cloid
        self.fills.append(fill)


def _builder_fee(notional: Decimal, rate: Decimal | None) -> Decimal | None:
    """What a builder-coded fill pays its builder (None: the order named no builder)."""
    return None if rate is None else (notional * rate).quantize(USD_STEP, rounding=ROUND_HALF_UP)


def _reject(order: Order, now: int, status: str, reason: str) -> dict:
    order.status, order.status_timestamp = status, now
    return {"error": reason}


def _direction(start: Decimal, end: Decimal, is_buy: bool) -> str:
    if start == 0 or (start > 0) == is_buy:
        return "Open Long" if is_buy else "Open Short"
    if start > 0:
        return "Close Long" if end >= 0 else "Long > Short"
    return "Close Short" if end <= 0 else "Short > Long"
