"""Stored skip reasons carry the owner's detail; the public sees only their category."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.execution.reasons import SkipCategory, category_of, public_reason, skip_reason
from backend.trading.sizing import RiskLimits, SizingSkip, size_trade
from backend.venues.base import Balance, MarketRules

ETH = MarketRules(
    "ETH", size_decimals=4, tick_size=Decimal("0.1"), min_notional=Decimal("10"), max_leverage=Decimal(25)
)


def test_insufficient_balance_keeps_the_amounts_for_the_owner_and_none_for_the_public():
    spent = Balance(equity=Decimal("10000"), available=Decimal("123.45"))
    skip = size_trade(Decimal("0.8"), spent, Decimal("2000"), ETH, RiskLimits())
    assert isinstance(skip, SizingSkip)
    assert "$123.45" in skip.reason
    assert public_reason(skip.reason) == "insufficient balance"


@pytest.mark.parametrize("category", list(SkipCategory))
def test_every_category_reads_back_from_its_stored_reason(category: SkipCategory):
    assert category_of(skip_reason(category, "$42.00 of someone's balance")) is category
    assert public_reason(skip_reason(category, "$42.00 of someone's balance")) == category.value
    assert category_of(skip_reason(category)) is category


@pytest.mark.parametrize(
    "stored",
    [
        "available $123.45 < $10 minimum",  # a row from before categories: nothing of it is shown
        "insufficient balanced books",  # a known word without the separator is not that category
        "Insufficient margin to place order. asset=4",
    ],
)
def test_a_reason_without_a_known_category_is_other_in_public(stored: str):
    assert public_reason(stored) == "other"


def test_no_reason_is_none():
    assert public_reason(None) is None and public_reason("") is None


def test_a_long_detail_is_cut_to_the_column():
    assert len(skip_reason(SkipCategory.ORDER_REFUSED, "x" * 1000)) == 256
