"""`maxxit up` as `make run` uses it: serves the app, and one SIGINT stops every process it started,
even when launched from a background job where SIGINT starts out ignored."""

from __future__ import annotations

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


def test_up_serves_and_sigint_stops_everything(tmp_path: Path):
    marker = f"MAXXIT_UP_TEST={uuid.uuid4().hex}"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'up.db'}",
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
        "FRONTEND_PORT": str(port),
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
    try:
        output = []
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Maxxit is up" in line:
                break
        assert any("Maxxit is up" in line for line in output), "".join(output[-30:])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=10) as response:
            assert response.status == 200
        assert len(_processes_with(marker)) >= 3  # maxxit up, the consumer, the app

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        deadline = time.monotonic() + 20
        while _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _processes_with(marker) == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
