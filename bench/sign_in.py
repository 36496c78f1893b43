"""Sign-in cost: median time of each server step of Sign-In-With-Ethereum, on SQLite and PostgreSQL.

Steps: issue a challenge (nonce row + EIP-4361 text), verify a signed message (parse, field checks,
ECDSA recovery, nonce spend, user + session + audit rows), and authenticate a token (the check every
signed-in request pays). Prints medians in ms and how many of each one core does per second.

    .venv/bin/python -m bench.sign_in [--repeat 200] [--no-postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlmodel import Session

from backend.auth import service
from backend.config import Settings
from backend.db import make_engine, migrate
from tests.pgtools import temporary_pg_database
from tests.wallets import TEST_SECRET_KEY, Wallet

SETTINGS = Settings(maxxit_secret_key=TEST_SECRET_KEY, public_url="https://maxxit.example")
STEPS = ("issue challenge", "verify signature", "authenticate token")
console = Console()


def measure(engine: sa.Engine, repeat: int, label: str) -> dict[str, float]:
    """Medians over `repeat` fresh wallets, each signing in once and then authenticating once."""
    samples: dict[str, list[float]] = {step: [] for step in STEPS}
    wallets = [Wallet() for _ in range(repeat)]
    clock = time.perf_counter
    with Session(engine, expire_on_commit=False) as session:
        for wallet in track(wallets, description=f"{label:<10}", console=console):
            t0 = clock()
            challenge = service.issue_challenge(session, wallet.address, settings=SETTINGS)
            t1 = clock()
            signature = wallet.sign(challenge.message)  # the wallet's work, not the server's: not timed
            t2 = clock()
            signed = service.sign_in(session, challenge.message, signature, settings=SETTINGS)
            t3 = clock()
            service.authenticate(session, signed.token, settings=SETTINGS)
            t4 = clock()
            for step, ms in zip(STEPS, ((t1 - t0), (t3 - t2), (t4 - t3)), strict=True):
                samples[step].append(ms * 1000)
    return {step: statistics.median(values) for step, values in samples.items()}


@contextlib.contextmanager
def database(kind: str) -> Iterator[sa.Engine]:
    if kind == "PostgreSQL":
        with temporary_pg_database("maxxit_bench") as url:
            migrate(url)
            engine = make_engine(url)
            yield engine
            engine.dispose()
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    kinds = ["SQLite"] + ([] if args.no_postgres else ["PostgreSQL"])
    results = {}
    for kind in kinds:
        with database(kind) as engine:
            results[kind] = measure(engine, args.repeat, kind)
    table = Table(title=f"Sign-in steps, median of {args.repeat} (ms; per second on one core)")
    table.add_column("step")
    for kind in kinds:
        table.add_column(f"{kind} ms", justify="right")
        table.add_column("/s", justify="right")
    for step in STEPS:
        cells = []
        for kind in kinds:
            ms = results[kind][step]
            cells += [f"{ms:.2f}", f"{1000 / ms:,.0f}"]
        table.add_row(step, *cells)
    console.print(table)


if __name__ == "__main__":
    main()
