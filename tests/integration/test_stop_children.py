"""What `maxxit up` does with the processes it started when told to stop: every one ends, the whole tree,
even a child that ignores SIGTERM and even when the stop signal is sent twice (a supervisor insisting)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from backend.config import PROJECT_ROOT

# A child that shrugs SIGTERM off, and one that leaves a grandchild in its group.
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
TREE = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"  # noqa: E501

SUPERVISOR = textwrap.dedent(
    f"""
    import sys, time
    from backend.processes import Children

    children = Children()
    children.stop_on_signals()
    try:
        for name, code in (("stubborn", {STUBBORN!r}), ("tree", {TREE!r})):
            children.spawn(name, [sys.executable, "-c", code], cwd=".", env=dict(__import__("os").environ))
        print("ready", flush=True)
        while True:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        children.stop(grace_s=2)
        print("stopped", flush=True)
    """
)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait_for(predicate, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_sent_twice_still_ends_every_process_started(sig: signal.Signals):
    marker = f"MAXXIT_STOP_TEST={uuid.uuid4().hex}"
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR],
        cwd=PROJECT_ROOT,
        env={**os.environ, "MAXXIT_STOP_TEST": marker.split("=", 1)[1], "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert supervisor.stdout.readline().strip() == "ready"
        _wait_for(lambda: len(_processes_with(marker)) == 4, "supervisor, two children, one grandchild")

        os.killpg(supervisor.pid, sig)  # to its process group, as a service manager or a shell would
        assert supervisor.stdout.readline().strip() == "stopping"
        os.killpg(supervisor.pid, sig)  # again, while it waits for the stubborn child
        assert supervisor.stdout.readline().strip() == "stopped"
        assert supervisor.wait(timeout=30) == 0
        _wait_for(lambda: _processes_with(marker) == [], "every started process to end")
    finally:
        for pid in [supervisor.pid, *_processes_with(marker)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        supervisor.wait(timeout=10)
