"""`python -m backend.sandbox.hyperliquid --port 8787 [--fund 0xADDR=10000 ...] [--mainnet] [--seed 7]
[--state data/sandbox.pickle] [--faucet 10000]`: the local server on its own, as `make run` starts it."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path

from eth_utils import is_address

from backend.sandbox.hyperliquid.server import HyperliquidServer

SAVE_EVERY_S = 5.0


def _funding(text: str) -> tuple[str, Decimal]:
    address, _, amount = text.partition("=")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0xADDRESS=AMOUNT") from None
    if not is_address(address) or not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0xADDRESS=AMOUNT")
    return address, value


def _positive(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive amount") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive amount")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m backend.sandbox.hyperliquid", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--fund", type=_funding, action="append", default=[], metavar="0xADDR=USD")
    parser.add_argument(
        "--mainnet", action="store_true", help="verify signatures as mainnet (default testnet)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated prices")
    parser.add_argument(
        "--state", type=Path, help="remember accounts and approvals in this file across restarts"
    )
    parser.add_argument(
        "--faucet", type=_positive, metavar="USD", help="serve POST /sandbox/faucet, up to USD"
    )
    args = parser.parse_args(argv)

    server = HyperliquidServer(
        host=args.host, port=args.port, is_mainnet=args.mainnet, seed=args.seed, faucet_usd=args.faucet
    )
    if args.state is not None and args.state.exists():
        server.state.restore(args.state.read_bytes())
    for address, amount in args.fund:
        server.fund(address, amount)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        network = "mainnet" if args.mainnet else "testnet"
        print(
            f"Hyperliquid sandbox ({network}, no real funds) on http://{args.host}:{server.port}", flush=True
        )
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(SAVE_EVERY_S):
                _save(server, args.state)
        _save(server, args.state)


def _save(server: HyperliquidServer, path: Path | None) -> None:
    """Write the state atomically: a crash mid-write leaves the previous file."""
    if path is None:
        return
    with server.state.lock:
        data = server.state.snapshot()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


if __name__ == "__main__":
    main()
