"""The browser tests' app builds: one pair of ports per session, and keys that let app starts share a build.

AppHarnessProd exports the frontend (a second compile of every page and a `bun run export`) on every app
start, and every test module starts the app once per backend. The production build depends only on the
compiled frontend sources and on env.json, which names the backend's URL. So the app keeps one pair of ports
for the whole session, a build is kept under a hash of the compiled sources and env.json (`build_key`), and
the harness (tests/e2e/harness.py) serves a kept build instead of exporting again. Any change to the app, to
a setting a page bakes in, to Reflex or its frontend packages changes the compiled sources: no stale build is
served. A second key (`source_key`: the code, the environment and Reflex's version, read before compiling)
remembers which build a start's sources compiled to, so a later start with the same sources skips compiling
the pages too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import os
import random
import socket
import statistics
from pathlib import Path
from typing import Any

# What a start writes into .web and the bundle does not read: installed packages, the previous build, the
# backend's own notes, the build's generated route types, and the last-run timestamp.
_NOT_BUILD_INPUTS = frozenset({"node_modules", "build", "backend", ".react-router", "reflex.json"})
_PORT_TRIES = 50
# What the source key reads (tests/ is not the app's).
_SOURCES = ("maxxit_ui", "backend", "assets", "rxconfig.py", "pyproject.toml", ".env")
# Set by pytest or by the harness itself at each start, and read by no page: not part of the source key. (The
# database is the backend's business; the two backends' starts share builds.)
_PER_START_ENV = frozenset(
    {"DATABASE_URL", "PYTEST_CURRENT_TEST", "APP_HARNESS_FLAG", "REFLEX_ENV_MODE", "REFLEX_SKIP_COMPILE"}
)


@dataclasses.dataclass
class SessionBuilds:
    """The session's two ports and the production builds made so far, by key (one directory each)."""

    root: Path
    frontend_port: int = 0
    backend_port: int = 0
    starts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    by_sources: dict[str, str] = dataclasses.field(default_factory=dict)  # source key -> build key

    def __post_init__(self) -> None:
        self.move_ports()

    def move_ports(self) -> None:
        """Pick two free ports below the kernel's ephemeral range, where no outgoing connection takes one.

        Fixed ports are what make the build reusable (env.json names the backend's). Between two starts they
        are unbound; a port from the ephemeral range could meanwhile become some connection's local port.
        """
        low = _ephemeral_range()[0]
        ports: list[int] = []
        while len(ports) < 2:
            port = random.randrange(10_000, low)
            if port not in ports and _bindable(port):
                ports.append(port)
        self.frontend_port, self.backend_port = ports

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.frontend_port}"

    def bind(self) -> tuple[socket.socket, socket.socket]:
        """Both listening sockets, bound before the servers start; if another process took a port since the
        last start, the session moves to two new ports (and the next start builds for them)."""
        for _ in range(_PORT_TRIES):
            try:
                frontend = _bound(self.frontend_port)
            except OSError:
                self.move_ports()
                continue
            try:
                return frontend, _bound(self.backend_port)
            except OSError:
                frontend.close()
                self.move_ports()
        raise RuntimeError(f"no two free ports for the app after {_PORT_TRIES} tries")

    def directory(self, key: str) -> Path:
        return self.root / key


def summarise_starts(starts: list[dict[str, Any]]) -> str:
    """One line: how many app starts exported the frontend, compiled the pages to a build already made, or
    reused one without compiling, with each kind's median seconds."""
    parts = []
    for kind in ("exported", "compiled", "reused"):
        seconds = [start["seconds"] for start in starts if start["kind"] == kind]
        if seconds:
            parts.append(f"{len(seconds)} {kind} (median {statistics.median(seconds):.1f} s)")
    builds = len({start["build"] for start in starts})
    return f"e2e app starts: {len(starts)}: {', '.join(parts)}; {builds} build(s)"


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32_768, 60_999


def _bound(port: int) -> socket.socket:
    # SO_REUSEADDR as uvicorn sets it: the last start's closed connections may linger in TIME_WAIT.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def _bindable(port: int) -> bool:
    try:
        _bound(port).close()
    except OSError:
        return False
    return True


def build_key(web_dir: Path) -> str:
    """A hash of every file the production build reads from .web: pages, components, styles, public
    assets, package lists, the bundler's configuration and env.json (the backend's URL)."""
    digest = hashlib.sha256()
    files = sorted(
        path
        for path in web_dir.rglob("*")
        if path.is_file() and path.relative_to(web_dir).parts[0] not in _NOT_BUILD_INPUTS
    )
    for path in files:
        digest.update(str(path.relative_to(web_dir)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def source_key(root: Path, env: dict[str, str], backend_port: int) -> str:
    """A hash of everything the compiled pages can depend on: the app's and backend's code, assets, Reflex
    config, `.env`, the environment (settings), the Reflex packages' versions and the backend's port."""
    digest = hashlib.sha256()
    for name in _SOURCES:
        path = root / name
        files = (
            [path]
            if path.is_file()
            else sorted(p for p in path.rglob("*") if p.is_file())
            if path.is_dir()
            else []
        )
        for file in files:
            if "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(root)).encode() + b"\0")
                digest.update(hashlib.sha256(file.read_bytes()).digest())
    versions = sorted(
        (dist.metadata["Name"], dist.version)
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"].lower().startswith("reflex")
    )
    digest.update(repr((sorted(env.items()), versions, backend_port)).encode())
    return digest.hexdigest()[:24]


def compile_env() -> dict[str, str]:
    """This process's environment as the pages' compile sees it (settings come from it)."""
    return {name: value for name, value in os.environ.items() if name not in _PER_START_ENV}
