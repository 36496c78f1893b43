"""`maxxit up` as `make run` uses it: serves the app, and one SIGINT stops every process it started,
even when launched from a background job where SIGINT starts out ignored."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from backend.config import PROJECT_ROOT

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_with(marker: str) -> list[int]:
    """Pids whose environment carries the marker: the command and everything it spawned."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _start_up(tmp_path: Path) -> tuple[subprocess.Popen, str, int]:
    """`maxxit up` in a session of its own, as a background job starts it; returns it, its marker and port
    (its Hyperliquid sandbox listens on the port written to `tmp_path / "sandbox-port"`)."""
    marker = f"MAXXIT_UP_TEST={uuid.uuid4().hex}"
    port, sandbox_port = _free_port(), _free_port()
    (tmp_path / "sandbox-port").write_text(str(sandbox_port))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'up.db'}",
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
        "FRONTEND_PORT": str(port),
        "SANDBOX_PORT": str(sandbox_port),
        "SANDBOX_STATE_PATH": str(tmp_path / "sandbox.pickle"),
        "MAXXIT_UP_TEST": marker.split("=", 1)[1],
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "up", "--no-seed", "-w", "1"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as a background job starts
    )
    output = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if "Maxxit is up" in line:
            break
    if not any("Maxxit is up" in line for line in output):
        _kill_everything(process, marker)
        pytest.fail("".join(output[-30:]))
    return process, marker, port


def _kill_everything(process: subprocess.Popen, marker: str) -> None:
    """Cleanup after a failed test: whatever carries the marker, wherever its session."""
    for pid in [process.pid, *_processes_with(marker)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)


def _wait_until_gone(marker: str) -> list[int]:
    deadline = time.monotonic() + 30
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    return _processes_with(marker)


def _describe(pids: list[int]) -> list[str]:
    """Survivors by pid and command line, so a failure says which process outlived the stop."""
    described = []
    for pid in pids:
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            described.append(f"{pid}: {command[:120].decode(errors='replace')}")
    return described


def test_up_serves_and_sigint_stops_everything(tmp_path: Path):
    process, marker, port = _start_up(tmp_path)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=10) as response:
            assert response.status == 200
        assert len(_processes_with(marker)) >= 4  # maxxit up, the sandbox, the consumer, the app
        sandbox = f"http://127.0.0.1:{(tmp_path / 'sandbox-port').read_text()}"
        request = urllib.request.Request(f"{sandbox}/info", data=b'{"type": "allMids"}', method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # the demo's Hyperliquid sandbox
            assert "ETH" in json.loads(response.read())

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert _describe(_wait_until_gone(marker)) == []
        assert _port_free(port)
    finally:
        if process.poll() is None or _processes_with(marker):
            _kill_everything(process, marker)


def test_sigterm_to_the_process_group_stops_everything_it_started(tmp_path: Path):
    """What a service manager or `kill -TERM -<pgid>` sends: the Reflex app and its server go too."""
    process, marker, port = _start_up(tmp_path)
    try:
        started = _processes_with(marker)
        assert len(started) >= 3  # maxxit up, the consumer, the app (and the app's server, bun...)

        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert _describe(_wait_until_gone(marker)) == []
        assert _port_free(port)
    finally:
        if process.poll() is None or _processes_with(marker):
            _kill_everything(process, marker)
