"""A small stored history to backtest: a creator, a followed account, its agent, and a month of signal posts.

Posts are classified as the pipeline leaves them (token, side, confidence, classified_at), spread over the
last 30 days on the simulated feed's majors, so a 30-day backtest of the agent trades some of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from backend.agents.versions import Strategy, ensure_version
from backend.models import Agent, CtAccount, User
from backend.models.common import utcnow
from backend.models.enums import Side, SizingProfile, Venue
from tests.factories import Factory

TOKENS = ("BTC", "ETH", "SOL")


@dataclass(frozen=True)
class History:
    creator: User
    account: CtAccount
    agent: Agent


def backtest_history(factory: Factory, *, posts: int = 24, **agent_fields: object) -> History:
    """One post every ~30 hours over the last 30 days, alternating tokens and sides; a public agent on it."""
    factory.tokens(*TOKENS)
    creator = factory.user()
    account = factory.ct_account()
    now = utcnow().replace(second=0, microsecond=0)
    for i in range(posts):
        at = now - timedelta(days=29) + timedelta(hours=29 * i)
        token = TOKENS[i % len(TOKENS)]
        side = Side.LONG if i % 4 != 3 else Side.SHORT
        factory.post(
            account,
            text=f"${token} {'longing' if side == Side.LONG else 'shorting'} here",
            posted_at=at,
            is_signal=True,
            token=token,
            side=side,
            confidence=Decimal("0.8"),
            classifier="rules-test",
            classified_at=at + timedelta(seconds=5),
        )
    fields = {
        "venue": Venue.HYPERLIQUID,
        "weight_tweet": 80,
        "weight_rsi": 10,
        "signal_threshold": Decimal("0.3"),
    }
    fields.update(agent_fields)
    agent = factory.agent(creator, follows=[account], **fields)
    ensure_version(factory.session, agent)
    factory.session.commit()
    return History(creator, account, agent)


def tweet_only_strategy() -> Strategy:
    """An engine strategy that trades on the post alone: 10% stop, 20% target, 1% trail once 3% up, 1x."""
    weights = dict.fromkeys(
        ("tweet", "rsi", "macd", "bollinger", "volume", "moving_average", "momentum", "volatility"), 0
    )
    weights["tweet"] = 100
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
