"""`maxxit` command line: up, worker, migrate, seed, refresh-venues, create-admin, backtest.

`up` runs the embedded platform: migrate, seed the demo, start the Huey consumer and the Reflex app,
and stop every process it started on Ctrl-C. Workers run as processes, so this module never imports
the task package (backend stays importable without it).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from backend.config import PROJECT_ROOT, Settings, get_settings
from backend.db import migrate as run_migrations
from backend.db import session_scope
from backend.modes import live_mode_problems
from backend.processes import Children
from backend.sandbox import launch as sandbox
from backend.secret_key import SecretKeyMissing, load_secret_key
from backend.toolchain import reflex_environment
from backend.venues.catalog import SANDBOX_LABEL

app = typer.Typer(help="Maxxit: agentic trading platform.", no_args_is_help=True, add_completion=False)
console = Console()
err_console = Console(stderr=True)  # progress and errors, so that --json output stays parseable
logger = logging.getLogger("maxxit")

READY_TIMEOUT_S = 600
STOP_GRACE_S = 10


@app.callback()
def _configure(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        get_settings()
    except ValidationError as error:
        # A mistyped setting (ENV=production) is the operator's to fix: say which and how, no traceback.
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]).upper() or "settings"
            console.print(f"[red]Invalid setting {name}[/]: {problem['msg']} (got {problem['input']!r})")
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    with console.status("Migrating the database..."):
        run_migrations()
    console.print(f"[green]Database at head[/] ({_redacted(get_settings().database_url)})")


@app.command()
def seed() -> None:
    """Load the demo data (idempotent: a second run adds nothing). Refused when ENV=prod."""
    if get_settings().env == "prod":
        console.print("[red]Refusing to seed:[/] the demo's made-up agents and posts have no place in prod.")
        raise typer.Exit(2)
    from backend.demo.seed import seed_demo
    from backend.prices.simulated import SimulatedPriceFeed

    columns = (TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar, session_scope() as session:
        task = bar.add_task("Seeding demo agents", total=None)

        def step(name: str, done: int, total: int) -> None:
            bar.update(task, description=name[:32], completed=done, total=total)

        feed = SimulatedPriceFeed(seed=get_settings().price_feed_seed)
        report = seed_demo(session, feed=feed, progress=step)
    console.print(
        f"[green]Demo data ready[/]: {report.agents_created} agents created, "
        f"{report.agents_skipped} already there, {report.posts_created} posts, "
        f"{report.positions_created} positions"
    )


@app.command("reference-books")
def reference_books() -> None:
    """Open the reference book of every agent that has none (agents made before books or by hand).

    New agents get theirs when created and the signal generator opens a missing one before an agent's
    first signal; this backfills the rest at once, so their figures start now rather than at a signal.
    """
    from backend.agents.reference import ensure_all_reference_books

    with session_scope() as session:
        opened = ensure_all_reference_books(session, capital=get_settings().reference_capital_usd)
    console.print(f"[green]{opened} reference book(s) opened[/]")


@app.command("refresh-venues")
def refresh_venues_now() -> None:
    """Read every venue's markets into the token registry now (workers also do it on start and hourly)."""
    from backend.markets.refresh import refresh_venues
    from backend.models.common import utcnow
    from backend.runtime import venue_registry

    run_migrations()
    registry = venue_registry()
    with console.status("Asking the venues for their markets..."), session_scope() as session:
        report = refresh_venues(session, [registry.get(name) for name in registry.names], utcnow())
    for v in report.venues:
        if v.error:
            console.print(f"[red]{v.venue}[/]: unreachable ({v.error}); its markets are kept as they were")
            continue
        console.print(
            f"[green]{v.venue}[/]: {v.listed} listed, {v.active} active; {len(v.added)} added, "
            f"{len(v.changed)} with new rules, {len(v.delisted)} delisted, {len(v.relisted)} relisted"
        )
    if report.errors:
        raise typer.Exit(1)


@app.command("create-admin")
def create_admin(address: str = typer.Argument(..., help="The operator's wallet address (0x...).")) -> None:
    """Make a wallet an admin (creating its user if it never signed in); the first admin comes from here."""
    from backend.auth.errors import InvalidAddress
    from backend.auth.users import create_admin as make_admin

    run_migrations()
    try:
        with session_scope() as session:
            user, changed = make_admin(session, address)
    except InvalidAddress as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(code=2) from e
    verb = "is now" if changed else "was already"
    console.print(f"[green]{user.address} {verb} an admin.[/] Sign in with that wallet for the Admin menu.")


@app.command()
def backtest(
    agent_id: int = typer.Argument(..., min=1, help="The agent whose newest version is tested."),
    days: int = typer.Option(30, "--days", help="The last 7, 30 or 90 days."),
    capital: str = typer.Option("10000", "--capital", help="Starting capital in USD."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON only."),
) -> None:
    """Backtest an agent on the stored posts and prices, through the engine that trades it live.

    Runs as the operator without a user (the service's `system` run): listed agents only, nothing stored.
    """
    from backend.agents.service import AgentNotFound
    from backend.backtest import service
    from backend.backtest.schemas import BacktestRequest
    from backend.backtest.sources import build_sources
    from backend.backtest.tables import print_report

    try:
        request = BacktestRequest.model_validate(
            {"agent_id": agent_id, "period": {"days": days}, "capital": capital}
        )
    except ValidationError as error:
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]) or "request"
            err_console.print(f"[red]Invalid {name}[/]: {problem['msg']}")
        raise typer.Exit(2) from None
    columns = (TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar, session_scope() as session:
        task = bar.add_task("Backtesting", total=None)

        def step(name: str, done: int, total: int) -> None:
            bar.update(task, description=name[:32], completed=done, total=total)

        try:
            sources = build_sources(get_settings())
            result = service.run_backtest(
                session, request, viewer=None, system=True, sources=sources, progress=step
            )
        except AgentNotFound as e:
            err_console.print(f"[red]{e}[/]")
            raise typer.Exit(1) from e
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_report(console, result)


@app.command()
def worker(
    workers: int = typer.Option(4, "--workers", "-w", min=1, max=64, help="Worker threads."),
) -> None:
    """Run the Huey consumer (queue from settings: Redis when REDIS_URL is set, else SQLite)."""
    _refuse_unsafe_start(get_settings())
    os.execv(sys.executable, _consumer_command(workers))


@app.command()
def up(
    dev: bool = typer.Option(False, "--dev", help="Reflex dev mode (hot reload, separate backend port)."),
    seed_demo: bool = typer.Option(None, "--seed/--no-seed", help="Load demo data (default from settings)."),
    workers: int = typer.Option(4, "--workers", "-w", min=1, max=64),
) -> None:
    """Migrate, seed, start the worker and the app; Ctrl-C stops everything."""
    settings = get_settings()
    _refuse_unsafe_start(settings, seed_demo=seed_demo)
    ports = {settings.frontend_port, settings.backend_port} if dev else {settings.frontend_port}
    if sandbox.wanted(settings):
        ports.add(settings.sandbox_port)
    busy = sorted(port for port in ports if _port_in_use(settings.app_host, port))
    if busy:
        console.print(
            f"[red]Port {', '.join(map(str, busy))} on {settings.app_host} is already in use[/] "
            "(another `maxxit up`?). Stop it, or set FRONTEND_PORT / BACKEND_PORT."
        )
        raise typer.Exit(1)
    migrate()
    if settings.seed_demo_data if seed_demo is None else seed_demo:
        seed()

    children = Children()
    children.stop_on_signals()  # Ctrl-C and SIGTERM alike, even when started with SIGINT ignored
    try:
        environment = reflex_environment()
        if sandbox.wanted(settings):
            children.spawn("sandbox", sandbox.command(settings), cwd=PROJECT_ROOT, env=environment)
            _wait_for_port(settings.sandbox_port, children.processes)
            environment = sandbox.environment(settings, environment)
            console.print(
                f"{SANDBOX_LABEL}: {sandbox.url(settings)}; the faucet on the deploy "
                "wizard and Billing pages credits sandbox USDC."
            )
        children.spawn("worker", _consumer_command(workers), cwd=PROJECT_ROOT, env=environment)
        children.spawn("app", _reflex_command(dev), cwd=PROJECT_ROOT, env=environment)
        url = settings.frontend_url
        _wait_until_served(url, children.processes)
        console.print(
            f"\n[bold green]Maxxit is up:[/] {url}   (API docs: {_api_base(dev)}/api/docs)  Ctrl-C stops.\n"
        )
        while all(child.poll() is None for child in children.processes):
            time.sleep(0.5)
        failed = next(child for child in children.processes if child.poll() is not None)
        console.print(f"[red]A process exited ({failed.args[0]} code {failed.returncode}); stopping.[/]")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print("\nStopping...")
    finally:
        children.stop(STOP_GRACE_S)
        console.print("Stopped.")


def _refuse_unsafe_start(settings: Settings, *, seed_demo: bool | None = None) -> None:
    """What `up` and `worker` both check first: prod needs its secret key and no demo data or prices.

    Production without MAXXIT_SECRET_KEY could neither check sessions nor decrypt agent wallets; with
    the sample feed, the demo seed or simulated prices it would trade real money on made-up data.
    """
    problems = live_mode_problems(settings, seed_demo=seed_demo)
    try:
        load_secret_key(settings)
    except SecretKeyMissing as error:
        problems.insert(0, str(error))
    if problems:
        console.print("[red]Refusing to start:[/]")
        for problem in problems:
            console.print(f"  [red]-[/] {problem}", soft_wrap=True)
        raise typer.Exit(2)


def _consumer_command(workers: int) -> list[str]:
    # An idle SQLite queue is polled with backoff; capping it at 1 s keeps post-to-signal within seconds.
    # (Redis blocks on the queue instead, so it reacts at once.)
    return [
        sys.executable, "-m", "huey.bin.huey_consumer", "tasks.worker.huey",
        "--workers", str(workers), "--worker-type", "thread", "--max-delay", "1",
        "--logfile", str(_log_dir() / "worker.log"),
    ]  # fmt: skip


def _reflex_command(dev: bool) -> list[str]:
    settings = get_settings()
    reflex = str(Path(sys.executable).with_name("reflex"))
    command = [reflex, "run", "--env", "dev" if dev else "prod", "--loglevel", "info"]
    # Prod serves pages, API and websocket on one port; dev keeps the backend on its own.
    backend_port = settings.backend_port if dev else settings.frontend_port
    command += ["--frontend-port", str(settings.frontend_port), "--backend-port", str(backend_port)]
    command += ["--backend-host", settings.app_host]
    return command if dev else [*command, "--single-port"]


def _api_base(dev: bool) -> str:
    settings = get_settings()
    return f"http://{settings.app_host}:{settings.backend_port}" if dev else settings.frontend_url


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


def _wait_for_port(port: int, children: Sequence[subprocess.Popen]) -> None:
    """Until something listens on 127.0.0.1:`port` (a child's server), or a child exits."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _port_in_use("127.0.0.1", port):
        failed = [child for child in children if child.poll() is not None]
        if failed or time.monotonic() > deadline:
            console.print(f"[red]The server for port {port} did not start; see the output above.[/]")
            raise typer.Exit(1)
        time.sleep(0.1)


def _wait_until_served(url: str, children: Sequence[subprocess.Popen]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with console.status(f"Building and starting the app at {url} (the first build takes a minute)..."):
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in children):
                raise typer.Exit(1)
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
    raise typer.Exit(1)


def _log_dir() -> Path:
    path = PROJECT_ROOT / "data" / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _redacted(url: str) -> str:
    """A database URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def main() -> None:
    app()


if __name__ == "__main__":
    main()
