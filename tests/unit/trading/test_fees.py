"""The platform's fees as billing lines: live deployments only, profit share on the agent's wins only."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.trading.fees import (
    TRADE_FEE_USD,
    Beneficiary,
    FeePolicy,
    LineKind,
    builder_fee,
    close_lines,
    open_lines,
    split_evenly,
    subscription_line,
)
from backend.trading.types import CloseReason

POLICY = FeePolicy(creator_share=D("0.10"), sources_share=D(0))
SPLIT = FeePolicy(creator_share=D("0.10"), sources_share=D("0.10"))


def test_a_live_entry_owes_the_trade_fee_once() -> None:
    [line] = open_lines(POLICY, billable=True, market="ETH")
    assert (line.kind, line.amount, line.beneficiary) == (
        LineKind.TRADE_FEE,
        TRADE_FEE_USD,
        Beneficiary.PLATFORM,
    )
    assert "ETH" in line.description


def test_paper_and_reference_books_are_not_billed() -> None:
    assert open_lines(POLICY, billable=False, market="ETH") == []
    assert close_lines(POLICY, billable=False, realized_pnl=D(100), reason=CloseReason.TAKE_PROFIT) == []


def test_a_profitable_close_owes_the_creator_a_share_of_realised_pnl() -> None:
    [line] = close_lines(POLICY, billable=True, realized_pnl=D("12.345678"), reason=CloseReason.TRAILING_STOP)
    assert (line.kind, line.amount, line.beneficiary) == (
        LineKind.PROFIT_SHARE,
        D("1.234568"),
        Beneficiary.CREATOR,
    )
    assert line.description == "10% profit share to the agent's creator"


@pytest.mark.parametrize("pnl", [D(0), D("-5")])
def test_a_loss_or_a_flat_close_owes_no_share(pnl) -> None:
    assert close_lines(POLICY, billable=True, realized_pnl=pnl, reason=CloseReason.TAKE_PROFIT) == []


def test_a_close_made_at_the_venue_outside_the_platform_owes_no_share() -> None:
    assert (
        close_lines(SPLIT, billable=True, realized_pnl=D(100), reason=CloseReason.EXTERNAL, sources=[3]) == []
    )
    [line] = close_lines(POLICY, billable=True, realized_pnl=D(100), reason=CloseReason.MANUAL)
    assert line.amount == D(10)


def test_a_free_policy_bills_nothing_and_bad_policies_are_refused() -> None:
    free = FeePolicy(trade_fee_usd=D(0), creator_share=D(0), sources_share=D(0))
    assert open_lines(free, billable=True, market="ETH") == []
    assert close_lines(free, billable=True, realized_pnl=D(100), reason=CloseReason.MANUAL) == []
    with pytest.raises(ValueError):
        FeePolicy(creator_share=D(1))
    with pytest.raises(ValueError):
        FeePolicy(trade_fee_usd=D(-1))

    with pytest.raises(ValueError):
        FeePolicy(creator_share=D("0.5"), sources_share=D("0.5"))


def test_the_sources_share_is_split_between_the_signal_accounts_to_the_millionth() -> None:
    lines = close_lines(
        SPLIT, billable=True, realized_pnl=D("10"), reason=CloseReason.TAKE_PROFIT, sources=[9, 4, 4, 7]
    )
    creator, *sources = lines
    assert (creator.beneficiary, creator.amount) == (Beneficiary.CREATOR, D("1.000000"))
    assert [(line.beneficiary, line.source, line.amount) for line in sources] == [
        (Beneficiary.SOURCES, 4, D("0.333334")),
        (Beneficiary.SOURCES, 7, D("0.333333")),
        (Beneficiary.SOURCES, 9, D("0.333333")),
    ]
    assert sum(line.amount for line in sources) == D("1.000000")


def test_a_signal_without_a_source_pays_only_the_creator() -> None:
    [line] = close_lines(SPLIT, billable=True, realized_pnl=D("10"), reason=CloseReason.TAKE_PROFIT)
    assert line.beneficiary == Beneficiary.CREATOR


@given(st.decimals(min_value=0, max_value=10**6, places=6), st.integers(min_value=1, max_value=50))
def test_an_even_split_adds_up_exactly_and_differs_by_at_most_a_quantum(amount, parts) -> None:
    split = split_evenly(amount, parts)
    assert sum(split) == amount and len(split) == parts
    assert max(split) - min(split) <= D("0.000001")


def test_a_builder_fee_collected_by_the_venue_replaces_the_trade_fee() -> None:
    assert builder_fee(D("1000"), 10) == D("0.100000")  # 1 bp of 1,000 USD
    assert builder_fee(D("-2500"), 25) == D("0.625000")
    [line] = open_lines(POLICY, billable=True, market="ETH", collected_fee=D("0.0625"))
    assert (line.kind, line.amount, line.collected) == (LineKind.TRADE_FEE, D("0.062500"), True)
    assert open_lines(POLICY, billable=False, market="ETH", collected_fee=D("0.0625")) == []
    with pytest.raises(ValueError):
        builder_fee(D(1), -1)


def test_a_paid_subscription_period_owes_the_monthly_price() -> None:
    start, end = datetime(2026, 12, 6, tzinfo=UTC), datetime(2027, 1, 6, tzinfo=UTC)
    line = subscription_line(POLICY, start, end)
    assert line is not None
    assert (line.kind, line.amount, line.beneficiary) == (
        LineKind.SUBSCRIPTION,
        D("20.000000"),
        Beneficiary.PLATFORM,
    )
    assert line.description == "Subscription 2026-12-06 to 2027-01-06"
    assert subscription_line(FeePolicy(subscription_usd=D(0)), start, end) is None
