"""Spot through a Safe: the user's own Safe on Arbitrum swaps USDC <-> whitelisted tokens via our module.

An entry (LONG) buys `size x reference price` USDC worth of the token; a close sells the position's size
(at most what the Safe holds) back to USDC. The deployment's executor key (`account.signer`) signs
`module.swap(safe, orderId, ...)`; the module lets it do nothing else, and our client order id becomes the
on-chain orderId, which the module refuses to swap twice: a retried order can never buy twice.

Prices are ours: mids come from the platform's price feed, and each swap carries a minimum output of the
expected output x (1 - SPOT_SLIPPAGE_BPS), so the router (or the module) reverts rather than fill worse.
A fill's price is what the swap actually paid, USDC per token from the amounts that moved; Uniswap's pool
fee is inside that price, not in `fee`. `fee` is the gas the executor paid, in USD (gas used x effective
gas price x the ETH mid): the executor pays it, not the Safe.

The confirmation rule: an order is filled only once its transaction's receipt says success. `submit` waits
for the receipt up to SPOT_RECEIPT_TIMEOUT_SECONDS and answers with the transaction hash (and no fill) when
it is not mined by then; `status` answers from the module's `fills(safe, orderId)`, which is how an order
whose swap was mined before a crash is found again.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)

from backend.config import Settings
from backend.models.common import utcnow
from backend.models.enums import ExecutionVenue, Side
from backend.prices.feed import PriceFeed
from backend.prices.markets import tick_for
from backend.spot.artifacts import erc20_contract, module_contract
from backend.spot.chains import Chain, Token, chain_from_settings
from backend.trading.market import Balance, MarketRules
from backend.venues import capabilities
from backend.venues.base import (
    Fill,
    InsufficientFunds,
    InvalidOrder,
    Listing,
    MarketNotListed,
    OrderRequest,
    OrderState,
    OrderStatus,
    Submitted,
    TemporaryVenueError,
    VenueAccount,
    VenueError,
    VenuePosition,
)
from backend.venues.token_names import token_name

logger = logging.getLogger(__name__)

SIZE_DECIMALS_CAP = 8  # finer steps than 1e-8 of a token buy nothing (1e-8 BTC is under a tenth of a cent)
BOOK_QUANTUM = Decimal("1e-10")  # what our books store (Numeric(28, 10)): a fill's size rounds down to it
DUST_USD = Decimal(1)  # a token balance worth less is not a position (what rounding leaves after a close)
GAS_HEADROOM = Decimal("1.3")  # over the estimate: the Safe's inner calls make estimates tight
WEI = Decimal(10) ** 18
_CLOID = re.compile(r"^0x[0-9a-fA-F]{32}$")


class SafeSpotVenue:
    venue = ExecutionVenue.SPOT
    capabilities = capabilities.SPOT

    def __init__(
        self,
        chain: Chain,
        web3: Web3,
        feed: PriceFeed,
        *,
        slippage_bps: int = 50,
        receipt_timeout: float = 120.0,
        poll_latency: float = 0.1,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """No request is made here; `chain.module` must be the deployed module."""
        if chain.module is None:
            raise ValueError(f"no Maxxit spot module is known on {chain.name}: set SPOT_MODULE_ADDRESS")
        if not 0 < slippage_bps < 10_000:
            raise ValueError("slippage_bps is between 0 and 10000 (exclusive)")
        self.chain = chain
        self.web3 = web3
        self.slippage = Decimal(slippage_bps) / 10_000
        self.receipt_timeout = receipt_timeout
        self.poll_latency = poll_latency
        self._feed = feed
        self._clock = clock
        self._module = module_contract(web3, chain.module)
        self._rules: dict[str, MarketRules] | None = None
        self._signer_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, feed: PriceFeed) -> SafeSpotVenue | None:
        """The spot venue of the configured chain; None when spot is off or no module is deployed there."""
        chain = chain_from_settings(settings)
        if chain is None or chain.module is None:
            return None
        provider = Web3.HTTPProvider(settings.arbitrum_rpc_url, request_kwargs={"timeout": 20})
        return cls(
            chain,
            Web3(provider),
            feed,
            slippage_bps=settings.spot_slippage_bps,
            receipt_timeout=settings.spot_receipt_timeout_seconds,
        )

    def __repr__(self) -> str:
        return f"SafeSpotVenue({self.chain.name}, module={self.chain.module})"

    # -- reads ----------------------------------------------------------------------------------------

    def markets(self) -> dict[str, MarketRules]:
        """The chain's whitelisted tokens; ticks from the first mids read (kept until `listings()`)."""
        if self._rules is None:
            self._rules = self._read_rules()
        return dict(self._rules)

    def listings(self) -> list[Listing]:
        """The chain's tokens with their address and decimals (the token registry keeps them)."""
        self._rules = self._read_rules()
        return [
            Listing(
                symbol=symbol,
                venue_market=symbol,
                name=token_name(symbol),
                rules=self._rules[symbol],
                chain=self.chain.name,
                address=token.address,
                decimals=token.decimals,
            )
            for symbol, token in self.chain.tokens.items()
        ]

    def mids(self) -> dict[str, Decimal]:
        """Our own price feed's mids of the chain's tokens: the prices swaps are guarded against."""
        return self._feed.mids(self._clock(), list(self.chain.tokens))

    def balance(self, account: VenueAccount) -> Balance:
        """USDC in the Safe is what is available; equity adds the tokens it holds at mids."""
        safe = _safe(account)
        cash = self.chain.usdc.from_units(self._balance_of(self.chain.usdc, safe))
        held = self._holdings(safe)
        mids = self.mids() if held else {}
        equity = cash + sum(
            (size * mids.get(symbol, Decimal(0)) for symbol, size in held.items()), Decimal(0)
        )
        return Balance(equity=equity, available=cash)

    def positions(self, account: VenueAccount) -> list[VenuePosition]:
        """Each whitelisted token the Safe holds worth DUST_USD or more, as a LONG.

        The chain does not know what was paid for it: the entry price given is today's mid (and so no
        unrealised PnL); our own positions keep the real entry.
        """
        held = self._holdings(_safe(account))
        mids = self.mids() if held else {}
        out = []
        for symbol, size in held.items():
            mid = mids.get(symbol)
            if mid is None or size * mid < DUST_USD:
                continue
            out.append(
                VenuePosition(market=symbol, side=Side.LONG, size=size, entry_price=mid, leverage=Decimal(1))
            )
        return out

    def closing_fill(self, account: VenueAccount, market: str, side: Side) -> Fill | None:
        """A Safe's tokens leave only through our swaps or the owners' own transactions, whose price the
        chain does not say: none (capabilities.SPOT.reports_closing_fills is False)."""
        return None

    # -- orders ---------------------------------------------------------------------------------------

    def submit(self, account: VenueAccount, order: OrderRequest) -> Submitted:
        """Swap for the order and wait for the receipt; a second submit of one client order id returns the
        first one's fill and swaps nothing."""
        safe, signer = _safe(account), _signer(account)
        token = self._token(order.market)
        oid = order_id(order.client_order_id)
        if order.side != Side.LONG:
            raise InvalidOrder(
                f"spot cannot {'close' if order.reduce_only else 'open'} a short on {order.market}"
            )
        done = self._recorded(safe, oid, order.client_order_id)
        if done is not None:
            logger.info("spot order %s was already swapped (%s)", order.client_order_id, done.venue_order_id)
            return Submitted(venue_order_id=done.venue_order_id, fill=done)
        reference = order.reference_price or self.mids().get(order.market)
        if reference is None or reference <= 0:
            raise TemporaryVenueError(f"no price for {order.market} right now")
        if order.reduce_only:
            token_in, token_out, amount_in, min_out = self._sell(safe, token, order, reference)
        else:
            token_in, token_out, amount_in, min_out = self._buy(safe, token, order, reference)
        call = self._module.functions.swap(
            safe, oid, token_in.address, token_out.address, token.pool_fee, amount_in, min_out
        )
        logger.info(
            "spot %s %s %s: %s %s in, at least %s %s out, cloid=%s for %r",
            "sell" if order.reduce_only else "buy",
            order.size,
            order.market,
            token_in.from_units(amount_in),
            token_in.symbol,
            token_out.from_units(min_out),
            token_out.symbol,
            order.client_order_id,
            account,
        )
        with self._signer_lock(signer.address):
            gas = self._simulate(call, signer, safe, oid, order.client_order_id)
            if isinstance(gas, Fill):  # the simulation said the order id was used: it swapped meanwhile
                return Submitted(venue_order_id=gas.venue_order_id, fill=gas)
            tx_hash = self._send(call, signer, gas)
        return self._settle(safe, oid, order.client_order_id, tx_hash, call, signer)

    def status(
        self, account: VenueAccount, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderStatus:
        """FILLED when the module recorded a swap for the order id (whatever we remember of it); else what
        the chain says of the transaction we sent: PENDING while not mined, FAILED when it reverted, UNKNOWN
        when the chain never saw it (safe to submit again)."""
        safe = _safe(account)
        done = self._recorded(safe, order_id(client_order_id), client_order_id)
        if done is not None:
            return OrderStatus(OrderState.FILLED, fill=done, venue_order_id=done.venue_order_id)
        if not venue_order_id:
            return OrderStatus(OrderState.UNKNOWN)
        with rpc_errors(f"looking up transaction {venue_order_id}"):
            try:
                receipt = self.web3.eth.get_transaction_receipt(venue_order_id)
            except TransactionNotFound:
                receipt = None
            if receipt is None:
                try:
                    self.web3.eth.get_transaction(venue_order_id)
                except TransactionNotFound:
                    return OrderStatus(OrderState.UNKNOWN, venue_order_id=venue_order_id)
                return OrderStatus(OrderState.PENDING, venue_order_id=venue_order_id)
        if receipt["status"] == 1:  # mined after our fills read: read again
            done = self._recorded(safe, order_id(client_order_id), client_order_id)
            if done is not None:
                return OrderStatus(OrderState.FILLED, fill=done, venue_order_id=done.venue_order_id)
        reason = self._revert_reason(venue_order_id, receipt)
        return OrderStatus(
            OrderState.FAILED, venue_order_id=venue_order_id, reason=swap_error(reason, self).reason
        )

    # -- the two sides --------------------------------------------------------------------------------

    def _buy(
        self, safe: str, token: Token, order: OrderRequest, reference: Decimal
    ) -> tuple[Token, Token, int, int]:
        usdc = self.chain.usdc
        amount_in = usdc.to_units(order.size * reference)
        notional = usdc.from_units(amount_in)
        minimum = self.capabilities.min_notional
        if notional < minimum:
            raise InvalidOrder(
                f"{order.size} {order.market} is worth ${notional:.2f}, under the ${minimum} minimum"
            )
        cash = self._balance_of(usdc, safe)
        if cash < amount_in:
            raise InsufficientFunds(
                f"the Safe holds {_text(usdc.from_units(cash))} USDC; {order.size} {order.market} needs "
                f"{_text(notional)}"
            )
        min_out = token.to_units(notional / reference * (1 - self.slippage))
        if min_out <= 0:
            raise InvalidOrder(f"{order.size} {order.market} is too small to swap")
        return usdc, token, amount_in, min_out

    def _sell(
        self, safe: str, token: Token, order: OrderRequest, reference: Decimal
    ) -> tuple[Token, Token, int, int]:
        held = self._balance_of(token, safe)
        amount_in = min(token.to_units(order.size), held)
        if amount_in <= 0:
            raise InvalidOrder(f"the Safe holds no {order.market} to sell")
        min_out = self.chain.usdc.to_units(token.from_units(amount_in) * reference * (1 - self.slippage))
        if min_out <= 0:
            raise InvalidOrder(f"{token.from_units(amount_in)} {order.market} is too little to sell")
        return token, self.chain.usdc, amount_in, min_out

    # -- sending and settling -------------------------------------------------------------------------

    def _simulate(self, call: Any, signer: LocalAccount, safe: str, oid: bytes, cloid: str) -> int | Fill:
        """The gas the swap needs, from a simulation: a swap that would revert is refused before it costs
        gas. An "order id used" revert means the order swapped since we looked: its fill."""
        try:
            with rpc_errors("simulating the swap"):
                return int(Decimal(call.estimate_gas({"from": signer.address})) * GAS_HEADROOM)
        except ContractLogicError as e:
            reason = _reason(e)
            if "order id used" in reason:
                done = self._recorded(safe, oid, cloid)
                if done is not None:
                    return done
            raise swap_error(reason, self) from e

    def _send(self, call: Any, signer: LocalAccount, gas: int) -> str:
        """Sign and send; the hash is known before sending, so a send that fails in flight is still found."""
        with rpc_errors("sending the swap"):
            tx = call.build_transaction(
                {
                    "from": signer.address,
                    "nonce": self.web3.eth.get_transaction_count(signer.address, "pending"),
                    "chainId": self.chain.chain_id,
                    "gas": gas,
                }
            )
            signed = signer.sign_transaction(tx)
            tx_hash = "0x" + bytes(signed.hash).hex()
            try:
                self.web3.eth.send_raw_transaction(signed.raw_transaction)
            except Web3RPCError as e:
                if "insufficient funds" in str(e).lower():
                    raise InsufficientFunds(
                        f"the executor {signer.address} has too little ETH to pay gas: send it some"
                    ) from e
                raise
        logger.info("spot swap sent: %s", tx_hash)
        return tx_hash

    def _settle(
        self, safe: str, oid: bytes, cloid: str, tx_hash: str, call: Any, signer: LocalAccount
    ) -> Submitted:
        """Wait for the receipt: success is the fill; a revert raises what it means; not mined in time is
        the hash alone (`status` answers later)."""
        try:
            with rpc_errors(f"waiting for {tx_hash}"):
                receipt = self.web3.eth.wait_for_transaction_receipt(
                    tx_hash, timeout=self.receipt_timeout, poll_latency=self.poll_latency
                )
        except TimeExhausted:
            logger.warning("spot swap %s not mined within %ss", tx_hash, self.receipt_timeout)
            return Submitted(venue_order_id=tx_hash)
        if receipt["status"] == 1:
            done = self._recorded(safe, oid, cloid, receipt=receipt)
            if done is None:
                raise VenueError(f"swap {tx_hash} succeeded but the module recorded no fill for {cloid}")
            return Submitted(venue_order_id=tx_hash, fill=done)
        reason = self._revert_reason(tx_hash, receipt)
        if "order id used" in reason:
            done = self._recorded(safe, oid, cloid)
            if done is not None:
                return Submitted(venue_order_id=done.venue_order_id, fill=done)
        raise swap_error(reason, self)

    def _recorded(self, safe: str, oid: bytes, cloid: str, *, receipt: Any = None) -> Fill | None:
        """The module's record of the swap with this order id, as our fill; None when there is none."""
        with rpc_errors(f"reading the fill of {cloid}"):
            token_in, token_out, amount_in, amount_out, block = self._module.functions.fills(safe, oid).call()
            if amount_out == 0:
                return None
            if receipt is None:
                receipt = self._swap_receipt(safe, oid, block)
            timestamp = self.web3.eth.get_block(block)["timestamp"]
        return self._fill(cloid, token_in, token_out, amount_in, amount_out, receipt, timestamp)

    def _swap_receipt(self, safe: str, oid: bytes, block: int) -> Any:
        """The receipt of the transaction that swapped (its Swapped event, in the block `fills` names)."""
        logs = self._module.events.Swapped().get_logs(
            argument_filters={"safe": safe, "orderId": oid}, from_block=block, to_block=block
        )
        if not logs:
            return None
        return self.web3.eth.get_transaction_receipt(logs[0]["transactionHash"])

    def _fill(
        self,
        cloid: str,
        token_in: str,
        token_out: str,
        amount_in: int,
        amount_out: int,
        receipt: Any,
        timestamp: int,
    ) -> Fill:
        """USDC per token from the amounts that moved (the pool fee is inside it); size in tokens, down to
        what our books hold; fee the executor's gas in USD."""
        usdc = self.chain.usdc
        buying = token_in.lower() == usdc.address.lower()
        address = token_out if buying else token_in
        token = self.chain.by_address(address)
        if token is None:
            raise VenueError(f"the module swapped a token the chain table does not list ({address})")
        cash = usdc.from_units(amount_in if buying else amount_out)
        tokens = token.from_units(amount_out if buying else amount_in)
        return Fill(
            client_order_id=cloid,
            market=token.symbol,
            side=Side.LONG,
            size=tokens.quantize(BOOK_QUANTUM, rounding=ROUND_DOWN),
            price=(cash / tokens).quantize(BOOK_QUANTUM),
            fee=self._gas_usd(receipt),
            venue_order_id=_hex(receipt["transactionHash"]) if receipt is not None else None,
            filled_at=datetime.fromtimestamp(timestamp, UTC),
        )

    def _gas_usd(self, receipt: Any) -> Decimal:
        """What the executor paid for the transaction, at the ETH mid (0 when the receipt is not found)."""
        if receipt is None:
            return Decimal(0)
        wei = Decimal(receipt["gasUsed"]) * Decimal(receipt.get("effectiveGasPrice", 0))
        if wei == 0:
            return Decimal(0)
        eth = self._feed.mids(self._clock(), ["ETH"]).get("ETH")
        if eth is None:
            logger.warning("no ETH price: the gas of %s is booked as 0", _hex(receipt["transactionHash"]))
            return Decimal(0)
        return (wei / WEI * eth).quantize(Decimal("1e-8"))

    def _revert_reason(self, tx_hash: str, receipt: Any) -> str:
        """Why a mined transaction reverted: replayed as a call on the state it ran against."""
        with rpc_errors(f"reading why {tx_hash} failed"):
            tx = self.web3.eth.get_transaction(tx_hash)
            replay = {
                "from": tx["from"],
                "to": tx["to"],
                "data": tx["input"],
                "gas": tx["gas"],
                "value": tx["value"],
            }
            try:
                self.web3.eth.call(replay, block_identifier=max(receipt["blockNumber"] - 1, 0))
            except ContractLogicError as e:
                return _reason(e)
        return "reverted on chain (no reason given)"

    # -- plumbing -------------------------------------------------------------------------------------

    def _read_rules(self) -> dict[str, MarketRules]:
        mids = self.mids()
        return {
            symbol: _rules(token, mids.get(symbol), self.capabilities.min_notional)
            for symbol, token in self.chain.tokens.items()
        }

    def _token(self, market: str) -> Token:
        token = self.chain.token(market)
        if token is None:
            raise MarketNotListed(f"{market} is not tradable as spot on {self.chain.name}")
        return token

    def _balance_of(self, token: Token, owner: str) -> int:
        contract = erc20_contract(self.web3, token.address)
        with rpc_errors(f"reading the {token.symbol} balance"):
            return int(contract.functions.balanceOf(owner).call())

    def _holdings(self, safe: str) -> dict[str, Decimal]:
        """Token amounts the Safe holds, non-zero ones only."""
        out = {}
        for symbol, token in self.chain.tokens.items():
            units = self._balance_of(token, safe)
            if units:
                out[symbol] = token.from_units(units)
        return out

    def _signer_lock(self, address: str) -> threading.Lock:
        """One send at a time per executor: each takes the next nonce."""
        with self._locks_lock:
            return self._signer_locks.setdefault(address.lower(), threading.Lock())


def swap_error(reason: str, venue: SafeSpotVenue) -> VenueError:
    """A revert reason in our words (the module's, the Safe's GS codes, the router's and tokens')."""
    lowered = reason.lower()
    if "slippage" in lowered or "too little received" in lowered:
        bps = venue.slippage * 10_000
        return InvalidOrder(
            f"the price moved more than {bps.normalize():f} bps against the swap: not filled ({reason})"
        )
    if "gs104" in lowered or "not executor" in lowered:
        return InvalidOrder(f"Safe module not enabled for this deployment's executor ({reason})")
    if "exceeds balance" in lowered or "insufficient balance" in lowered or lowered.endswith(": stf"):
        return InsufficientFunds(f"the Safe does not hold enough to swap ({reason})")
    if "pair not allowed" in lowered:
        return MarketNotListed(f"the module does not allow that token ({reason})")
    return InvalidOrder(f"swap refused on chain: {reason}")


@contextmanager
def rpc_errors(doing: str) -> Iterator[None]:
    """Network trouble and RPC failures as TemporaryVenueError; reverts (ContractLogicError) pass through."""
    try:
        yield
    except (ContractLogicError, VenueError, TimeExhausted, TransactionNotFound):
        raise
    except (requests.RequestException, OSError, TimeoutError) as e:
        raise TemporaryVenueError(f"chain unreachable {doing}: {type(e).__name__}") from e
    except Web3Exception as e:
        raise TemporaryVenueError(f"chain error {doing}: {e}") from e


def _rules(token: Token, mid: Decimal | None, min_notional: Decimal) -> MarketRules:
    size_decimals = min(token.decimals, SIZE_DECIMALS_CAP)
    return MarketRules(
        market=token.symbol,
        size_decimals=size_decimals,
        tick_size=tick_for(mid) if mid else Decimal("1e-6"),
        min_notional=min_notional,
        max_leverage=Decimal(1),
        min_size=Decimal(1).scaleb(-size_decimals),
    )


def _reason(error: ContractLogicError) -> str:
    text = str(error.message if getattr(error, "message", None) else error)
    return text.removeprefix("execution reverted: ").removeprefix("execution reverted").strip() or "reverted"


def order_id(client_order_id: str) -> bytes:
    """The module's bytes32 orderId for our client order id (0x + 32 hex digits): its 16 bytes, zero-padded
    on the right."""
    if not _CLOID.match(client_order_id):
        raise InvalidOrder(f"client order id {client_order_id!r} is not 0x and 32 hex digits")
    return bytes.fromhex(client_order_id[2:]).ljust(32, b"\0")


def _safe(account: VenueAccount) -> str:
    if not account.address:
        raise InvalidOrder(f"deployment {account.deployment_id} has no Safe address")
    return Web3.to_checksum_address(account.address)


def _signer(account: VenueAccount) -> LocalAccount:
    if account.signer is None:
        raise InvalidOrder(f"deployment {account.deployment_id} has no executor key to sign with")
    return account.signer


def _text(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()
