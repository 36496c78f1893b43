"""A stop signal reaches `maxxit up` once: a second one, sent at the worst moment (the first one's
KeyboardInterrupt being handled, `stop()` not begun yet), cannot interrupt the stop.

Deterministic counterparts of tests/integration/test_stop_children.py, which hits that moment only when the
machine is loaded: `signal.raise_signal` runs the Python handler before it returns.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from backend.processes import STOP_SIGNALS, Children

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def _send_again(sig: signal.Signals) -> None:
    # A KeyboardInterrupt escaping a test would end the whole pytest session: report it as a failure.
    try:
        signal.raise_signal(sig)
    except KeyboardInterrupt:
        pytest.fail(f"a second {sig.name} raised KeyboardInterrupt before stop() began")


@pytest.fixture
def children() -> Iterator[Children]:
    saved = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    started = Children()
    try:
        yield started
    finally:
        started.stop(grace_s=0)  # idempotent; ends whatever a failed test left running
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda sig: sig.name)
def test_a_second_stop_signal_before_stop_begins_is_ignored(children: Children, sig: signal.Signals):
    children.stop_on_signals()
    child = children.spawn("sleeper", SLEEPER, cwd=".", env={})
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(sig)
    _send_again(sig)  # where `maxxit up` prints "Stopping...", before its `finally` calls stop()
    children.stop(grace_s=1)
    assert child.poll() is not None


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda sig: sig.name)
def test_a_second_stop_signal_after_one_deferred_by_a_spawn_is_ignored(
    children: Children, sig: signal.Signals, monkeypatch: pytest.MonkeyPatch
):
    real_popen = subprocess.Popen

    def popen_signalled_meanwhile(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        signal.raise_signal(sig)  # between fork and being listed: deferred to the end of spawn()
        return process

    children.stop_on_signals()
    monkeypatch.setattr(subprocess, "Popen", popen_signalled_meanwhile)
    with pytest.raises(KeyboardInterrupt):
        children.spawn("sleeper", SLEEPER, cwd=".", env={})
    monkeypatch.undo()
    _send_again(sig)
    children.stop(grace_s=1)
    assert [process.poll() is not None for process in children.processes] == [True]
