"""How big a trade is: pure arithmetic over a balance, a signal's score and the deployment's risk settings.

The old platform's rules, kept: a share of the available balance by confidence tier (low 2%, medium 5%,
high 8%), scaled by the sizing profile; 20% of equity stays in reserve; nothing under $10 (or the market's
own minimum). The share is margin; leverage (the deployment's cap, else 1x, never above the market's
maximum) turns it into notional, and `max_trade_usd` caps the notional.

What a post's text can do to a trade's size is bounded here, in two places:
- the score reaches `size_trade` only through `confidence_tier`, so the margin is at most
  `tier_margin(available, "high", profile)` (8% of available at the moderate profile) whatever the score;
- a free-text reader's confidence (the LLM's) enters the score only after `ladder_confidence` has floored
  it onto CONFIDENCE_LADDER, whose top rung is the rule classifier's strongest call (0.95): a post that
  persuades the model to say "1.0" counts for no more than the clearest call the rules can read.
Leverage comes from the deployment and the market, never from the post.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backend.trading.market import Balance, MarketRules
from backend.trading.types import SizingProfile

TIER_SHARES = {"low": Decimal("0.02"), "medium": Decimal("0.05"), "high": Decimal("0.08")}
PROFILE_SCALE = {
    SizingProfile.CONSERVATIVE: Decimal("0.5"),
    SizingProfile.MODERATE: Decimal("1"),
    SizingProfile.AGGRESSIVE: Decimal("1.5"),
}
RESERVE_SHARE = Decimal("0.20")
MIN_TRADE_USD = Decimal("10")
HIGH_SCORE = Decimal("0.75")
MEDIUM_SCORE = Decimal("0.62")


# The confidences a call may carry into a score: nothing, the weakest call the rules make, each tier's
# threshold, and the rules' strongest call. A model's number is floored onto them (`ladder_confidence`).
MIN_CALL_CONFIDENCE = Decimal("0.50")
MAX_CALL_CONFIDENCE = Decimal("0.95")
CONFIDENCE_LADDER: tuple[Decimal, ...] = (
    Decimal(0),
    MIN_CALL_CONFIDENCE,
    MEDIUM_SCORE,
    HIGH_SCORE,
    MAX_CALL_CONFIDENCE,
)


def confidence_tier(score: Decimal) -> str:
    return "high" if score >= HIGH_SCORE else "medium" if score >= MEDIUM_SCORE else "low"


def ladder_confidence(confidence: Decimal) -> Decimal:
    """The highest rung of CONFIDENCE_LADDER at or below `confidence`: never more than MAX_CALL_CONFIDENCE.

    Guarantee: for any input (above 1, negative, NaN, infinite) the result is a rung, at most the input
    and at most 0.95, so the classifier can only lower what it was told, never raise it. A result of 0
    means the call is weaker than the weakest call the rules would make: not a call. A call's tier is
    kept: a tweet-only score of the laddered confidence lands in the same tier as the raw one, except
    that nothing above 0.95 survives.
    """
    if not confidence.is_finite() or confidence < MIN_CALL_CONFIDENCE:
        return Decimal(0)
    return max(rung for rung in CONFIDENCE_LADDER if rung <= confidence)


def tier_margin(available: Decimal, tier: str, profile: SizingProfile) -> Decimal:
    """The margin the tier table gives: a tier's share of the available balance, scaled by the profile.

    `size_trade` never commits more margin than this (the reserve and `max_trade_usd` only lower it).
    """
    return available * TIER_SHARES[tier] * PROFILE_SCALE[profile]


@dataclass(frozen=True)
class RiskLimits:
    profile: SizingProfile = SizingProfile.MODERATE
    leverage_cap: Decimal | None = None
    max_trade_usd: Decimal | None = None


@dataclass(frozen=True)
class TradeSize:
    size: Decimal
    leverage: Decimal
    notional: Decimal
    margin: Decimal
    tier: str


# Why a trade was not sized; the values are the execution layer's public skip categories.
INSUFFICIENT_BALANCE = "insufficient balance"
BELOW_MINIMUM = "below minimum"


@dataclass(frozen=True)
class SizingSkip:
    category: str  # INSUFFICIENT_BALANCE or BELOW_MINIMUM
    detail: str  # amounts of the trader's own balance: for the owner's eyes

    @property
    def reason(self) -> str:
        return f"{self.category}: {self.detail}"


def trade_leverage(limits: RiskLimits, rules: MarketRules | None) -> Decimal:
    """The leverage a trade is sized at: the cap asked for (else 1x), never above the market's maximum."""
    asked = limits.leverage_cap or Decimal(1)
    return asked if rules is None else min(asked, rules.max_leverage)


def size_trade(
    score: Decimal, balance: Balance, mid: Decimal, rules: MarketRules, limits: RiskLimits
) -> TradeSize | SizingSkip:
    """Margin by confidence tier and profile, never into the reserve; leverage turns it into notional.

    The score is read only through its tier: the margin is at most `tier_margin(available, tier, profile)`
    and so never above the high tier's, however large a score a post's text produced.
    """
    tier = confidence_tier(score)
    spendable = balance.available - RESERVE_SHARE * balance.equity
    if spendable <= 0:
        reserve = RESERVE_SHARE * balance.equity
        detail = f"${balance.available:.2f} available, ${reserve:.2f} kept in reserve"
        return SizingSkip(INSUFFICIENT_BALANCE, detail)
    margin = min(tier_margin(balance.available, tier, limits.profile), spendable)
    leverage = trade_leverage(limits, rules)
    notional = margin * leverage
    if limits.max_trade_usd is not None:
        notional = min(notional, limits.max_trade_usd)
    size = rules.round_size(notional / mid)
    notional = size * mid
    minimum = max(MIN_TRADE_USD, rules.min_notional)
    if notional < minimum or size < rules.min_size or size <= 0:
        detail = f"${notional:.2f} {tier}-confidence trade, minimum ${minimum}"
        return SizingSkip(BELOW_MINIMUM, detail)
    return TradeSize(size=size, leverage=leverage, notional=notional, margin=notional / leverage, tier=tier)
