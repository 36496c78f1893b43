"""The processes `maxxit up` starts, and stopping every one of them on Ctrl-C or SIGTERM.

Each child runs in a session (and so a process group) of its own: a terminal's Ctrl-C, or a SIGTERM sent
to our process group, reaches only us, and we stop each child's whole tree (the Reflex app's server,
workers and bun included) by signalling its group: SIGTERM, a grace period, then SIGKILL for whatever is
left. A second signal while stopping is ignored so that it cannot cut the stop short before the SIGKILL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Children:
    """Started processes, each leading its own process group; `stop()` ends every group."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []
        self._spawning = False
        self._stop_pending = False
        self._stopping = False

    def stop_on_signals(self) -> None:
        """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread, once.

        Installed explicitly because a script's background job starts with SIGINT ignored, and Python's
        default SIGTERM would end us without stopping anything we started.
        """
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_stop_signal)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping:
            return  # already stopping: let it finish
        if self._spawning:
            # Between fork and the list append a child would escape the stop: raise once it is listed.
            self._stop_pending = True
            return
        self._interrupt()

    def _interrupt(self) -> NoReturn:
        # Stopping begins here, not when the caller reaches `stop()`: until then it is still handling this
        # KeyboardInterrupt (`maxxit up` prints "Stopping..."), and a second signal in that window raised
        # another one out of its `except` or `finally`: the stop cut short, or the process dying of SIGINT
        # (exit -2) once it was done. A supervisor insisting while the machine was loaded hit that window.
        self._stopping = True
        raise KeyboardInterrupt

    def spawn(
        self, name: str, command: Sequence[str], *, cwd: Path, env: Mapping[str, str]
    ) -> subprocess.Popen:
        logger.info("starting %s: %s", name, " ".join(command))
        self._spawning = True
        try:
            process = subprocess.Popen(command, cwd=cwd, env=dict(env), start_new_session=True)
            self.processes.append(process)
        finally:
            self._spawning = False
        if self._stop_pending:
            self._interrupt()
        return process

    def stop(self, grace_s: float) -> None:
        """SIGTERM to every child's group, up to `grace_s` for them to exit, then SIGKILL to the groups."""
        self._stopping = True
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        for process in self.processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)  # whatever of its tree is still alive
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    # The group outlives its leader while any member lives; its id stays the leader's pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
