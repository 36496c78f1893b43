"""Trade sizing: tiers by confidence, profile scale, reserve, leverage and caps, minimums."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.models.enums import SizingProfile
from backend.trading.sizing import RiskLimits, SizingSkip, TradeSize, confidence_tier, size_trade
from backend.venues.base import Balance, MarketRules

ETH = MarketRules(
    "ETH", size_decimals=4, tick_size=Decimal("0.1"), min_notional=Decimal("10"), max_leverage=Decimal(25)
)
FULL = Balance(equity=Decimal("10000"), available=Decimal("10000"))


@pytest.mark.parametrize(
    ("score", "tier"),
    [("0.55", "low"), ("0.6199", "low"), ("0.62", "medium"), ("0.75", "high"), ("0.99", "high")],
)
def test_tiers_follow_the_score(score, tier):
    assert confidence_tier(Decimal(score)) == tier


@pytest.mark.parametrize(
    ("score", "profile", "margin"),
    [
        ("0.56", SizingProfile.MODERATE, "200"),
        ("0.70", SizingProfile.MODERATE, "500"),
        ("0.80", SizingProfile.MODERATE, "800"),
        ("0.80", SizingProfile.CONSERVATIVE, "400"),
        ("0.80", SizingProfile.AGGRESSIVE, "1200"),
    ],
)
def test_margin_is_a_tier_share_of_available_scaled_by_profile(score, profile, margin):
    sized = size_trade(Decimal(score), FULL, Decimal("2000"), ETH, RiskLimits(profile=profile))
    assert isinstance(sized, TradeSize)
    assert sized.size == Decimal(margin) / 2000
    assert sized.leverage == 1


def test_leverage_multiplies_notional_and_never_exceeds_the_market_maximum():
    sized = size_trade(Decimal("0.8"), FULL, Decimal("2000"), ETH, RiskLimits(leverage_cap=Decimal(40)))
    assert sized.leverage == 25
    assert sized.notional == Decimal("800") * 25


def test_max_trade_caps_notional():
    limits = RiskLimits(leverage_cap=Decimal(5), max_trade_usd=Decimal("1000"))
    sized = size_trade(Decimal("0.8"), FULL, Decimal("2000"), ETH, limits)
    assert sized.notional == Decimal("1000")
    assert sized.margin == Decimal("200")


def test_sizes_round_down_to_the_market_step():
    sized = size_trade(Decimal("0.8"), FULL, Decimal("3333.3"), ETH, RiskLimits())
    assert sized.size == Decimal("0.2400")  # 800 / 3333.3 = 0.24000..., never rounded up
    assert sized.size * Decimal("3333.3") <= 800


def test_the_reserve_is_never_spent():
    nearly_spent = Balance(equity=Decimal("10000"), available=Decimal("2100"))
    sized = size_trade(
        Decimal("0.8"), nearly_spent, Decimal("2000"), ETH, RiskLimits(profile=SizingProfile.AGGRESSIVE)
    )
    assert sized.margin <= Decimal("100")  # 2,100 available - 2,000 reserve


def test_no_room_above_the_reserve_is_insufficient_balance():
    spent = Balance(equity=Decimal("10000"), available=Decimal("1500"))
    skip = size_trade(Decimal("0.8"), spent, Decimal("2000"), ETH, RiskLimits())
    assert isinstance(skip, SizingSkip)
    assert skip.reason == "insufficient balance: $1500.00 available, $2000.00 kept in reserve"


def test_a_trade_under_ten_dollars_is_below_minimum():
    small = Balance(equity=Decimal("300"), available=Decimal("300"))
    skip = size_trade(Decimal("0.56"), small, Decimal("2000"), ETH, RiskLimits())
    assert isinstance(skip, SizingSkip)
    assert skip.reason.startswith("below minimum: $6.00 low-confidence trade")
