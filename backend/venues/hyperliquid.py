"""Hyperliquid perps through the official SDK: the user's own account, traded by the deployment's agent.

Reads go through the SDK's `Info`, writes through its `Exchange` built for the account (the agent signs,
`account.address` is the user). Markets are read once (and again by `listings()`, the registry's refresh)
and handed to every `Info`/`Exchange`, so building one costs no request. Orders are aggressive IOC limits
carrying our client order id as Hyperliquid's cloid (the same 16 bytes); a refusal comes back as data and
is turned into our exceptions here, and `status` maps orderStatus to our OrderState.

The adapter speaks the app's symbols and units at its boundary: Hyperliquid's kPEPE (1,000 PEPE a contract)
is PEPE here, its sizes x1000 and prices /1000 (see hyperliquid_rules.app_symbol). A delisted market keeps
its rules and mid, so its positions still close, but opens nothing new.

The builder fee: with a builder configured (the platform's address and a fee), an entry order carries
`builder {b, f}` only while the user's approved maximum for that builder (`maxBuilderFee`, read per user and
kept for `builder_ttl` seconds) is at least the fee; Hyperliquid refuses an order naming a builder the user
did not approve, even at fee 0. Exits never carry it, so a revoked approval can never stop a close.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
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
    Listing,
    MarketNotListed,
    MarketRules,
    OrderRequest,
    OrderState,
    OrderStatus,
    Submitted,
    TemporaryVenueError,
    VenueAccount,
    VenueError,
    VenuePosition,
)
from backend.venues.capabilities import HYPERLIQUID
from backend.venues.hyperliquid_builder import (
    BUILDER_TTL_SECONDS,
    BuilderApprovals,
    BuilderFee,
    refused_for_the_fee,
)
from backend.venues.hyperliquid_errors import parsing, sdk_errors
from backend.venues.hyperliquid_rules import (
    MIN_NOTIONAL,
    app_rules,
    app_symbol,
    slippage_price,
    venue_size,
    venue_size_decimals,
)
from backend.venues.token_names import token_name

logger = logging.getLogger(__name__)

IOC = {"limit": {"tif": "Ioc"}}
# orderStatus states of an order still at the venue; "filled" is the fill, any other ends it without one.
RESTING = frozenset({"open", "triggered"})


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
    listings: dict[str, Listing]  # by the app's symbol, delisted ones too
    generation: int  # a new catalog (after a refresh) rebuilds the per-thread Info

    def coin(self, symbol: str) -> str:
        listing = self.listings.get(symbol)
        return symbol if listing is None else listing.venue_market


class HyperliquidVenue:
    venue = ExecutionVenue.HYPERLIQUID
    capabilities = HYPERLIQUID

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        slippage: Decimal = Decimal("0.01"),
        builder: BuilderFee | None = None,
        builder_ttl: float = BUILDER_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not Decimal(0) <= slippage < Decimal(1):
            raise ValueError("slippage is a fraction between 0 and 1")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.slippage = slippage
        self._lock = threading.Lock()
        self._catalog_cache: _Catalog | None = None
        self._local = threading.local()  # one Info (one HTTP session) per thread
        self.builder_fees = (
            None
            if builder is None
            else BuilderApprovals(self.base_url, builder, timeout=timeout, ttl=builder_ttl, clock=clock)
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> HyperliquidVenue:
        builder = None
        if settings.builder_fee_tenths_bps is not None and settings.platform_address:
            builder = BuilderFee(settings.platform_address.lower(), settings.builder_fee_tenths_bps)
        timeout = settings.hyperliquid_timeout_seconds
        return cls(settings.hyperliquid_base_url, timeout=timeout, builder=builder)

    def __repr__(self) -> str:
        return f"HyperliquidVenue({self.base_url!r})"

    # -- reads ----------------------------------------------------------------------------------------

    def markets(self) -> dict[str, MarketRules]:
        """The markets open to new entries (delisted ones are left out), in the app's units."""
        listings = self._catalog().listings.values()
        return {item.symbol: item.rules for item in listings if not item.is_delisted}

    def listings(self) -> list[Listing]:
        """meta and allMids read afresh (3 requests): every perp, delisted ones flagged, in meta's order.

        The catalog the adapter trades with is replaced too, so a refresh also brings new listings and
        delistings to the orders of this process.
        """
        return list(self._catalog(reload=True).listings.values())

    def mids(self) -> dict[str, Decimal]:
        """Every priced market's mid per token, delisted ones too while Hyperliquid prices them."""
        listings = {item.venue_market: item for item in self._catalog().listings.values()}
        with sdk_errors("reading mids"):
            raw = self._info().all_mids()
        with parsing("allMids"):
            return {
                item.symbol: Decimal(raw[coin]) / item.units for coin, item in listings.items() if coin in raw
            }

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
                symbol, units = app_symbol(p["coin"])
                out.append(
                    VenuePosition(
                        market=symbol,
                        side=Side.LONG if szi > 0 else Side.SHORT,
                        size=abs(szi) * units,
                        entry_price=Decimal(p["entryPx"]) / units,
                        leverage=Decimal(p["leverage"]["value"]),
                        unrealized_pnl=Decimal(p["unrealizedPnl"]),
                    )
                )
        return out

    def status(
        self, account: VenueAccount, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderStatus:
        """orderStatus by cloid: unknownOid is UNKNOWN, a filled order FILLED with its fills summed, an order
        still resting PENDING, any other end (an IOC cancelled, a rejection) FAILED."""
        address = _address(account)
        with sdk_errors(f"looking up order {client_order_id}"):
            reply = self._info().query_order_by_cloid(address, _cloid(client_order_id))
        if not isinstance(reply, dict) or reply.get("status") != "order":
            return OrderStatus(OrderState.UNKNOWN)
        with parsing("orderStatus"):
            placed, state = reply["order"]["order"], str(reply["order"]["status"])
            oid, market = placed["oid"], placed["coin"]
            held = Side.LONG if (placed["side"] == "B") != bool(placed["reduceOnly"]) else Side.SHORT
        if state in RESTING:
            return OrderStatus(OrderState.PENDING, venue_order_id=str(oid))
        if state != "filled":
            reason = f"Hyperliquid: order {state}"
            return OrderStatus(OrderState.FAILED, venue_order_id=str(oid), reason=reason)
        fills = self._fills_of(address, oid=oid)
        if not fills:  # filled, its fills not in userFills yet: ask again shortly
            return OrderStatus(OrderState.PENDING, venue_order_id=str(oid))
        fill = _summed_fill(client_order_id, market, held, str(oid), fills)
        return OrderStatus(OrderState.FILLED, fill=fill, venue_order_id=str(oid))

    def closing_fill(self, account: VenueAccount, market: str, side: Side) -> Fill | None:
        """The latest order that reduced a `side` position in `market`, as one Fill (None if none is recent).

        What a position closed outside our own orders went at: reconciliation's exit price and fee. One
        userFills read (weight 20); Hyperliquid keeps the latest 2000 fills there.
        """
        address = _address(account)
        coin = self._catalog().coin(market)
        with sdk_errors("reading fills"):
            fills = self._info().user_fills(address)
        with parsing("userFills"):
            closing = [f for f in fills if f["coin"] == coin and _reduces(f, side)]
            if not closing:
                return None
            last = max(closing, key=lambda f: (int(f["time"]), int(f.get("tid", 0))))
            of_order = [f for f in closing if f["oid"] == last["oid"]]
            return _summed_fill(last.get("cloid") or "", coin, side, str(last["oid"]), of_order)

    # -- orders ---------------------------------------------------------------------------------------

    def submit(self, account: VenueAccount, order: OrderRequest) -> Submitted:
        """An IOC entry (leverage set first), or with `reduce_only` a close: filled at once or refused."""
        fill = self._close(account, order) if order.reduce_only else self._open(account, order)
        return Submitted(fill.venue_order_id, fill)

    def _open(self, account: VenueAccount, order: OrderRequest) -> Fill:
        listing = self._listing(order.market)
        if listing.is_delisted:
            raise MarketNotListed(f"{order.market} is delisted on Hyperliquid: no new entries, exits only")
        exchange = self._exchange(account)
        size, limit, reference = self._priced(order, listing, is_buy=order.side == Side.LONG)
        value = size * min(reference, limit)  # a sell's limit is below the mid: its value at the limit counts
        if not order.reduce_only and value < MIN_NOTIONAL:
            raise InvalidOrder(
                f"{size * listing.units} {order.market} is worth ${value:.2f}, "
                f"under Hyperliquid's ${MIN_NOTIONAL} minimum"
            )
        leverage = max(1, min(int(order.leverage), int(listing.rules.max_leverage)))
        asset = exchange.info.name_to_asset(listing.venue_market)
        self._post(
            exchange, {"type": "updateLeverage", "asset": asset, "isCross": True, "leverage": leverage}
        )
        is_buy, fees = order.side == Side.LONG, self.builder_fees
        builder = fees.order_field(_address(account)) if fees is not None else None
        try:
            return self._place(account, exchange, order, listing, size, limit, is_buy=is_buy, builder=builder)
        except InvalidOrder as error:
            if fees is None or builder is None or not refused_for_the_fee(error):
                raise
            fees.revoked(_address(account))
        # Revoked since it was read: nothing was placed, so the same order goes again without the fee.
        logger.info("builder fee no longer approved by %s; ordering without it", _address(account))
        return self._place(account, exchange, order, listing, size, limit, is_buy=is_buy)

    def _close(self, account: VenueAccount, order: OrderRequest) -> Fill:
        listing = self._listing(order.market)  # a delisted market still closes
        exchange = self._exchange(account)
        is_buy = order.side == Side.SHORT
        size, limit, _ = self._priced(order, listing, is_buy=is_buy)
        return self._place(account, exchange, order, listing, size, limit, is_buy=is_buy, reduce_only=True)

    def _priced(
        self, order: OrderRequest, listing: Listing, *, is_buy: bool
    ) -> tuple[Decimal, Decimal, Decimal]:
        """In the venue's contracts: the size down to the step, the IOC limit `slippage` beyond the
        reference, and the reference (kPEPE: sizes /1000, prices x1000)."""
        rules, units = listing.rules, listing.units
        sz_decimals = venue_size_decimals(rules, units)
        size = venue_size(rules.round_size(order.size), units, sz_decimals)
        if size <= 0:
            raise InvalidOrder(
                f"size {order.size} rounds to 0 at {rules.size_decimals} decimals on {order.market}"
            )
        reference = order.reference_price or self.mids().get(order.market)
        if reference is None or reference <= 0:
            raise TemporaryVenueError(f"Hyperliquid has no mid for {order.market} right now")
        reference = reference * units
        try:
            limit = slippage_price(reference, is_buy, self.slippage, sz_decimals)
        except ValueError as e:
            raise InvalidOrder(f"no valid {order.market} price near {reference / units}") from e
        return size, limit, reference

    def _place(
        self,
        account: VenueAccount,
        exchange: Exchange,
        order: OrderRequest,
        listing: Listing,
        size: Decimal,
        limit: Decimal,
        *,
        is_buy: bool,
        reduce_only: bool = False,
        builder: dict[str, Any] | None = None,
    ) -> Fill:
        """Send one IOC order of `size` venue contracts at `limit` (the venue's price); the fill per token.

        `builder` ({b, f}) makes it a builder-coded order: Hyperliquid collects the platform's fee on it."""
        coin = listing.venue_market
        request: SdkOrderRequest = {
            "coin": coin,
            "is_buy": is_buy,
            "sz": float(size),
            "limit_px": float(limit),
            "order_type": IOC,
            "reduce_only": reduce_only or order.reduce_only,
            "cloid": _cloid(order.client_order_id),
        }
        wire = order_request_to_order_wire(request, exchange.info.name_to_asset(coin))
        logger.info(
            "hyperliquid %s %s %s %s @ %s cloid=%s for %r",
            "close" if request["reduce_only"] else "open",
            "buy" if is_buy else "sell",
            size,
            coin,
            limit,
            order.client_order_id,
            account,
        )
        reply = self._post(exchange, order_wires_to_order_action([wire], builder))
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
            return _summed_fill(order.client_order_id, coin, order.side, str(oid), fills)
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

    def _catalog(self, *, reload: bool = False) -> _Catalog:
        """meta, spotMeta and the listings, read once (three requests); `reload` reads meta and mids again."""
        with self._lock:
            cached = self._catalog_cache
            if cached is None or reload:
                api = API(self.base_url, self.timeout)
                with sdk_errors("reading Hyperliquid's markets"):
                    spot_meta = cached.spot_meta if cached else api.post("/info", {"type": "spotMeta"})
                    meta = api.post("/info", {"type": "meta"})
                    mids = api.post("/info", {"type": "allMids"})
                with parsing("meta"):
                    listings = _listings(meta, mids)
                generation = cached.generation + 1 if cached else 1
                self._catalog_cache = _Catalog(meta, spot_meta, listings, generation)
            return self._catalog_cache

    def _info(self) -> Info:
        catalog = self._catalog()
        held = getattr(self._local, "info", None)
        if held is None or held[0] != catalog.generation:
            with parsing("meta or spotMeta"):
                info = Info(
                    self.base_url,
                    skip_ws=True,
                    meta=catalog.meta,
                    spot_meta=catalog.spot_meta,
                    timeout=self.timeout,
                )
            held = self._local.info = (catalog.generation, info)
        return held[1]

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

    def _listing(self, market: str) -> Listing:
        listing = self._catalog().listings.get(market)
        if listing is None:
            raise MarketNotListed(f"{market} is not listed on Hyperliquid")
        return listing

    def _user_state(self, account: VenueAccount) -> dict[str, Any]:
        with sdk_errors("reading the account"):
            return self._info().user_state(_address(account))

    def _fills_of(self, address: str, *, oid: int) -> list[dict[str, Any]]:
        """The fills of one order, from the user's recent fills (Hyperliquid keeps the latest 2000 there)."""
        with sdk_errors("reading fills"):
            fills = self._info().user_fills(address)
        return [f for f in fills if f.get("oid") == oid]


def _listings(meta: dict[str, Any], mids: dict[str, str]) -> dict[str, Listing]:
    """Every perp of `meta` in the app's words, by symbol; a plain name wins over a k-prefixed twin."""
    out: dict[str, Listing] = {}
    for asset in meta["universe"]:
        coin, sz_decimals = asset["name"], int(asset["szDecimals"])
        symbol, units = app_symbol(coin)
        if symbol in out and units != 1:
            continue
        mid = Decimal(mids[coin]) if coin in mids else None
        out[symbol] = Listing(
            symbol=symbol,
            venue_market=coin,
            name=token_name(symbol),
            rules=app_rules(symbol, sz_decimals, Decimal(asset["maxLeverage"]), units, mid),
            units=units,
            is_delisted=bool(asset.get("isDelisted")),
        )
    return out


def _summed_fill(cloid: str, coin: str, side: Side, oid: str, fills: list[dict[str, Any]]) -> Fill:
    """One Fill from an order's fills (an IOC may match several levels): sizes, fees summed; avg price;
    per token (a kPEPE fill of 12 at 0.0105 is 12000 PEPE at 0.0000105)."""
    symbol, units = app_symbol(coin)
    with parsing("userFills"):
        sizes = [Decimal(f["sz"]) for f in fills]
        size = sum(sizes, Decimal(0))
        notional = sum((Decimal(f["px"]) * s for f, s in zip(fills, sizes, strict=True)), Decimal(0))
        builder = [Decimal(f["builderFee"]) for f in fills if f.get("builderFee") is not None]
        return Fill(
            client_order_id=cloid,
            market=symbol,
            side=side,
            size=size * units,
            price=((notional / size).quantize(Decimal("1e-10")) / units).normalize(),
            fee=sum((Decimal(f["fee"]) for f in fills), Decimal(0)),
            venue_order_id=oid,
            filled_at=datetime.fromtimestamp(max(int(f["time"]) for f in fills) / 1000, UTC),
            builder_fee=sum(builder, Decimal(0)) if builder else None,
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
