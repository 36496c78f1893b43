"""A bar that touches both the stop and the target: the backtest resolves it as the core documents
(`trading.exits.evaluate_candle`: adverse extreme first, so the stop fills at its line)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from backend.agents.versions import Strategy
from backend.backtest.candles import BAR, HOUR
from backend.backtest.engine import Sources, run
from backend.backtest.inputs import FeatureCache, PostCall
from backend.backtest.replay_source import Costs
from backend.models.enums import CloseReason, Side, SizingProfile
from backend.prices.simulated import Candle as Hourly
from backend.trading.exits import Candle as Bar
from backend.trading.fees import FeePolicy
from backend.trading.fills import FillModel
from backend.trading.market import MarketRules

T0 = datetime(2026, 10, 1, tzinfo=UTC)
POST_AT = T0 + timedelta(hours=70, minutes=5)
WIDE = T0 + timedelta(hours=71)  # the first bar after the entry's: low 85 (stop 90) and high 130 (target 120)


class Path:
    """Flat at 100, but for one wide bar."""

    name = "intrabar"

    def hourly(self, market, start, end):
        out, at = [], start
        while at < end:
            out.append(Hourly(at, Decimal(100), Decimal(100), Decimal(100), Decimal(100), Decimal(1000)))
            at += HOUR
        return out

    def bars(self, market, start, end):
        out, at = [], start
        while at < end:
            wide = at == WIDE
            low, high = (Decimal(85), Decimal(130)) if wide else (Decimal(100), Decimal(100))
            out.append(Bar(at, Decimal(100), high, low, Decimal(100)))
            at += BAR
        return out

    def data_version(self, markets, start, end):
        return self.name


def _strategy(side_weights: int = 100) -> Strategy:
    weights = dict.fromkeys(
        ("tweet", "rsi", "macd", "bollinger", "volume", "moving_average", "momentum", "volatility"), 0
    )
    weights["tweet"] = side_weights
    return Strategy(
        venue="HYPERLIQUID",
        weights=weights,
        signal_threshold=Decimal("0.5"),
        ct_account_ids=(1,),
        stoploss=Decimal("0.10"),
        take_profit=Decimal("0.20"),
        trailing_stop_positive=Decimal("0.01"),
        trailing_stop_positive_offset=Decimal("0.03"),
        sizing_profile=SizingProfile.MODERATE,
        leverage=Decimal(1),
    )


def test_a_bar_through_stop_and_target_exits_at_the_stop():
    rules = MarketRules(
        "BTC", size_decimals=4, tick_size=Decimal("0.1"), min_notional=Decimal(10), max_leverage=Decimal(10)
    )
    costs = Costs(
        fills=FillModel(Decimal(0), Decimal(0)),
        fees=FeePolicy(),
        time_limit=None,
        reference_capital=Decimal(10000),
    )
    sources = Sources(Path(), {"BTC": rules}, costs, features=FeatureCache())
    call = PostCall(1, 1, "someone", "long $BTC", POST_AT, POST_AT, "BTC", Side.LONG, Decimal("0.9"))
    outcome = run(
        [call], _strategy(), start=T0, end=T0 + timedelta(days=4), capital=Decimal(10000), sources=sources
    )
    (trade,) = outcome.result.trades
    assert trade.entry_at == T0 + timedelta(hours=70, minutes=15)
    assert trade.reason == CloseReason.STOP_LOSS
    assert trade.entry_price == Decimal(100)
    assert trade.exit_price == Decimal(90)  # the stop line (10% under the entry), not the target, not the low
    assert trade.exit_at == WIDE + BAR  # inside a bar: timed at its end
    assert outcome.report.summary.losses == 1
