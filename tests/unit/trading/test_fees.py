"""The platform's fees as billing lines: live deployments only, profit share on the agent's wins only."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from backend.trading.fees import (
    TRADE_FEE_USD,
    Beneficiary,
    FeePolicy,
    LineKind,
    close_lines,
    open_lines,
    profit_share,
)
from backend.trading.types import CloseReason

POLICY = FeePolicy(profit_share=D("0.10"))


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
    assert profit_share(POLICY, realized_pnl=D(100), reason=CloseReason.EXTERNAL) == 0
    assert close_lines(POLICY, billable=True, realized_pnl=D(100), reason=CloseReason.EXTERNAL) == []
    assert profit_share(POLICY, realized_pnl=D(100), reason=CloseReason.MANUAL) == D(10)


def test_a_free_policy_bills_nothing_and_bad_policies_are_refused() -> None:
    free = FeePolicy(trade_fee_usd=D(0), profit_share=D(0))
    assert open_lines(free, billable=True, market="ETH") == []
    assert close_lines(free, billable=True, realized_pnl=D(100), reason=CloseReason.MANUAL) == []
    with pytest.raises(ValueError):
        FeePolicy(profit_share=D(1))
    with pytest.raises(ValueError):
        FeePolicy(trade_fee_usd=D(-1))
