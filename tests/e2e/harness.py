"""The browser tests' app harness: Reflex's AppHarnessProd on the session's ports, sharing builds (see
tests/e2e/builds.py)."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

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
from tests.e2e.builds import SessionBuilds, build_key, compile_env, source_key


class Harness(AppHarnessProd):
    """AppHarnessProd on the session's ports, exporting only when no kept build has the start's key, and
    serving the pages behind our security headers.

    `reflex run --env prod` serves pages through the backend app, whose middleware adds the headers; the
    harness serves them from a separate static server, so the same middleware (and the same policy, with
    the backend's other port allowed to connect) wraps it here.
    """

    builds: SessionBuilds
    sockets: tuple[socket.socket, socket.socket]  # from builds.bind(): the frontend's, the backend's
    _build: Path | None = None
    _kind = ""

    @classmethod
    def on(
        cls, builds: SessionBuilds, sockets: tuple[socket.socket, socket.socket], **create: Any
    ) -> Harness:
        harness = cls.create(**create)
        harness.builds, harness.sockets = builds, sockets
        return harness

    def start(self) -> Harness:
        started = time.monotonic()
        env = compile_env()
        sources = source_key(self.app_path, env, self.builds.backend_port)
        known = self.builds.by_sources.get(sources)
        if known is not None and self.builds.directory(known).exists():
            # These sources compiled to a build made earlier: the backend only evaluates the pages, as
            # the backend of `reflex run --env prod` does, and the pages are that build.
            self._build, self._kind = self.builds.directory(known), "reused"
        environment.REFLEX_SKIP_COMPILE.set(True if self._build is not None else None)
        try:
            self._initialize_app()
            self._start_backend()
            self._start_frontend()
            self._wait_frontend()
        except BaseException:
            environment.REFLEX_SKIP_COMPILE.set(None)
            with contextlib.suppress(Exception):
                self.stop()  # a half-started app would keep the session's ports
            raise
        assert self._build is not None
        # Remembered only if no source changed while this start compiled them.
        if self._kind != "reused" and source_key(self.app_path, env, self.builds.backend_port) == sources:
            self.builds.by_sources[sources] = self._build.name
        seconds = round(time.monotonic() - started, 1)
        self.builds.starts.append({"kind": self._kind, "build": self._build.name, "seconds": seconds})
        return self

    def _start_backend(self) -> None:
        """AppHarnessProd's backend, on the session's backend port."""
        assert self.app_asgi is not None
        environment.REFLEX_SKIP_COMPILE.set(True)
        self.backend = uvicorn.Server(uvicorn.Config(app=self.app_asgi, host="127.0.0.1"))
        self.backend.shutdown = self._get_backend_shutdown_handler()
        run = functools.partial(self.backend.run, sockets=[self.sockets[1]])
        self.backend_thread = threading.Thread(target=contextvars.copy_context().run, args=(run,))
        self.backend_thread.start()

    def _start_frontend(self) -> None:
        """Export the frontend unless this session already built the same compiled pages for the same
        URLs."""
        with chdir(self.app_path):
            config = get_config()
            config.api_url = "http://{}:{}".format(*self._poll_for_servers(timeout=30).getsockname())
            config.loglevel = constants.LogLevel.INFO
            if self._build is None:
                self._build, self._kind = self._built_or_export(config)
            if self._kind != "exported":
                # What export leaves set for the rest of the process, the backend included.
                environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
        self.frontend_thread = threading.Thread(target=self._run_frontend)
        self.frontend_thread.start()

    def _built_or_export(self, config: Any) -> tuple[Path, str]:
        prerequisites.assert_in_reflex_dir()
        if prerequisites.needs_reinit():
            import reflex.reflex

            reflex.reflex._init(name=config.app_name)
        web_dir = prerequisites.get_web_dir()
        set_env_json()  # what export writes first; part of the key
        build = self.builds.directory(build_key(web_dir))
        if build.exists():
            return build, "compiled"
        export(
            zipping=False,
            frontend=True,
            backend=False,
            loglevel=constants.LogLevel.INFO,
            env=constants.Env.PROD,
        )
        _keep(web_dir, build)
        return build, "exported"

    def _run_frontend(self) -> None:
        assert self.backend is not None and self._build is not None
        backend_origin = "http://{}:{}".format(*self.backend.servers[0].sockets[0].getsockname())
        csp = content_security_policy([self.builds.url, backend_origin])
        app = SecurityHeadersMiddleware(_pages(self._build), csp=lambda: csp)
        self.frontend_server = uvicorn.Server(uvicorn.Config(app=app, host="127.0.0.1"))
        self.frontend_server.run(sockets=[self.sockets[0]])

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            for sock in self.sockets:
                sock.close()


def _pages(build: Path) -> Starlette:
    """What reflex.utils.exec.get_frontend_mount serves, from a kept build instead of .web/build."""
    router = get_router(json.loads((build / constants.Dirs.ROUTES_MANIFEST).read_text()))
    files = PrecompressedStaticFiles(
        directory=build / "client",
        html=True,
        encodings=get_config().frontend_compression_formats,
        router=functools.partial(_match_routable_page, router),
    )
    return Starlette(routes=[Mount("/", app=files, name="frontend")])


def _keep(web_dir: Path, build: Path) -> None:
    """Copy the fresh build (and its routes) out of .web, which the next start, or `maxxit up`, rewrites."""
    partial = build.with_name(f"{build.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(partial)
    shutil.copytree(web_dir / constants.Dirs.STATIC, partial / "client")
    shutil.copy2(web_dir / constants.Dirs.ROUTES_MANIFEST, partial / constants.Dirs.ROUTES_MANIFEST)
    partial.rename(build)
