"""The browser tests' app harness: Reflex's AppHarnessProd, one production build shared by many app starts.

Each test module (times two backends) starts the app afresh, and AppHarnessProd exports the frontend on every
start: a second compile of the pages and a `bun run export` of about half a minute on the 2-core machine, the
larger part of every start. The build depends only on the compiled frontend sources and on env.json, which
names the backend's URL; so the backend and the pages keep one pair of ports for the whole session, and a
start whose frontend sources (compiled afresh by every start) and env.json hash to a key already built serves
that build instead of exporting again. Any change to the app, a setting baked into a page, Reflex or its
frontend packages changes the compiled sources, so a stale build cannot be served.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import hashlib
import random
import shutil
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any

# What a start writes into .web and the bundle does not read: installed packages, the previous build, the
# backend's own notes, the build's generated route types, and the last-run timestamp.
_NOT_BUILD_INPUTS = frozenset({"node_modules", "build", "backend", ".react-router", "reflex.json"})
_PORT_TRIES = 50


@dataclasses.dataclass
class SessionBuilds:
    """The session's two ports and the production builds made so far, by key (one directory each)."""

    root: Path
    frontend_port: int = 0
    backend_port: int = 0
    starts: list[dict[str, Any]] = dataclasses.field(default_factory=list)

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
    """One line: app starts, how many exported, and the median seconds of those that exported and reused."""

    def median(reused: bool) -> str:
        seconds = [start["seconds"] for start in starts if start["reused"] is reused and "seconds" in start]
        return f"{statistics.median(seconds):.1f} s" if seconds else "-"

    exported = sum(not start["reused"] for start in starts)
    return (
        f"e2e app starts: {len(starts)}, {exported} exported the frontend (median {median(False)}), "
        f"{len(starts) - exported} reused a build (median {median(True)})"
    )


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


def harness_class(builds: SessionBuilds, sockets: tuple[socket.socket, socket.socket]) -> type:
    """AppHarnessProd on the session's ports (`sockets`, from `builds.bind()`), exporting only when no build
    has the start's key, and serving the pages behind our security headers.

    `reflex run --env prod` serves pages through the backend app, whose middleware adds the headers; the
    harness serves them from a separate static server, so the same middleware (and the same policy, with
    the backend's other port allowed to connect) wraps it here.
    """
    import uvicorn
    from reflex.route import get_router
    from reflex.testing import AppHarnessProd, chdir
    from reflex.utils import prerequisites
    from reflex.utils.build import set_env_json
    from reflex.utils.exec import _match_routable_page
    from reflex.utils.export import export
    from reflex.utils.precompressed_staticfiles import PrecompressedStaticFiles
    from reflex_base import constants
    from reflex_base.config import get_config
    from reflex_base.environment import environment
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from backend.api.middleware.security_headers import SecurityHeadersMiddleware, content_security_policy

    class Harness(AppHarnessProd):
        _sockets: tuple[socket.socket, socket.socket] = sockets
        _build: Path | None = None

        def start(self) -> Harness:
            started = time.monotonic()
            try:
                self._initialize_app()
                self._start_backend()
                self._start_frontend()
                self._wait_frontend()
            except BaseException:
                with contextlib.suppress(Exception):
                    self.stop()  # a half-started app would keep the session's ports
                raise
            builds.starts[-1]["seconds"] = round(time.monotonic() - started, 1)
            return self

        def _start_backend(self) -> None:
            """AppHarnessProd's backend, on the session's backend port."""
            assert self.app_asgi is not None
            environment.REFLEX_SKIP_COMPILE.set(True)
            self.backend = uvicorn.Server(uvicorn.Config(app=self.app_asgi, host="127.0.0.1"))
            self.backend.shutdown = self._get_backend_shutdown_handler()
            run = functools.partial(self.backend.run, sockets=[self._sockets[1]])
            self.backend_thread = threading.Thread(target=contextvars.copy_context().run, args=(run,))
            self.backend_thread.start()

        def _start_frontend(self) -> None:
            """Export the frontend unless this session already built the same sources for the same URLs."""
            with chdir(self.app_path):
                config = get_config()
                config.api_url = "http://{}:{}".format(*self._poll_for_servers(timeout=30).getsockname())
                config.loglevel = constants.LogLevel.INFO
                prerequisites.assert_in_reflex_dir()
                if prerequisites.needs_reinit():
                    import reflex.reflex

                    reflex.reflex._init(name=config.app_name)
                web_dir = prerequisites.get_web_dir()
                set_env_json()  # what export writes first; part of the key
                key = build_key(web_dir)
                self._build = builds.directory(key)
                reused = self._build.exists()
                if reused:
                    # What export leaves set for the rest of the process, the backend included.
                    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
                else:
                    export(
                        zipping=False,
                        frontend=True,
                        backend=False,
                        loglevel=constants.LogLevel.INFO,
                        env=constants.Env.PROD,
                    )
                    _keep(web_dir, self._build)
            builds.starts.append({"key": key, "reused": reused})
            self.frontend_thread = threading.Thread(target=self._run_frontend)
            self.frontend_thread.start()

        def _run_frontend(self) -> None:
            assert self.backend is not None and self._build is not None
            backend_origin = "http://{}:{}".format(*self.backend.servers[0].sockets[0].getsockname())
            csp = content_security_policy([builds.url, backend_origin])
            app = SecurityHeadersMiddleware(_pages(self._build), csp=lambda: csp)
            self.frontend_server = uvicorn.Server(uvicorn.Config(app=app, host="127.0.0.1"))
            self.frontend_server.run(sockets=[self._sockets[0]])

        def stop(self) -> None:
            try:
                super().stop()
            finally:
                for sock in self._sockets:
                    sock.close()

    def _pages(build: Path) -> Starlette:
        """What reflex.utils.exec.get_frontend_mount serves, from a kept build instead of .web/build."""
        import json

        router = get_router(json.loads((build / constants.Dirs.ROUTES_MANIFEST).read_text()))
        files = PrecompressedStaticFiles(
            directory=build / "client",
            html=True,
            encodings=get_config().frontend_compression_formats,
            router=functools.partial(_match_routable_page, router),
        )
        return Starlette(routes=[Mount("/", app=files, name="frontend")])

    return Harness


def _keep(web_dir: Path, build: Path) -> None:
    """Copy the fresh build (and its routes) out of .web, which the next start, or `maxxit up`, rewrites."""
    from reflex_base import constants

    partial = build.with_name(f"{build.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(partial)
    shutil.copytree(web_dir / constants.Dirs.STATIC, partial / "client")
    shutil.copy2(web_dir / constants.Dirs.ROUTES_MANIFEST, partial / constants.Dirs.ROUTES_MANIFEST)
    partial.rename(build)
