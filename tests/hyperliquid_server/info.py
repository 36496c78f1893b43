"""POST /info: the read API in Hyperliquid's JSON shapes (the request types the SDK and the app use)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from backend.prices.simulated import EPOCH
from tests.hyperliquid_server.numbers import ZERO, fmt, fmt_usd, price_levels
from tests.hyperliquid_server.state import State
from tests.hyperliquid_server.transfers import ledger_updates

CANDLE_MINUTES = {
    "1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "4h": 240, "8h": 480,
    "12h": 720, "1d": 1440, "3d": 4320, "1w": 10080,
}  # fmt: skip
MAX_CANDLES = 5000
MAX_FILLS = 2000
BOOK_LEVELS = 10
EPOCH_MS = int(datetime(EPOCH.year, EPOCH.month, EPOCH.day, tzinfo=UTC).timestamp() * 1000)


class BadRequest(ValueError):
    """Answered with HTTP 422 and the text, as Hyperliquid answers a body it cannot deserialise."""


def handle_info(state: State, body: Any) -> tuple[int, Any]:
    kind = body.get("type") if isinstance(body, dict) else None
    with state.lock:
        state.info_requests.append(str(kind))
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        return 422, f"Failed to deserialize the JSON body into the target type: unknown info type {kind!r}"
    try:
        with state.lock:
            return 200, handler(state, body)
    except BadRequest as e:
        return 422, f"Failed to deserialize the JSON body into the target type: {e}"


def _user(body: dict[str, Any]) -> str:
    user = body.get("user")
    if not isinstance(user, str) or not user.startswith("0x"):
        raise BadRequest("missing field `user`")
    return user


def _meta(state: State, body: dict[str, Any]) -> dict[str, Any]:
    universe = []
    for perp in state.perps:
        entry: dict[str, Any] = {"name": perp.coin, "szDecimals": perp.sz_decimals}
        entry["maxLeverage"] = perp.max_leverage
        if state.is_delisted(perp):
            entry["isDelisted"] = True
        universe.append(entry)
    return {"universe": universe, "marginTables": []}


def _all_mids(state: State, body: dict[str, Any]) -> dict[str, str]:
    """Every priced perp: a winding-down delisted one still has a mid, a gone one has none."""
    return {coin: fmt(mid) for coin, mid in state.mids().items()}


def _clearinghouse_state(state: State, body: dict[str, Any]) -> dict[str, Any]:
    account = state.account(_user(body))
    positions, value, margin, notional, withdrawable = [], ZERO, ZERO, ZERO, ZERO
    if account is not None:
        mids, mmr = state.mids(), state.maintenance_rates()
        for coin, pos in account.positions.items():
            positions.append({"type": "oneWay", "position": _position(state, account, coin, pos, mids, mmr)})
            notional += abs(pos.szi) * mids[coin]
        value, margin, withdrawable = (
            account.value(mids),
            account.margin_used(mids),
            account.withdrawable(mids),
        )
    summary = {
        "accountValue": fmt_usd(value),
        "totalNtlPos": fmt_usd(notional),
        "totalRawUsd": fmt_usd(value - notional),
        "totalMarginUsed": fmt_usd(margin),
    }
    return {
        "marginSummary": summary,
        "crossMarginSummary": dict(summary),
        "crossMaintenanceMarginUsed": fmt_usd(margin / 2),
        "withdrawable": fmt_usd(withdrawable),
        "assetPositions": positions,
        "time": state.now_ms(),
    }


def _position(state: State, account: Any, coin: str, pos: Any, mids: dict, mmr: dict) -> dict[str, Any]:
    perp = state.perp(coin)
    assert perp is not None
    is_cross, leverage = account.leverage[coin]
    margin = account.margin_of(coin, mids[coin])
    unrealized = account.unrealized(coin, mids[coin])
    liquidation = account.liquidation_px(coin, mids, mmr)
    return {
        "coin": coin,
        "szi": fmt(pos.szi),
        "leverage": {"type": "cross" if is_cross else "isolated", "value": leverage},
        "entryPx": fmt(pos.entry_px.quantize(Decimal("1e-8")).normalize()),
        "positionValue": fmt_usd(abs(pos.szi) * mids[coin]),
        "unrealizedPnl": fmt_usd(unrealized),
        "returnOnEquity": fmt((unrealized / margin).quantize(Decimal("1e-6"))) if margin else "0.0",
        "liquidationPx": None if liquidation is None else fmt(liquidation.quantize(Decimal("1e-6"))),
        "marginUsed": fmt_usd(margin),
        "maxLeverage": perp.max_leverage,
        "cumFunding": {"allTime": "0.0", "sinceChange": "0.0", "sinceOpen": "0.0"},
    }


def _user_fills(state: State, body: dict[str, Any]) -> list[dict[str, Any]]:
    account = state.account(_user(body))
    return [] if account is None else [dict(f) for f in reversed(account.fills[-MAX_FILLS:])]


def _order_status(state: State, body: dict[str, Any]) -> dict[str, Any]:
    account, oid = state.account(_user(body)), body.get("oid")
    order = None
    if account is not None and isinstance(oid, str):
        order = account.cloids.get(oid.lower())
    elif account is not None and isinstance(oid, int):
        order = next((o for o in reversed(account.orders) if o.oid == oid), None)
    if order is None:
        return {"status": "unknownOid"}
    status = {"order": order.to_api(), "status": order.status, "statusTimestamp": order.status_timestamp}
    return {"status": "order", "order": status}


def _l2_book(state: State, body: dict[str, Any]) -> dict[str, Any] | None:
    perp = state.perp(str(body.get("coin")))
    if perp is None or perp.gone:
        return None
    mid = state.mid(perp.coin)
    bids, asks = price_levels(mid, perp.sz_decimals, BOOK_LEVELS, Decimal("0.0005"))
    step = Decimal(1).scaleb(-perp.sz_decimals)

    def level(px: Decimal, i: int) -> dict[str, Any]:
        size = max(step, (Decimal(2500 * i) / px).quantize(step, rounding=ROUND_DOWN))
        return {"px": fmt(px), "sz": fmt(size), "n": i}

    levels = [
        [level(px, i + 1) for i, px in enumerate(bids)],
        [level(px, i + 1) for i, px in enumerate(asks)],
    ]
    return {"coin": perp.coin, "time": state.now_ms(), "levels": levels}


def _candle_snapshot(state: State, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Candles whose span meets [startTime, endTime], never past now, at most the latest 5000."""
    req = body.get("req")
    if not isinstance(req, dict):
        raise BadRequest("missing field `req`")
    coin, interval, start = req.get("coin"), req.get("interval"), req.get("startTime")
    minutes = CANDLE_MINUTES.get(interval) if isinstance(interval, str) else None
    if minutes is None or not isinstance(start, int):
        raise BadRequest(f"bad candle request {req!r}")
    perp = state.perp(str(coin))
    if perp is None:
        return []
    step = minutes * 60_000
    end = min(req.get("endTime") or state.now_ms(), state.now_ms())
    first, last = max(start, EPOCH_MS) // step * step, end // step * step
    if last < first:
        return []
    first = max(first, last - (MAX_CANDLES - 1) * step)
    begin = datetime.fromtimestamp(first / 1000, UTC)
    candles = state.feed.candles(perp.symbol, begin, (last - first) // step + 1, timedelta(minutes=minutes))
    units = perp.units  # a kPEPE candle is 1,000 PEPE's: prices x1000, volume in contracts
    return [
        {
            "t": (t := int(c.start.timestamp() * 1000)),
            "T": t + step - 1,
            "s": perp.coin,
            "i": interval,
            "o": fmt(c.open * units),
            "c": fmt(c.close * units),
            "h": fmt(c.high * units),
            "l": fmt(c.low * units),
            "v": fmt(c.volume / units),
            "n": 7 * minutes,
        }
        for c in candles
    ]


def _extra_agents(state: State, body: dict[str, Any]) -> list[dict[str, Any]]:
    agents = state.agents_of(_user(body))
    return [{"name": n, "address": a, "validUntil": None} for n, a in agents.items() if n]


def _max_builder_fee(state: State, body: dict[str, Any]) -> int:
    """The user's approved maximum fee for the builder, in tenths of a basis point (0: not approved)."""
    builder = body.get("builder")
    if not isinstance(builder, str) or not builder.startswith("0x"):
        raise BadRequest("missing field `builder`")
    return state.builder_fees.get((_user(body).lower(), builder.lower()), 0)


def _non_funding_ledger(state: State, body: dict[str, Any]) -> list[dict[str, Any]]:
    _user(body)
    start, end = body.get("startTime"), body.get("endTime")
    if not isinstance(start, int) or not (end is None or isinstance(end, int)):
        raise BadRequest("missing field `startTime`")
    return ledger_updates(state, body)


HANDLERS = {
    "meta": _meta,
    "spotMeta": lambda state, body: {"universe": [], "tokens": []},
    "perpDexs": lambda state, body: [None],
    "allMids": _all_mids,
    "clearinghouseState": _clearinghouse_state,
    "openOrders": lambda state, body: [],
    "frontendOpenOrders": lambda state, body: [],
    "userFills": _user_fills,
    "orderStatus": _order_status,
    "l2Book": _l2_book,
    "candleSnapshot": _candle_snapshot,
    "extraAgents": _extra_agents,
    "maxBuilderFee": _max_builder_fee,
    "userNonFundingLedgerUpdates": _non_funding_ledger,
}
