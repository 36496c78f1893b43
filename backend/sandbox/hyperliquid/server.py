"""The HTTP side: a thread serving POST /info and POST /exchange, and the hooks tests drive it with."""

from __future__ import annotations

import copy
import json
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any

from eth_utils import is_address

from backend.prices.markets import MarketSpec
from backend.sandbox.hyperliquid.actions import handle_exchange
from backend.sandbox.hyperliquid.info import handle_info
from backend.sandbox.hyperliquid.numbers import parse
from backend.sandbox.hyperliquid.state import State
from backend.sandbox.serving import LocalHttpServer


@dataclass(frozen=True)
class _Fault:
    status: int | None  # None: answer normally after the delay
    delay: float
    body: str
    path: str | None  # None: whatever request comes next


class HyperliquidServer(LocalHttpServer):
    """A Hyperliquid-compatible API on 127.0.0.1 in a thread: `start()`/`stop()` or a context manager.

    Every hook is thread-safe. Addresses may be given in any case.
    """

    thread_name = "hyperliquid-server"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        is_mainnet: bool = False,
        seed: int = 7,
        markets: Mapping[str, MarketSpec] | None = None,
        faucet_usd: Decimal | None = None,
    ) -> None:
        """`faucet_usd`: serve POST /sandbox/faucet crediting up to this much per request (the demo's
        sandbox); None, no faucet (as Hyperliquid)."""
        self.state = State(is_mainnet=is_mainnet, seed=seed, markets=markets)
        self.faucet_usd = faucet_usd
        super().__init__(host, port)
        self._faults: deque[_Fault] = deque()

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def is_mainnet(self) -> bool:
        return self.state.is_mainnet

    # -- test hooks -----------------------------------------------------------------------------------

    def fund(self, user: str, amount: Decimal | int | str) -> None:
        """Deposit USDC to a user's perp account (creating the user)."""
        with self.state.lock:
            self.state.fund(user, Decimal(amount))

    def set_mid(self, coin: str, price: Decimal | int | str | None) -> None:
        """Pin a market's mid (fills happen at the mid); None goes back to the simulated feed."""
        with self.state.lock:
            if self.state.perp(coin) is None:
                raise KeyError(coin)
            if price is None:
                self.state.mid_overrides.pop(coin, None)
            else:
                self.state.mid_overrides[coin] = Decimal(price)

    def delist(self, coin: str) -> None:
        """Flag a perp delisted in `meta`; it stays priced and takes reduce-only orders (exits) only."""
        with self.state.lock:
            if self.state.perp(coin) is None:
                raise KeyError(coin)
            self.state.delisted.add(coin)

    def relist(self, coin: str) -> None:
        with self.state.lock:
            self.state.delisted.discard(coin)

    def orders(self, user: str) -> list[dict[str, Any]]:
        """Every order the user's account received, oldest first, each with its `status`."""
        with self.state.lock:
            account = self.state.account(user)
            return [] if account is None else [{**o.to_api(), "status": o.status} for o in account.orders]

    def fills(self, user: str) -> list[dict[str, Any]]:
        """The user's fills in userFills' shape, oldest first."""
        with self.state.lock:
            account = self.state.account(user)
            return [] if account is None else copy.deepcopy(account.fills)

    def agents(self, user: str) -> dict[str, str]:
        """The user's approved agents: name ("" for the unnamed one) -> checksummed address."""
        with self.state.lock:
            return self.state.agents_of(user)

    def actions(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every action posted to /exchange (refused ones too), optionally of one type."""
        with self.state.lock:
            return [copy.deepcopy(a) for a in self.state.actions if kind is None or a.get("type") == kind]

    def info_requests(self, kind: str | None = None) -> list[str]:
        """The type of every /info request served, optionally only those of one type."""
        with self.state.lock:
            return [k for k in self.state.info_requests if kind is None or k == kind]

    def fail_next(self, status: int, *, count: int = 1, body: str = "null", path: str | None = None) -> None:
        """Answer the next `count` requests (to `path`, "/info" or "/exchange", when given) with this HTTP
        status (503, 429 ...) instead of serving them."""
        with self.state.lock:
            self._faults.extend(_Fault(status, 0.0, body, path) for _ in range(count))

    def stall_next(self, seconds: float, *, count: int = 1, path: str | None = None) -> None:
        """Hold the next `count` requests (to `path` when given) this long before serving them."""
        with self.state.lock:
            self._faults.extend(_Fault(None, seconds, "", path) for _ in range(count))

    # -- HTTP -----------------------------------------------------------------------------------------

    def _take_fault(self, path: str) -> _Fault | None:
        with self.state.lock:
            for fault in self._faults:
                if fault.path in (None, path):
                    self._faults.remove(fault)
                    return fault
            return None

    def _serve(self, path: str, raw: bytes) -> tuple[int, Any]:
        fault = self._take_fault(path)
        if fault is not None:
            time.sleep(fault.delay)
            if fault.status is not None:
                return fault.status, fault.body
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return 422, "Failed to deserialize the JSON body"
        if path == "/info":
            return handle_info(self.state, body)
        if path == "/exchange":
            return 200, handle_exchange(self.state, body)
        if path == "/sandbox/faucet" and self.faucet_usd is not None:
            return self._faucet(body)
        return 404, "Not found"

    def _faucet(self, body: Any) -> tuple[int, Any]:
        """Credit sandbox USDC to a wallet: {"user": address, "amount": "1000"} → its new balance."""
        user = body.get("user") if isinstance(body, dict) else None
        if not (isinstance(user, str) and is_address(user)):
            return 422, "user: expected a 0x address"
        amount = parse(str(body.get("amount", self.faucet_usd)))
        if amount is None or not 0 < amount <= self.faucet_usd:
            return 422, f"amount: expected more than 0 and at most {self.faucet_usd}"
        with self.state.lock:
            self.state.fund(user, amount)
            balance = self.state.account(user).cash
        return 200, {"user": user.lower(), "credited": str(amount), "balance": str(balance)}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, reply = server._serve(self.path, raw)
                text = reply if isinstance(reply, str) else json.dumps(reply)
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header(
                        "Content-Type", "text/plain" if isinstance(reply, str) else "application/json"
                    )
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests and benchmarks read the hooks, not an access log

        return Handler
