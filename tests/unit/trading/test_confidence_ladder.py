"""The confidence ladder and the tier bound: what a post's text can do to a trade's size, and no more."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.models.enums import SizingProfile
from backend.trading.sizing import (
    CONFIDENCE_LADDER,
    MAX_CALL_CONFIDENCE,
    TIER_SHARES,
    RiskLimits,
    TradeSize,
    confidence_tier,
    ladder_confidence,
    size_trade,
    tier_margin,
)
from backend.venues.base import Balance, MarketRules

BTC = MarketRules(
    "BTC", size_decimals=5, tick_size=Decimal("1"), min_notional=Decimal("10"), max_leverage=Decimal(40)
)


@pytest.mark.parametrize(
    ("confidence", "rung"),
    [
        ("1", "0.95"),
        ("1000", "0.95"),
        ("0.95", "0.95"),
        ("0.9499", "0.75"),
        ("0.75", "0.75"),
        ("0.7499", "0.62"),
        ("0.62", "0.62"),
        ("0.61", "0.50"),
        ("0.50", "0.50"),
        ("0.4999", "0"),
        ("0", "0"),
        ("-3", "0"),
        ("NaN", "0"),
        ("Infinity", "0"),
        ("-Infinity", "0"),
    ],
)
def test_a_confidence_is_floored_onto_the_ladder(confidence: str, rung: str) -> None:
    assert ladder_confidence(Decimal(confidence)) == Decimal(rung)


def test_the_ladder_is_the_tier_thresholds_under_the_rules_strongest_call() -> None:
    assert tuple(Decimal(r) for r in ("0", "0.50", "0.62", "0.75", "0.95")) == CONFIDENCE_LADDER
    assert max(CONFIDENCE_LADDER) == MAX_CALL_CONFIDENCE


confidences = st.decimals(allow_nan=True, allow_infinity=True, places=6)


@settings(max_examples=500)
@given(confidence=confidences)
def test_laddering_never_raises_a_confidence_and_keeps_its_tier(confidence: Decimal) -> None:
    rung = ladder_confidence(confidence)
    assert rung in CONFIDENCE_LADDER and rung <= MAX_CALL_CONFIDENCE
    if confidence.is_finite():
        assert rung <= max(confidence, Decimal(0))
        if rung:  # a call keeps the tier a tweet-only score of it would have had
            assert confidence_tier(rung) == confidence_tier(confidence)


balances = st.builds(
    lambda equity, used: Balance(equity=equity, available=equity * used),
    st.decimals(min_value="100", max_value="10000000", places=2),
    st.decimals(min_value="0", max_value="1", places=2),
)


@settings(max_examples=400)
@given(
    score=st.decimals(min_value="-10", max_value="1000", places=4),
    balance=balances,
    mid=st.decimals(min_value="0.01", max_value="200000", places=2),
    profile=st.sampled_from(list(SizingProfile)),
    leverage=st.sampled_from([None, Decimal(1), Decimal(3), Decimal(100)]),
)
def test_no_score_buys_more_margin_than_the_high_tier(
    score: Decimal, balance: Balance, mid: Decimal, profile: SizingProfile, leverage: Decimal | None
) -> None:
    """Whatever score a post's text produced, the margin is the tier table's or less, at the market's
    leverage cap or less."""
    sized = size_trade(score, balance, mid, BTC, RiskLimits(profile=profile, leverage_cap=leverage))
    if isinstance(sized, TradeSize):
        assert sized.margin <= tier_margin(balance.available, confidence_tier(score), profile)
        assert sized.margin <= tier_margin(balance.available, "high", profile)
        assert sized.leverage <= BTC.max_leverage


def test_tier_margin_is_share_times_profile() -> None:
    assert tier_margin(Decimal("10000"), "high", SizingProfile.AGGRESSIVE) == Decimal("1200")
    assert tier_margin(Decimal("10000"), "low", SizingProfile.CONSERVATIVE) == Decimal("100")
    assert max(TIER_SHARES.values()) == TIER_SHARES["high"]
