"""The impact factor formula: calls not trades, clipped, shrunk while there are few calls."""

from decimal import Decimal as D

from backend.trading.impact import PRIOR_CALLS, Impact, TradeOutcome, call_returns, impact_factor


def test_no_calls_score_zero():
    assert impact_factor([]) == Impact(D("0"), 0)
    no_notional = TradeOutcome(1, D("5"), D("1"), D("0"))
    assert impact_factor([no_notional]) == Impact(D("0"), 0)  # no notional: no call


def test_trades_of_one_post_make_one_call_with_their_mean_return():
    outcomes = [TradeOutcome(7, D("10"), D("1"), D("100")), TradeOutcome(7, D("-2"), D("1"), D("100"))]
    assert call_returns(outcomes) == {7: D("0.04")}
    # mean 4% per call → 0.4 on the +10% scale, then 1 call of (1 + 5): 0.4 / 6
    assert impact_factor(outcomes) == Impact(D("0.0667"), 1)


def test_the_score_is_clipped_and_shrunk_toward_zero_for_few_calls():
    # +50% each, way over the scale
    winners = [TradeOutcome(i, D("50"), D("1"), D("100")) for i in range(PRIOR_CALLS)]
    assert impact_factor(winners) == Impact(D("0.5"), PRIOR_CALLS)  # clipped to 1, halved by shrinkage
    losers = [TradeOutcome(i, D("-5"), D("1"), D("100")) for i in range(45)]  # -5% each → -0.5, x 45/50
    assert impact_factor(losers) == Impact(D("-0.45"), 45)


def test_more_calls_of_the_same_quality_score_higher():
    def outcomes(n: int) -> list[TradeOutcome]:
        return [TradeOutcome(i, D("3"), D("1"), D("100")) for i in range(n)]

    assert impact_factor(outcomes(2)).factor < impact_factor(outcomes(20)).factor < D("0.3")
