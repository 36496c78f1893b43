"""The Hyperliquid sandbox `maxxit up` runs for the demo: standalone, with a faucet and a memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account
from hyperliquid.info import Info

from backend.config import PROJECT_ROOT, Settings
from backend.modes import live_mode_problems
from backend.sandbox import launch
from backend.sandbox.faucet import FaucetError, request_sandbox_usdc
from tests.hyperliquid_server import HyperliquidServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int, state: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "backend.sandbox.hyperliquid", "--port", str(port)]
    command += ["--state", str(state), "--faucet", "1000"]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert "no real funds" in process.stdout.readline()
    return process


def _stop(process: subprocess.Popen) -> None:
    process.terminate()  # SIGTERM: the sandbox saves its state and exits
    assert process.wait(timeout=10) == 0


def test_the_faucet_credits_and_a_restarted_sandbox_remembers_balances(tmp_path) -> None:
    port, user, state = _free_port(), Account.create(), tmp_path / "sandbox.pickle"
    url = f"http://127.0.0.1:{port}"
    process = _start(port, state)
    try:
        assert request_sandbox_usdc(url, user.address, Decimal(600)) == 600
        assert request_sandbox_usdc(url, user.address, Decimal("400.5")) == Decimal("1000.5")
        with pytest.raises(FaucetError, match="at most 1000"):
            request_sandbox_usdc(url, user.address, Decimal(1001))
    finally:
        _stop(process)
    process = _start(port, state)
    try:
        summary = Info(url, skip_ws=True).user_state(user.address)["marginSummary"]
        assert Decimal(summary["accountValue"]) == Decimal("1000.5")
    finally:
        _stop(process)


def test_the_faucet_refuses_what_is_not_a_wallet_and_is_absent_from_test_servers(hl_server) -> None:
    with pytest.raises(FaucetError, match="not a wallet address"):
        request_sandbox_usdc(hl_server.url, "0x123", Decimal(1))
    with pytest.raises(FaucetError, match="refused"):  # Hyperliquid has no faucet; neither do test servers
        request_sandbox_usdc(hl_server.url, Account.create().address, Decimal(1))
    with HyperliquidServer(faucet_usd=Decimal(5)) as sandbox, pytest.raises(FaucetError, match="refused"):
        request_sandbox_usdc(sandbox.url, Account.create().address, Decimal("-1"))
    with pytest.raises(FaucetError, match="not reachable"):
        request_sandbox_usdc(
            f"http://127.0.0.1:{_free_port()}", Account.create().address, Decimal(1), timeout=1
        )


def test_maxxit_up_runs_the_sandbox_in_the_demo_only() -> None:
    demo = Settings()
    assert launch.wanted(demo)
    env = launch.environment(demo, {"PATH": "/bin"})
    assert env["HYPERLIQUID_API"] == env["HYPERLIQUID_SANDBOX_URL"] == f"http://127.0.0.1:{demo.sandbox_port}"
    assert env["PLATFORM_ADDRESS"] == launch.SANDBOX_PLATFORM_ADDRESS
    assert env["BUILDER_FEE_TENTHS_BPS"] == "10"
    assert env["PATH"] == "/bin"
    mine = Settings(platform_address="0x" + "ab" * 20, builder_fee_tenths_bps=0)
    assert {"PLATFORM_ADDRESS", "BUILDER_FEE_TENTHS_BPS"}.isdisjoint(launch.environment(mine, {}))
    assert not launch.wanted(Settings(hyperliquid_api="testnet"))  # the operator chose a real network
    assert not launch.wanted(Settings(hyperliquid_sandbox=False))
    assert not launch.wanted(Settings(env="prod"))
    assert not Settings(env="prod").hyperliquid_sandbox


def test_prod_refuses_a_sandbox_turned_back_on() -> None:
    base = {"env": "prod", "public_url": "https://maxxit.example"}
    assert live_mode_problems(Settings(**base)) == []
    [problem] = live_mode_problems(Settings(**base, hyperliquid_sandbox=True))
    assert "HYPERLIQUID_SANDBOX" in problem
    assert live_mode_problems(Settings(**base, hyperliquid_sandbox_url="http://127.0.0.1:8790")) != []
