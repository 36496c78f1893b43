"""Hyperliquid perps through the official SDK: the user's own account, traded by the deployment's agent.

Reads go through the SDK's `Info`, writes through its `Exchange` built for the account (the agent signs,
`account.address` is the user). Markets are read once and handed to every `Info`/`Exchange`, so building
one costs no request. Orders are aggressive IOC limits carrying the client order id as Hyperliquid's cloid;
a refusal comes back as data and is turned into our exceptions here.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hyperliquid.api import API
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.constants import MAINNET_API_URL
from hyperliquid.utils.signing import OrderRequest as SdkOrderRequest
from hyperliquid.utils.signing import order_request_to_order_wire, order_wires_to_order_action, sign_l1_action
from hyperliquid.utils.types import Cloid

from backend.config import Settings
from backend.models.enums import ExecutionVenue, Side
from backend.venues.base import (
    Balance,
    DuplicateClientOrderId,
    Fill,
    InsufficientFunds,
    InvalidOrder,
    MarketNotListed,
    MarketRules,
    OrderRequest,
    TemporaryVenueError,
    VenueAccount,
    VenueError,
    VenuePosition,
)
from backend.venues.hyperliquid_errors import parsing, sdk_errors
from backend.venues.hyperliquid_rules import (
    MIN_NOTIONAL,
    price_decimals,
    price_tick,
    slippage_price,
)

logger = logging.getLogger(__name__)

IOC = {"limit": {"tif": "Ioc"}}


class NonceClock:
    """Strictly increasing millisecond nonces per signer, within this process.

    The SDK's nonce is the time in ms; a leverage update followed at once by an order from the same agent
    can land in one millisecond, and Hyperliquid refuses a nonce a signer has used.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, int] = {}

    def next(self, signer: str) -> int:
        key = signer.lower()
        with self._lock:
            nonce = max(int(time.time() * 1000), self._last.get(key, 0) + 1)
            self._last[key] = nonce
            return nonce


NONCES = NonceClock()


@dataclass(frozen=True)
class _Catalog:
    meta: dict[str, Any]
    spot_meta: dict[str, Any]
    rules: dict[str, MarketRules]


class HyperliquidVenue:
    venue = ExecutionVenue.HYPERLIQUID

    def __init__(self, base_url: str, *, timeout: float = 10.0, slippage: Decimal = Decimal("0.01")) -> None:
        if not Decimal(0) <= slippage < Decimal(1):
            raise ValueError("slippage is a fraction between 0 and 1")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.slippage = slippage
        self._lock = threading.Lock()
        self._catalog_cache: _Catalog | None = None
        self._local = threading.local()  # one Info (one HTTP session) per thread

    @classmethod
    def from_settings(cls, settings: Settings) -> HyperliquidVenue:
        return cls(settings.hyperliquid_base_url, timeout=settings.hyperliquid_timeout_seconds)

    def __repr__(self) -> str:
        return f"HyperliquidVenue({self.base_url!r})"

    # -- reads ----------------------------------------------------------------------------------------

    def markets(self) -> dict[str, MarketRules]:
        return dict(self._catalog().rules)

    def mids(self) -> dict[str, Decimal]:
        rules = self._catalog().rules
        with sdk_errors("reading mids"):
            raw = self._info().all_mids()
        with parsing("allMids"):
            return {coin: Decimal(px) for coin, px in raw.items() if coin in rules}

    def balance(self, account: VenueAccount) -> Balance:
        state = self._user_state(account)
        with parsing("clearinghouseState"):
            return Balance(
                equity=Decimal(state["marginSummary"]["accountValue"]),
                available=Decimal(state["withdrawable"]),
            )

    def positions(self, account: VenueAccount) -> list[VenuePosition]:
        state = self._user_state(account)
        out = []
        with parsing("clearinghouseState"):
            for item in state["assetPositions"]:
                p = item["position"]
                szi = Decimal(p["szi"])
                if szi == 0:
                    continue
                out.append(
                    VenuePosition(
                        market=p["coin"],
                        side=Side.LONG if szi > 0 else Side.SHORT,
                        size=abs(szi),
                        entry_price=Decimal(p["entryPx"]),
                        leverage=Decimal(p["leverage"]["value"]),
                        unrealized_pnl=Decimal(p["unrealizedPnl"]),
                    )
                )
        return out

    def order_status(self, account: VenueAccount, client_order_id: str) -> Fill | None:
        """The fills of that cloid, summed; None when Hyperliquid never saw it or it did not fill."""
        address = _address(account)
        with sdk_errors(f"looking up order {client_order_id}"):
            reply = self._info().query_order_by_cloid(address, _cloid(client_order_id))
        if not isinstance(reply, dict) or reply.get("status") != "order":
            return None
        with parsing("orderStatus"):
            placed = reply["order"]["order"]
            oid, market = placed["oid"], placed["coin"]
            held = Side.LONG if (placed["side"] == "B") != bool(placed["reduceOnly"]) else Side.SHORT
        fills = self._fills_of(address, oid=oid)
        return _summed_fill(client_order_id, market, held, str(oid), fills) if fills else None

    def closing_fill(self, account: VenueAccount, market: str, side: Side) -> Fill | None:
        """The latest order that reduced a `side` position in `market`, as one Fill (None if none is recent).

        What a position closed outside our own orders went at: reconciliation's exit price and fee. One
        userFills read (weight 20); Hyperliquid keeps the latest 2000 fills there.
        """
        address = _address(account)
        with sdk_errors("reading fills"):
            fills = self._info().user_fills(address)
        with parsing("userFills"):
            closing = [f for f in fills if f["coin"] == market and _reduces(f, side)]
            if not closing:
                return None
            last = max(closing, key=lambda f: (int(f["time"]), int(f.get("tid", 0))))
            of_order = [f for f in closing if f["oid"] == last["oid"]]
            return _summed_fill(last.get("cloid") or "", market, side, str(last["oid"]), of_order)

    # -- orders ---------------------------------------------------------------------------------------

    def open(self, account: VenueAccount, order: OrderRequest) -> Fill:
        rules = self._rules_for(order.market)
        exchange = self._exchange(account)
        size, limit, reference = self._priced(order, rules, is_buy=order.side == Side.LONG)
        value = size * min(reference, limit)  # a sell's limit is below the mid: its value at the limit counts
        if not order.reduce_only and value < MIN_NOTIONAL:
            raise InvalidOrder(
                f"{size} {order.market} is worth ${value:.2f}, under Hyperliquid's ${MIN_NOTIONAL} minimum"
            )
        leverage = max(1, min(int(order.leverage), int(rules.max_leverage)))
        asset = exchange.info.name_to_asset(order.market)
        self._post(
            exchange, {"type": "updateLeverage", "asset": asset, "isCross": True, "leverage": leverage}
        )
        return self._place(account, exchange, order, size, limit, is_buy=order.side == Side.LONG)

    def close(self, account: VenueAccount, order: OrderRequest) -> Fill:
        rules = self._rules_for(order.market)
        exchange = self._exchange(account)
        is_buy = order.side == Side.SHORT
        size, limit, _ = self._priced(order, rules, is_buy=is_buy)
        return self._place(account, exchange, order, size, limit, is_buy=is_buy, reduce_only=True)

    def _priced(
        self, order: OrderRequest, rules: MarketRules, *, is_buy: bool
    ) -> tuple[Decimal, Decimal, Decimal]:
        """Size rounded down to the step, the IOC limit `slippage` beyond the reference, and the reference."""
        size = rules.round_size(order.size)
        if size <= 0:
            raise InvalidOrder(
                f"size {order.size} rounds to 0 at {rules.size_decimals} decimals on {order.market}"
            )
        reference = order.reference_price or self.mids().get(order.market)
        if reference is None or reference <= 0:
            raise TemporaryVenueError(f"Hyperliquid has no mid for {order.market} right now")
        try:
            limit = slippage_price(reference, is_buy, self.slippage, rules.size_decimals)
        except ValueError as e:
            raise InvalidOrder(f"no valid {order.market} price near {reference}") from e
        return size, limit, reference

    def _place(
        self,
        account: VenueAccount,
        exchange: Exchange,
        order: OrderRequest,
        size: Decimal,
        limit: Decimal,
        *,
        is_buy: bool,
        reduce_only: bool = False,
    ) -> Fill:
        request: SdkOrderRequest = {
            "coin": order.market,
            "is_buy": is_buy,
            "sz": float(size),
            "limit_px": float(limit),
            "order_type": IOC,
            "reduce_only": reduce_only or order.reduce_only,
            "cloid": _cloid(order.client_order_id),
        }
        wire = order_request_to_order_wire(request, exchange.info.name_to_asset(order.market))
        logger.info(
            "hyperliquid %s %s %s %s @ %s cloid=%s for %r",
            "close" if request["reduce_only"] else "open",
            "buy" if is_buy else "sell",
            size,
            order.market,
            limit,
            order.client_order_id,
            account,
        )
        reply = self._post(exchange, order_wires_to_order_action([wire]))
        with parsing("order response"):
            status = reply["response"]["data"]["statuses"][0]
        if "filled" in status:
            with parsing("order response"):
                oid = status["filled"]["oid"]
            fills = self._fills_of(_address(account), oid=oid)
            if not fills:
                raise TemporaryVenueError(
                    f"order {order.client_order_id} filled (oid {oid}) but its fills are not visible yet"
                )
            return _summed_fill(order.client_order_id, order.market, order.side, str(oid), fills)
        if "error" in status:
            raise _order_error(str(status["error"]))
        raise VenueError(f"Hyperliquid answered an IOC order with {status!r}")

    def _post(self, exchange: Exchange, action: dict[str, Any]) -> dict[str, Any]:
        """Sign an L1 action with a nonce of our own (the SDK's high-level methods take none) and post it."""
        nonce = NONCES.next(exchange.wallet.address)
        is_mainnet = exchange.base_url == MAINNET_API_URL
        signature = sign_l1_action(exchange.wallet, action, exchange.vault_address, nonce, None, is_mainnet)
        with sdk_errors(f"sending {action['type']}", refused=InvalidOrder):
            reply = exchange._post_action(action, signature, nonce)  # the SDK's own payload and post
        if not isinstance(reply, dict) or reply.get("status") != "ok":
            reason = str(reply.get("response") if isinstance(reply, dict) else reply)
            if reason.startswith("Invalid nonce"):  # nothing happened: safe to try again
                raise TemporaryVenueError(f"Hyperliquid refused the nonce: {reason}")
            raise InvalidOrder(reason)
        return reply

    # -- plumbing -------------------------------------------------------------------------------------

    def _catalog(self) -> _Catalog:
        """meta, spotMeta and the market rules, read once (the first call pays three requests)."""
        with self._lock:
            if self._catalog_cache is None:
                api = API(self.base_url, self.timeout)
                with sdk_errors("reading Hyperliquid's markets"):
                    spot_meta = api.post("/info", {"type": "spotMeta"})
                    meta = api.post("/info", {"type": "meta"})
                    mids = api.post("/info", {"type": "allMids"})
                with parsing("meta"):
                    rules = _market_rules(meta, mids)
                self._catalog_cache = _Catalog(meta, spot_meta, rules)
            return self._catalog_cache

    def _info(self) -> Info:
        info = getattr(self._local, "info", None)
        if info is None:
            catalog = self._catalog()
            with parsing("meta or spotMeta"):
                info = Info(
                    self.base_url,
                    skip_ws=True,
                    meta=catalog.meta,
                    spot_meta=catalog.spot_meta,
                    timeout=self.timeout,
                )
            self._local.info = info
        return info

    def _exchange(self, account: VenueAccount) -> Exchange:
        if account.signer is None:
            raise InvalidOrder(f"deployment {account.deployment_id} has no agent wallet to sign with")
        catalog = self._catalog()
        return Exchange(
            account.signer,
            self.base_url,
            meta=catalog.meta,
            spot_meta=catalog.spot_meta,
            account_address=_address(account),
            perp_dexs=None,  # None: the main dex only, without a perpDexs request
            timeout=self.timeout,
        )

    def _rules_for(self, market: str) -> MarketRules:
        rules = self._catalog().rules.get(market)
        if rules is None:
            raise MarketNotListed(f"{market} is not listed on Hyperliquid")
        return rules

    def _user_state(self, account: VenueAccount) -> dict[str, Any]:
        with sdk_errors("reading the account"):
            return self._info().user_state(_address(account))

    def _fills_of(self, address: str, *, oid: int) -> list[dict[str, Any]]:
        """The fills of one order, from the user's recent fills (Hyperliquid keeps the latest 2000 there)."""
        with sdk_errors("reading fills"):
            fills = self._info().user_fills(address)
        return [f for f in fills if f.get("oid") == oid]


def _market_rules(meta: dict[str, Any], mids: dict[str, str]) -> dict[str, MarketRules]:
    rules = {}
    for asset in meta["universe"]:
        if asset.get("isDelisted"):
            continue
        name, sz_decimals = asset["name"], int(asset["szDecimals"])
        mid = Decimal(mids[name]) if name in mids else None
        tick = price_tick(mid, sz_decimals) if mid else Decimal(1).scaleb(-price_decimals(sz_decimals))
        rules[name] = MarketRules(
            market=name,
            size_decimals=sz_decimals,
            tick_size=tick,  # at today's price; orders use the exact rule (hyperliquid_rules.round_price)
            min_notional=MIN_NOTIONAL,
            max_leverage=Decimal(asset["maxLeverage"]),
            min_size=Decimal(1).scaleb(-sz_decimals),
        )
    return rules


def _summed_fill(cloid: str, market: str, side: Side, oid: str, fills: list[dict[str, Any]]) -> Fill:
    """One Fill from an order's fills (an IOC may match several levels): sizes, fees summed; avg price."""
    with parsing("userFills"):
        sizes = [Decimal(f["sz"]) for f in fills]
        size = sum(sizes, Decimal(0))
        notional = sum((Decimal(f["px"]) * s for f, s in zip(fills, sizes, strict=True)), Decimal(0))
        return Fill(
            client_order_id=cloid,
            market=market,
            side=side,
            size=size,
            price=(notional / size).quantize(Decimal("1e-10")).normalize(),
            fee=sum((Decimal(f["fee"]) for f in fills), Decimal(0)),
            venue_order_id=oid,
            filled_at=datetime.fromtimestamp(max(int(f["time"]) for f in fills) / 1000, UTC),
        )


def _reduces(fill: dict[str, Any], side: Side) -> bool:
    """Did this fill trade against a `side` position (a sell from a long, a buy from a short)?"""
    start = Decimal(fill["startPosition"])
    if side == Side.LONG:
        return start > 0 and fill["side"] == "A"
    return start < 0 and fill["side"] == "B"


def _order_error(reason: str) -> InvalidOrder:
    lowered = reason.lower()
    if "insufficient margin" in lowered:
        return InsufficientFunds(reason)
    if "duplicate" in lowered and ("cloid" in lowered or "client order id" in lowered):
        return DuplicateClientOrderId(reason)
    return InvalidOrder(reason)


def _address(account: VenueAccount) -> str:
    if not account.address:
        raise InvalidOrder(f"deployment {account.deployment_id} has no Hyperliquid account address")
    return account.address


def _cloid(client_order_id: str) -> Cloid:
    try:
        return Cloid.from_str(client_order_id)
    except TypeError as e:
        raise InvalidOrder(f"client order id {client_order_id!r} is not 0x and 32 hex digits") from e
