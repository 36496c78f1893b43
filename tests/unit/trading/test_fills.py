"""The fill model: slippage against the taker, the taker fee to the money quantum, pro-rata fees."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from backend.trading.fills import FillModel, gas_fee, pro_rata_fee
from backend.trading.market import MarketRules

RULES = MarketRules("ETH", size_decimals=3, tick_size=D("0.1"), min_notional=D(10), max_leverage=D(25))


def test_a_buy_fills_above_the_mid_and_a_sell_below_on_the_tick() -> None:
    model = FillModel.from_bps(D(10), D("4.5"))
    assert model.price(D(3000), is_buy=True, rules=RULES) == D("3003.0")
    assert model.price(D(3000), is_buy=False, rules=RULES) == D("2997.0")


def test_no_slippage_fills_at_the_mid_rounded_to_the_tick() -> None:
    assert FillModel(slippage=D(0)).price(D("3000.04"), is_buy=True, rules=RULES) == D("3000.0")


def test_the_taker_fee_is_on_the_notional_to_a_millionth() -> None:
    model = FillModel(taker_fee=D("0.00045"))
    assert model.fee(D("0.333"), D("3001.1")) == D("0.449715")  # 999.3663 * 0.00045 = 0.44971483..
    assert FillModel(taker_fee=D(0)).fee(D(1), D(3000)) == 0


@pytest.mark.parametrize("bad", [D(-1), D(1), D("NaN")])
def test_a_fraction_outside_zero_to_one_is_refused(bad) -> None:
    with pytest.raises(ValueError, match="slippage"):
        FillModel(slippage=bad)


def test_pro_rata_fee_shares_a_closing_fee_by_size_and_never_exceeds_it() -> None:
    assert pro_rata_fee(D("0.90"), D(1), D(3)) == D("0.300000")
    assert pro_rata_fee(D("0.90"), D(5), D(3)) == D("0.90")
    with pytest.raises(ValueError):
        pro_rata_fee(D(1), D(1), D(0))


def test_a_transactions_gas_is_its_fee_in_usd_to_the_money_quantum() -> None:
    # 250,000 gas at 0.01 gwei on Arbitrum, ETH at 3,000: 0.0000025 ETH = $0.0075.
    assert gas_fee(250_000, 10_000_000, D(3000)) == D("0.007500")
    assert gas_fee(21_000, 1, D(3000)) == D(0)  # below a millionth of a dollar
