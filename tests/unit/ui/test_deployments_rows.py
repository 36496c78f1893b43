"""Rows of the deployments page: status, actions, balances the venue could not give, positions with fees."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from backend.deployments.schemas import DeploymentView, PositionFigures, PositionView, RiskSettings
from backend.models.enums import Side
from backend.trading.book import breakdown, total
from maxxit_ui.state.deploy_form import TIMES
from maxxit_ui.state.deployments import deployment_row, position_row

CREATED = datetime(2025, 3, 4, 5, 6, tzinfo=UTC)


def deployment(**changes) -> DeploymentView:
    base = {
        "id": 12,
        "agent_id": 3,
        "agent_name": "Hyper Momentum",
        "venue": "PAPER",
        "venue_preferences": None,
        "status": "ACTIVE",
        "user_wallet": None,
        "agent_wallet_address": None,
        "agent_wallet_approved": False,
        "balance_usd": D("2512.5"),
        "available_usd": D("2300"),
        "open_positions": 2,
        "realized_pnl": D("-4.25"),
        "fees_paid": D("1.45"),
        "figures": PositionFigures.of(
            total(
                [
                    breakdown(Side.LONG, D(100), D(97), D(1), entry_fee=D("0.05"), exit_fee=D("0.05")),
                    breakdown(Side.SHORT, D(10), D(10), D(2), entry_fee=D("0.01"), platform_fee=D("1.34")),
                ]
            )
        ),
        "risk": RiskSettings(),
        "created_at": CREATED,
    }
    return DeploymentView(**{**base, **changes})


def test_a_paper_deployment_row():
    row = deployment_row(deployment(equity_usd=D("2512.5"), return_pct=D("0.0125"), unrealized_pnl=D("3.1")))
    assert row["id"] == "12" and row["agent_href"] == "/agents/3"
    assert (row["venues"], row["account"]) == ("Paper", "virtual balance")
    assert (row["equity"], row["available"], row["open_positions"]) == ("$2,512.50", "$2,300.00", "2")
    assert (row["returns"], row["returns_tone"]) == ("+1.25% time-weighted", "positive")
    assert row["unrealized"] == "+$3.10 open"
    # The sum of its positions' breakdowns: -3 gross, $1.45 of fees, -4.45 net.
    assert (row["pnl"], row["pnl_tone"], row["fees"]) == ("-$4.45", "negative", "$1.45")
    assert row["created"] == "2025-03-04 05:06 UTC"


@pytest.mark.parametrize(
    ("status", "label", "color", "actions"),
    [
        ("ACTIVE", "Active", "green", (True, False, True)),
        ("PAUSED", "Paused", "amber", (False, True, True)),
        ("PENDING_APPROVAL", "Awaiting approval", "blue", (False, False, True)),
        ("CANCELLED", "Cancelled", "gray", (False, False, False)),
    ],
)
def test_status_decides_the_actions(status, label, color, actions):
    row = deployment_row(deployment(status=status))
    assert (row["status"], row["status_color"]) == (label, color)
    assert (row["can_pause"], row["can_resume"], row["can_cancel"]) == actions


def test_a_multi_venue_deployment_without_a_balance():
    address = "0x" + "ab" * 20
    row = deployment_row(
        deployment(
            venue="HYPERLIQUID",
            venue_preferences=["HYPERLIQUID", "PAPER"],
            user_wallet=address,
            balance_usd=None,
            available_usd=None,
        )
    )
    assert row["venues"] == "Hyperliquid → Paper"
    assert (row["account"], row["account_title"]) == ("0xabab…abab", address)
    assert (row["equity"], row["equity_tone"], row["available"]) == ("unavailable", "muted", "unavailable")
    # The trader's own account: its capital is not ours to know, so no return, only PnL since deployment.
    assert (row["returns"], row["returns_tone"]) == ("PnL since deployment", "muted")


def position(**changes) -> PositionView:
    base = {
        "id": 40,
        "deployment_id": 12,
        "agent_id": 3,
        "agent_name": "Hyper Momentum",
        "venue": "HYPERLIQUID",
        "market": "ETH",
        "side": "long",
        "size": D("0.0420"),
        "entry_price": D("3012.5"),
        "leverage": D("3"),
        "status": "OPEN",
        "signal_id": 9,
        "signal_score": D("0.7234"),
        "post_excerpt": "$ETH reclaiming the range high",
        "entry_fee": D("0.0569"),
        "trade_fee": D("0.20"),
        "exit_price": None,
        "realized_pnl": None,
        "close_reason": None,
        "client_order_id": "0x" + "0" * 32,
        "opened_at": CREATED,
        "closed_at": None,
    }
    exit_fee, share = changes.get("exit_fee", D(0)), changes.pop("profit_share", D(0))
    merged = {**base, **changes}
    exit_price = merged["exit_price"] or merged.get("mark_price") or merged["entry_price"]
    parts = breakdown(
        Side(merged["side"]),
        merged["entry_price"],
        exit_price,
        merged["size"],
        entry_fee=merged["entry_fee"],
        exit_fee=exit_fee,
        platform_fee=merged["trade_fee"],
        profit_share=share,
    )
    return PositionView(**{**merged, "figures": PositionFigures.of(parts)})


def test_an_open_position_with_its_signal_and_fees():
    row = position_row(position())
    assert (row["venue"], row["market"], row["side"], row["side_tone"]) == (
        "Hyperliquid",
        "ETH",
        "LONG",
        "positive",
    )
    assert (row["size"], row["entry"], row["leverage"]) == ("0.042 ETH", "3,012.5", f"3{TIMES}")
    assert (row["has_signal"], row["score"], row["signals_href"]) == (True, "0.72", "/agents/3/signals")
    assert row["post"] == "$ETH reclaiming the range high"
    assert (row["fees"], row["fee_detail"]) == ("$0.26", "$0.06 venue + $0.20 Maxxit")
    # No tick seen yet: no PnL to show, rather than a made-up zero.
    assert (row["status"], row["status_color"], row["pnl"], row["pnl_tone"], row["pnl_note"]) == (
        "Open",
        "green",
        "—",
        "muted",
        "no price yet",
    )


def test_an_open_position_reads_its_unrealised_pnl_mark_and_lines_at_the_tick():
    row = position_row(
        position(
            mark_price=D("3042.6"),
            return_on_margin=D("0.02997"),
            stop_price=D("2711.25"),
            take_profit_price=D("3163.125"),
            liquidation_price=D("2049.31972789"),
            notional_usd=D("127.7892"),
            margin_usd=D("42.175"),
            tick_size=D("0.1"),
        )
    )
    # 0.042 x 30.1 = 1.2642 gross, less 0.0569 venue and 0.20 Maxxit so far.
    assert (row["pnl"], row["pnl_tone"], row["pnl_note"]) == ("+$1.01", "positive", "+3.00% on margin")
    assert (row["is_open"], row["mark_label"], row["mark"]) == (True, "mark", "3,042.6")
    assert (row["stop"], row["take_profit"], row["liquidation"]) == ("2,711.2", "3,163.1", "2,049.3")
    assert (row["notional"], row["margin"], row["reason"]) == ("$127.79", "$42.18", "")


def test_prices_without_a_known_tick_keep_five_significant_figures():
    row = position_row(position(mark_price=D("3042.618"), stop_price=D("2711.2512")))
    assert (row["mark"], row["stop"], row["take_profit"]) == ("3,042.6", "2,711.3", "none")


def test_a_closed_position_found_at_the_venue_has_no_signal():
    row = position_row(
        position(
            status="CLOSED",
            signal_id=None,
            signal_score=None,
            post_excerpt=None,
            exit_price=D("3312.5"),
            realized_pnl=D("12.54"),
            profit_share=D("1.25"),
        )
    )
    assert (row["has_signal"], row["score"], row["post"]) == (False, "—", "")
    # Net of every fee: 12.6 gross - 0.0569 venue - 0.20 Maxxit - 1.25 profit share.
    assert (row["status"], row["status_color"], row["pnl"], row["pnl_tone"]) == (
        "Closed",
        "gray",
        "+$11.09",
        "positive",
    )
    assert (row["fees"], row["fee_detail"]) == (
        "$1.51",
        "$0.06 open + $0.00 close + $0.20 Maxxit + $1.25 profit share",
    )


def test_a_closed_position_shows_its_exit_why_it_closed_and_each_fee():
    row = position_row(
        position(
            status="CLOSED",
            exit_price=D("2950.04"),
            realized_pnl=D("-2.73"),
            close_reason="TRAILING_STOP",
            exit_fee=D("0.0557"),
            tick_size=D("0.1"),
        )
    )
    assert (row["is_open"], row["mark_label"], row["mark"], row["reason"]) == (
        False,
        "exit",
        "2,950",
        "Trailing stop",
    )
    assert (row["pnl"], row["pnl_tone"], row["pnl_note"]) == (
        "-$2.94",
        "negative",
        "realised, after all fees",
    )
    assert row["fee_detail"] == "$0.06 open + $0.06 close + $0.20 Maxxit"
