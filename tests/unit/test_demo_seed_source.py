"""The demo seed is a catalogue, not a second trading engine: its history comes from the replay."""

from __future__ import annotations

import ast
import inspect

from backend.demo import catalog, seed

# What a module that sizes, fills, books or bills trades would need; the seed may use none of it.
FORBIDDEN_NAMES = {
    "TAKER_FEE", "SLIPPAGE", "PROFIT_SHARE", "TRADE_FEE_USD", "TIER_SHARES", "PROFILE_SCALE",
    "confidence_tier", "size_trade", "realized_pnl", "gross_pnl", "apply_fill", "evaluate", "evaluate_candle",
    "exit_reason", "update_best_price", "quantize", "ROUND_DOWN", "ROUND_HALF_EVEN", "money", "entry_fee",
    "exit_fee", "BillingEvent", "PnlSnapshot", "PaperPosition", "Position", "ImpactFactorHistory",
}  # fmt: skip


def _names(module) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              for alias in node.names}  # fmt: skip
    return names


def test_the_seed_has_no_sizing_fee_slippage_or_pnl_code():
    assert _names(seed) & FORBIDDEN_NAMES == set()


def test_the_seed_trades_only_through_the_replay():
    imported = {
        node.module
        for node in ast.walk(ast.parse(inspect.getsource(seed)))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("backend.trading")
    }
    assert imported == {"backend.trading.replay"}


def test_no_demo_agent_flips_the_calls_it_follows():
    """The live generator trades a call's own side; a demo agent that flipped it would show a fake record."""
    assert not any(hasattr(agent, "extra") for agent in catalog.AGENTS)
    assert "contrarian" not in inspect.getsource(seed)
