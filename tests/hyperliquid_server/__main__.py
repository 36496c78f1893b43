"""`python -m tests.hyperliquid_server --port 8787 [--fund 0xADDR=10000 ...] [--mainnet] [--seed 7]`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from decimal import Decimal, InvalidOperation

from eth_utils import is_address

from tests.hyperliquid_server.server import HyperliquidServer


def _funding(text: str) -> tuple[str, Decimal]:
    address, _, amount = text.partition("=")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0xADDRESS=AMOUNT") from None
    if not is_address(address) or not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0xADDRESS=AMOUNT")
    return address, value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.hyperliquid_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--fund", type=_funding, action="append", default=[], metavar="0xADDR=USD")
    parser.add_argument(
        "--mainnet", action="store_true", help="verify signatures as mainnet (default testnet)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated prices")
    args = parser.parse_args(argv)

    server = HyperliquidServer(host=args.host, port=args.port, is_mainnet=args.mainnet, seed=args.seed)
    for address, amount in args.fund:
        server.fund(address, amount)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        network = "mainnet" if args.mainnet else "testnet"
        print(f"Hyperliquid test server ({network}) on http://{args.host}:{server.port}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
