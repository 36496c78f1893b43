"""The local Hyperliquid server, driven by the unmodified SDK: signatures, agents, nonces and order rules."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.api import API
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError, ServerError
from hyperliquid.utils.signing import get_timestamp_ms, sign_agent, sign_l1_action
from hyperliquid.utils.types import Cloid

from backend.config import PROJECT_ROOT
from backend.prices.markets import MARKETS
from backend.prices.simulated import SimulatedPriceFeed
from backend.sandbox.hyperliquid.state import build_universe
from backend.sandbox.hyperliquid.universe import UNIVERSE
from tests.hyperliquid_server import HyperliquidServer
from tests.hyperliquid_server.pytest_plugin import approve_agent

ETH = next(i for i, perp in enumerate(build_universe(MARKETS)[0]) if perp.coin == "ETH")
IOC = {"limit": {"tif": "Ioc"}}


def order_action(
    asset: int, is_buy: bool, sz: str, px: str, *, reduce_only: bool = False, cloid: str = ""
) -> dict:
    wire: dict[str, Any] = {"a": asset, "b": is_buy, "p": px, "s": sz, "r": reduce_only, "t": IOC}
    if cloid:
        wire["c"] = cloid
    return {"type": "order", "orders": [wire], "grouping": "na"}


def post_l1(
    server: HyperliquidServer, wallet: LocalAccount, action: dict, nonce: int, mainnet: bool = False
) -> Any:
    """Sign an L1 action with an explicit nonce, as the SDK signs, and post it."""
    signature = sign_l1_action(wallet, action, None, nonce, None, mainnet)
    body = {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None}
    return API(server.url).post("/exchange", body)


def status(reply: dict) -> dict:
    assert reply["status"] == "ok", reply
    return reply["response"]["data"]["statuses"][0]


def trader(server: HyperliquidServer, agent: LocalAccount, user: LocalAccount) -> Exchange:
    return Exchange(agent, server.url, account_address=user.address)


# -- reads --------------------------------------------------------------------------------------------


def test_meta_lists_hyperliquids_universe_and_the_project_markets(hl_server: HyperliquidServer) -> None:
    info = Info(hl_server.url, skip_ws=True)
    universe = info.meta()["universe"]
    names = [m["name"] for m in universe]
    assert len(names) >= 190 and names[:2] == ["BTC", "ETH"] and len(set(names)) == len(names)
    assert {"kPEPE", "kBONK", "kSHIB", "kFLOKI"} <= set(names)
    assert {m["name"] for m in universe if m.get("isDelisted")} == {r.coin for r in UNIVERSE if r.delisted}
    symbols = {name[1:] if name.startswith("k") else name for name in names}
    assert set(MARKETS) <= symbols  # every simulated market is listed, under its own or a k-prefixed name
    eth = MARKETS["ETH"]
    assert universe[ETH] == {"name": "ETH", "szDecimals": eth.size_decimals, "maxLeverage": eth.max_leverage}
    assert info.name_to_asset("ETH") == ETH

    mids = info.all_mids()
    assert set(mids) == {m["name"] for m in universe if not m.get("isDelisted")}
    assert all(Decimal(v) > 0 for v in mids.values())
    hl_server.set_mid("ETH", Decimal("3000"))
    assert info.all_mids()["ETH"] == "3000.0"


def test_candles_are_the_simulated_feeds(hl_server: HyperliquidServer) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    ms = int(start.timestamp() * 1000)
    candles = Info(hl_server.url, skip_ws=True).candles_snapshot("SOL", "1h", ms, ms + 2 * 3_600_000)
    expected = SimulatedPriceFeed(seed=7).candles("SOL", start, 3, timedelta(hours=1))
    assert [c["t"] for c in candles] == [ms, ms + 3_600_000, ms + 7_200_000]
    assert candles[0]["T"] == ms + 3_600_000 - 1
    assert {c["s"] for c in candles} == {"SOL"} and {c["i"] for c in candles} == {"1h"}
    for got, want in zip(candles, expected, strict=True):
        assert [Decimal(got[k]) for k in "ohlcv"] == [want.open, want.high, want.low, want.close, want.volume]


def test_l2_book_brackets_the_mid(hl_server: HyperliquidServer) -> None:
    hl_server.set_mid("BTC", Decimal("64000"))
    bids, asks = Info(hl_server.url, skip_ws=True).l2_snapshot("BTC")["levels"]
    assert len(bids) == len(asks) == 10
    assert Decimal(bids[0]["px"]) < 64000 < Decimal(asks[0]["px"])
    assert Decimal(bids[-1]["px"]) < Decimal(bids[0]["px"])


def test_unknown_info_type_is_a_client_error(hl_server: HyperliquidServer) -> None:
    with pytest.raises(ClientError) as caught:
        API(hl_server.url).post("/info", {"type": "noSuchThing"})
    assert caught.value.status_code == 422


# -- agents and signatures ------------------------------------------------------------------------------


def test_approved_agent_trades_for_the_user(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    assert hl_server.agents(hl_user.address) == {"": hl_agent.address}
    hl_server.set_mid("ETH", Decimal("3000"))
    reply = trader(hl_server, hl_agent, hl_user).market_open("ETH", True, 0.01, slippage=0.01)
    assert status(reply) == {"filled": {"totalSz": "0.01", "avgPx": "3000.0", "oid": 1}}

    state = Info(hl_server.url, skip_ws=True).user_state(hl_user.address)
    position = state["assetPositions"][0]["position"]
    assert (position["coin"], position["szi"], position["entryPx"]) == ("ETH", "0.01", "3000.0")
    assert position["leverage"] == {"type": "cross", "value": 20}
    assert hl_server.fills(hl_agent.address) == []  # the agent has no account of its own


def test_unapproved_agent_is_refused(hl_server: HyperliquidServer, hl_user: LocalAccount) -> None:
    stranger = Account.create()
    reply = trader(hl_server, stranger, hl_user).market_open("ETH", True, 0.01)
    assert reply == {
        "status": "err",
        "response": f"User or API Wallet {stranger.address.lower()} does not exist.",
    }
    assert hl_server.orders(hl_user.address) == []


def test_unfunded_user_cannot_approve_an_agent(hl_server: HyperliquidServer) -> None:
    reply, _ = Exchange(Account.create(), hl_server.url).approve_agent()
    assert reply["status"] == "err"
    assert reply["response"].startswith("Must deposit before performing actions.")


def test_one_unnamed_and_three_named_agents_and_a_name_replaces(
    hl_server: HyperliquidServer, hl_user: LocalAccount
) -> None:
    unnamed = approve_agent(hl_server, hl_user)
    named = {name: approve_agent(hl_server, hl_user, name) for name in ("a", "b", "c")}
    reply, _ = Exchange(hl_user, hl_server.url).approve_agent("d")
    assert reply["status"] == "err" and "at most 3" in reply["response"]

    replacement = approve_agent(hl_server, hl_user, "b")
    agents = hl_server.agents(hl_user.address)
    assert agents == {
        "": unnamed.address,
        "a": named["a"].address,
        "b": replacement.address,
        "c": named["c"].address,
    }
    extra = Info(hl_server.url, skip_ws=True).extra_agents(hl_user.address)
    assert {a["name"] for a in extra} == {"a", "b", "c"}

    old = trader(hl_server, named["b"], hl_user).update_leverage(2, "ETH")
    assert old["status"] == "err" and "does not exist" in old["response"]
    assert trader(hl_server, replacement, hl_user).update_leverage(2, "ETH")["status"] == "ok"


def test_approval_signed_for_mainnet_is_refused_on_testnet(
    hl_server: HyperliquidServer, hl_user: LocalAccount
) -> None:
    nonce = get_timestamp_ms()
    action = {
        "type": "approveAgent",
        "agentAddress": Account.create().address,
        "agentName": "",
        "nonce": nonce,
    }
    signature = sign_agent(hl_user, action, True)
    reply = API(hl_server.url).post("/exchange", {"action": action, "nonce": nonce, "signature": signature})
    assert reply == {
        "status": "err",
        "response": "Invalid hyperliquidChain 'Mainnet': this server is Testnet.",
    }
    assert hl_server.agents(hl_user.address) == {}


def test_forged_or_garbled_signatures_are_refused(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    nonce = get_timestamp_ms()
    signed = order_action(ETH, True, "0.01", "3030")
    signature = sign_l1_action(hl_agent, signed, None, nonce, None, False)
    forged = order_action(ETH, True, "1", "3030")  # the agent signed 0.01, someone posts 1
    reply = API(hl_server.url).post("/exchange", {"action": forged, "nonce": nonce, "signature": signature})
    assert reply["status"] == "err" and reply["response"].endswith("does not exist.")
    assert hl_agent.address.lower() not in reply["response"]

    garbled = {"r": "0x1234", "s": "0xzz", "v": 27}
    reply = API(hl_server.url).post("/exchange", {"action": signed, "nonce": nonce, "signature": garbled})
    assert reply["status"] == "err" and reply["response"].startswith("Invalid signature")

    mainnet = post_l1(hl_server, hl_agent, signed, nonce, mainnet=True)  # signed for the other network
    assert mainnet["status"] == "err" and mainnet["response"].endswith("does not exist.")
    assert hl_server.orders(hl_user.address) == []


# -- nonces ---------------------------------------------------------------------------------------------


def test_a_replayed_nonce_is_refused(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    nonce = get_timestamp_ms()
    action = order_action(ETH, True, "0.01", "3030")
    assert "filled" in status(post_l1(hl_server, hl_agent, action, nonce))
    replay = post_l1(hl_server, hl_agent, action, nonce)
    assert replay == {"status": "err", "response": f"Invalid nonce: duplicate nonce {nonce}"}
    assert len(hl_server.fills(hl_user.address)) == 1
    # Nonces are per signer: the user's own key may use the same number.
    assert "filled" in status(post_l1(hl_server, hl_user, action, nonce))


def test_nonces_outside_the_time_window_are_refused(
    hl_server: HyperliquidServer, hl_agent: LocalAccount
) -> None:
    action = {"type": "updateLeverage", "asset": ETH, "isCross": True, "leverage": 3}
    now = get_timestamp_ms()
    old = post_l1(hl_server, hl_agent, action, now - 3 * 86_400_000)
    assert old["status"] == "err" and "in the past" in old["response"]
    future = post_l1(hl_server, hl_agent, action, now + 2 * 86_400_000)
    assert future["status"] == "err" and "in the future" in future["response"]
    assert post_l1(hl_server, hl_agent, action, now - 86_400_000)["status"] == "ok"


def test_a_replayed_approval_is_refused(hl_server: HyperliquidServer, hl_user: LocalAccount) -> None:
    nonce = get_timestamp_ms()
    action = {
        "type": "approveAgent",
        "agentAddress": Account.create().address,
        "agentName": "bot",
        "nonce": nonce,
    }
    body = {
        "action": action,
        "nonce": nonce,
        "signature": sign_agent(hl_user, action, False),
        "vaultAddress": None,
    }
    assert API(hl_server.url).post("/exchange", body)["status"] == "ok"
    assert API(hl_server.url).post("/exchange", body) == {
        "status": "err",
        "response": f"Invalid nonce: duplicate nonce {nonce}",
    }


# -- order rules ----------------------------------------------------------------------------------------


def test_duplicate_cloid_is_refused_and_status_finds_the_first(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    exchange, cloid = trader(hl_server, hl_agent, hl_user), Cloid.from_int(42)
    first = status(exchange.market_open("ETH", True, 0.01, cloid=cloid))
    second = status(exchange.market_open("ETH", True, 0.02, cloid=cloid))
    assert "Duplicate cloid" in second["error"] and str(cloid) in second["error"]

    found = Info(hl_server.url, skip_ws=True).query_order_by_cloid(hl_user.address, cloid)
    assert found["status"] == "order"
    assert found["order"]["status"] == "filled"
    assert found["order"]["order"]["oid"] == first["filled"]["oid"]
    assert found["order"]["order"]["origSz"] == "0.01"
    fills = Info(hl_server.url, skip_ws=True).user_fills(hl_user.address)
    assert [(f["cloid"], f["sz"]) for f in fills] == [(str(cloid), "0.01")]


def test_a_rejected_order_leaves_its_cloid_free(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    cloid = "0x" + "ab" * 16
    missed = status(
        post_l1(
            hl_server, hl_agent, order_action(ETH, True, "0.01", "2990", cloid=cloid), 1 + get_timestamp_ms()
        )
    )
    assert missed == {"error": "Order could not immediately match against any resting orders."}
    info = Info(hl_server.url, skip_ws=True)
    assert info.query_order_by_cloid(hl_user.address, Cloid(cloid))["order"]["status"] == "iocCancelRejected"
    retry = status(
        post_l1(
            hl_server, hl_agent, order_action(ETH, True, "0.01", "3010", cloid=cloid), 2 + get_timestamp_ms()
        )
    )
    assert "filled" in retry
    assert info.query_order_by_cloid(hl_user.address, Cloid(cloid))["order"]["status"] == "filled"


def test_unknown_orders_are_unknown(hl_server: HyperliquidServer, hl_user: LocalAccount) -> None:
    info = Info(hl_server.url, skip_ws=True)
    assert info.query_order_by_cloid(hl_user.address, Cloid.from_int(7)) == {"status": "unknownOid"}
    assert info.query_order_by_oid(hl_user.address, 12345) == {"status": "unknownOid"}


def test_minimum_value_unless_reduce_only(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    hl_server.set_mid("SOL", Decimal("100"))
    exchange = trader(hl_server, hl_agent, hl_user)
    small = status(exchange.market_open("SOL", True, 0.09, slippage=0.01))
    assert small == {"error": "Order must have minimum value of $10."}
    assert "filled" in status(exchange.market_open("SOL", True, 0.2, slippage=0.01))
    # Closing a position worth less than $10 must still be possible: reduce-only orders are exempt.
    assert "filled" in status(exchange.order("SOL", False, 0.15, 99, IOC, reduce_only=True))
    assert "filled" in status(exchange.market_close("SOL", slippage=0.01))
    assert Info(hl_server.url, skip_ws=True).user_state(hl_user.address)["assetPositions"] == []


def test_margin_is_checked_against_withdrawable_at_the_users_leverage(
    hl_server: HyperliquidServer, hl_agent: LocalAccount, hl_user: LocalAccount
) -> None:
    poor = Account.create()
    hl_server.fund(poor.address, Decimal("100"))
    agent = approve_agent(hl_server, poor)
    exchange = trader(hl_server, agent, poor)
    hl_server.set_mid("ETH", Decimal("1000"))
    assert exchange.update_leverage(1, "ETH")["status"] == "ok"
    refused = status(exchange.market_open("ETH", True, 0.15, slippage=0.01))  # $150 at 1x on $100
    assert refused == {"error": "Insufficient margin to place order."}
    assert exchange.update_leverage(2, "ETH")["status"] == "ok"
    assert "filled" in status(exchange.market_open("ETH", True, 0.15, slippage=0.01))  # $75 of margin
    state = Info(hl_server.url, skip_ws=True).user_state(poor.address)
    assert Decimal(state["marginSummary"]["totalMarginUsed"]) == Decimal("75")
    assert Decimal(state["withdrawable"]) == Decimal(state["marginSummary"]["accountValue"]) - 75


def test_leverage_is_capped_at_the_markets_maximum(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    exchange = trader(hl_server, hl_agent, hl_user)
    assert exchange.update_leverage(26, "ETH") == {"status": "err", "response": "Invalid leverage value"}
    assert exchange.update_leverage(25, "ETH")["status"] == "ok"


def test_prices_and_sizes_must_respect_the_precision_rules(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    exchange = trader(hl_server, hl_agent, hl_user)
    assert status(exchange.order("ETH", True, 0.01, 3030.15, IOC)) == {
        "error": "Order has invalid price."
    }  # 6 sig
    assert status(exchange.order("ETH", True, 0.00001, 3030, IOC)) == {
        "error": "Order has invalid size."
    }  # 5 dp
    hl_server.set_mid("DOGE", Decimal("0.2"))  # szDecimals 0: at most 6 decimals in a price
    assert status(exchange.order("DOGE", True, 100, 0.2020001, IOC)) == {"error": "Order has invalid price."}
    assert "filled" in status(exchange.order("DOGE", True, 100, 0.20201, IOC))
    hl_server.set_mid("BTC", Decimal("123456"))  # integer prices are valid whatever their significant figures
    assert "filled" in status(exchange.order("BTC", True, 0.001, 124000, IOC))


def test_reduce_only_can_only_reduce(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    exchange = trader(hl_server, hl_agent, hl_user)
    nothing = status(exchange.order("ETH", False, 0.01, 2900, IOC, reduce_only=True))
    assert nothing == {"error": "Reduce only order would increase position."}
    status(exchange.market_open("ETH", True, 0.01, slippage=0.01))
    same_side = status(exchange.order("ETH", True, 0.01, 3100, IOC, reduce_only=True))
    assert same_side == {"error": "Reduce only order would increase position."}
    clipped = status(exchange.order("ETH", False, 0.05, 2900, IOC, reduce_only=True))
    assert clipped["filled"]["totalSz"] == "0.01"  # never flips: clipped to the position


def test_fees_realised_pnl_and_directions(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    exchange = trader(hl_server, hl_agent, hl_user)
    hl_server.set_mid("ETH", Decimal("2000"))
    status(exchange.market_open("ETH", True, 1, slippage=0.01))
    hl_server.set_mid("ETH", Decimal("2100"))
    status(exchange.market_open("ETH", False, 3, slippage=0.01))  # closes the long, opens a 2 ETH short
    hl_server.set_mid("ETH", Decimal("2000"))
    status(exchange.market_close("ETH", slippage=0.01))

    fills = hl_server.fills(hl_user.address)
    assert [f["dir"] for f in fills] == ["Open Long", "Long > Short", "Close Short"]
    assert [f["side"] for f in fills] == ["B", "A", "B"]
    assert [Decimal(f["closedPnl"]) for f in fills] == [0, 100, 200]
    assert [Decimal(f["fee"]) for f in fills] == [Decimal("0.9"), Decimal("2.835"), Decimal("1.8")]
    assert [f["startPosition"] for f in fills] == ["0.0", "1.0", "-2.0"]
    state = Info(hl_server.url, skip_ws=True).user_state(hl_user.address)
    assert Decimal(state["marginSummary"]["accountValue"]) == Decimal(10_000) + 300 - Decimal("5.535")


def test_short_position_reports_its_numbers(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    exchange = trader(hl_server, hl_agent, hl_user)
    exchange.update_leverage(10, "SOL")
    hl_server.set_mid("SOL", Decimal("100"))
    status(exchange.market_open("SOL", False, 10, slippage=0.01))
    hl_server.set_mid("SOL", Decimal("90"))
    position = Info(hl_server.url, skip_ws=True).user_state(hl_user.address)["assetPositions"][0]["position"]
    assert position["szi"] == "-10.0"
    assert Decimal(position["unrealizedPnl"]) == 100
    assert Decimal(position["positionValue"]) == 900 and Decimal(position["marginUsed"]) == 90
    assert position["leverage"] == {"type": "cross", "value": 10}
    assert Decimal(position["liquidationPx"]) > 900  # $10k behind a $1k short


def test_cancel_by_cloid_finds_nothing_resting(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount
) -> None:
    reply = trader(hl_server, hl_agent, hl_user).cancel_by_cloid("ETH", Cloid.from_int(1))
    assert status(reply) == {"error": "Order was never placed, already canceled, or filled."}


def test_unknown_action_types_get_a_clear_error(hl_server: HyperliquidServer, hl_agent: LocalAccount) -> None:
    reply = post_l1(hl_server, hl_agent, {"type": "vaultTransfer", "usd": 1}, get_timestamp_ms())
    assert reply["status"] == "err"
    assert reply["response"].startswith("Unknown action type 'vaultTransfer'")


# -- faults and the standalone server -----------------------------------------------------------------


def test_injected_faults(hl_server: HyperliquidServer) -> None:
    api = API(hl_server.url, timeout=0.3)
    hl_server.fail_next(503)
    with pytest.raises(ServerError):
        api.post("/info", {"type": "allMids"})
    hl_server.fail_next(429)
    with pytest.raises(ClientError) as caught:
        api.post("/info", {"type": "allMids"})
    assert caught.value.status_code == 429
    assert "BTC" in api.post("/info", {"type": "allMids"})

    hl_server.fail_next(502, path="/exchange")  # reads still pass; the next /exchange post fails
    assert "BTC" in api.post("/info", {"type": "allMids"})
    with pytest.raises(ServerError):
        api.post("/exchange", {})
    assert api.post("/exchange", {})["status"] == "err"  # served again (and refused: no action)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_runs_standalone_with_funded_users() -> None:
    port, user = _free_port(), Account.create()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend.sandbox.hyperliquid",
            "--port",
            str(port),
            "--fund",
            f"{user.address}=2500",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert f"127.0.0.1:{port}" in process.stdout.readline()
        state = Info(f"http://127.0.0.1:{port}", skip_ws=True).user_state(user.address)
        assert Decimal(state["marginSummary"]["accountValue"]) == 2500
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_server_stops_and_frees_its_port() -> None:
    server = HyperliquidServer().start()
    url = server.url
    server.stop()
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - connection refused, whatever requests calls it
        API(url, timeout=1).post("/info", {"type": "allMids"})
    assert time.monotonic() - started < 1


def test_k_prefixed_perps_are_priced_per_thousand_tokens(hl_server: HyperliquidServer) -> None:
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    hl_server.state.clock = now.timestamp
    info = Info(hl_server.url, skip_ws=True)
    pepe = hl_server.state.feed.price_at("PEPE", now)  # the simulated per-token price the app speaks in
    assert Decimal(info.all_mids()["kPEPE"]) == pepe * 1000
    assert 0 < pepe < Decimal("0.001")
    [kpepe] = [m for m in info.meta()["universe"] if m["name"] == "kPEPE"]
    assert kpepe == {"name": "kPEPE", "szDecimals": 0, "maxLeverage": 10}
    start = now.replace(minute=0) - timedelta(hours=1)
    ms = int(start.timestamp() * 1000)
    [candle] = info.candles_snapshot("kPEPE", "1h", ms, ms)
    [simulated] = hl_server.state.feed.candles("PEPE", start, 1, timedelta(hours=1))
    assert Decimal(candle["c"]) == simulated.close * 1000


def test_a_delisted_perp_takes_reduce_only_orders(hl_server, hl_user, hl_agent) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    exchange = trader(hl_server, hl_agent, hl_user)
    opened = exchange.bulk_orders([_wire("ETH", True, 0.01, 3030)])
    assert "filled" in opened["response"]["data"]["statuses"][0]
    hl_server.delist("ETH")
    assert Info(hl_server.url, skip_ws=True).all_mids()["ETH"] == "3000.0"  # winding down: still priced
    refused = exchange.bulk_orders([_wire("ETH", True, 0.01, 3030)])
    assert refused["response"]["data"]["statuses"][0] == {
        "error": "ETH is delisted: only reduce-only orders are accepted."
    }
    closed = exchange.bulk_orders([_wire("ETH", False, 0.01, 2970, reduce_only=True)])
    assert "filled" in closed["response"]["data"]["statuses"][0]


def _wire(coin: str, is_buy: bool, sz: float, px: float, *, reduce_only: bool = False) -> dict:
    return {
        "coin": coin,
        "is_buy": is_buy,
        "sz": sz,
        "limit_px": px,
        "order_type": IOC,
        "reduce_only": reduce_only,
    }
