"""The demo never speaks for a real person: fictional CT accounts, and the sample feed posts only as them."""

from __future__ import annotations

import json
from decimal import Decimal as D

from backend.config import Settings
from backend.demo import catalog
from backend.prices.markets import MARKETS
from backend.prices.quotes import for_token, placeholders
from backend.signals.sources.sample_feed import load_sample_lines

# Real crypto-Twitter people the demo once impersonated (handles and the names they go by).
REAL_HANDLES = {
    "cryptocobain", "hsakatrades", "degenspartan", "coldbloodshill", "crediblecrypto", "pentosharkta",
    "pentoshiwenlambo", "lightcrypto", "blknoiz06", "inversebrah", "theflowhorse", "zssbecker",
    "altcoinsherpa", "cobie", "gcrclassic", "loomdart", "cryptokaleo", "rektcapital",
}  # fmt: skip
REAL_NAMES = ("cobain", "hsaka", "spartan", "pentoshi", "ansem", "sherpa", "zss", "credible", "flow horse")


def test_no_demo_account_is_a_real_handle_or_name():
    for handle, display, _ in catalog.CT_ACCOUNTS:
        assert handle.lower() not in REAL_HANDLES
        assert handle.startswith("demo_"), handle  # fictional at a glance, in every list that shows it
        assert len(handle) <= 15  # what X allows: plausible handles
        assert not any(name in display.lower() for name in REAL_NAMES), display


def test_no_demo_agent_is_named_after_a_real_person():
    for agent in catalog.AGENTS:
        assert not any(name in agent.name.lower() for name in REAL_NAMES), agent.name
        assert set(agent.follows) <= {handle for handle, _, _ in catalog.CT_ACCOUNTS}


def test_the_bundled_sample_feed_posts_only_as_demo_accounts():
    demo = {handle for handle, _, _ in catalog.CT_ACCOUNTS}
    lines = load_sample_lines(Settings(_env_file=None).sample_feed_path)
    assert {line.handle for line in lines} == demo
    raw = Settings(_env_file=None).sample_feed_path.read_text().lower()
    assert not any(handle in raw for handle in REAL_HANDLES)
    assert all(json.loads(line) for line in raw.splitlines() if line.strip())


def test_the_demo_agents_trade_the_whole_simulated_universe():
    traded = {token for agent in catalog.AGENTS for token in agent.tokens}
    assert traded == set(MARKETS)
    assert all(set(agent.tokens) <= set(MARKETS) for agent in catalog.AGENTS)


def test_quoting_templates_quote_the_price_then_and_levels_near_it():
    """Entry at the feed's price; stops and targets a few to fifteen percent away, on the trade's side."""
    for template in (*catalog.QUOTED_BULLISH, *catalog.QUOTED_BEARISH, *catalog.EXITS):
        text = for_token(template, "SOL")
        assert "$SOL" in text and "${t}" not in text, template
        marks = placeholders(text)
        assert marks and ("SOL", D(1)) in marks, template
        assert all(symbol == "SOL" and D("0.85") <= factor <= D("1.2") for symbol, factor in marks), template
    for template in catalog.QUOTED_BULLISH:
        levels = [factor for _, factor in placeholders(for_token(template, "SOL"))]
        assert min(levels) < 1 < max(levels), template  # a stop below and a target above
    for template in catalog.QUOTED_BEARISH:
        levels = [factor for _, factor in placeholders(for_token(template, "SOL"))]
        assert min(levels) < 1 < max(levels), template
    for template in (*catalog.BULLISH, *catalog.BEARISH, *catalog.NOISE):
        assert placeholders(for_token(template, "SOL")) == [], "quotes only where the template means them"
