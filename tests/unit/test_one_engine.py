"""One trading engine: no fee, slippage, profit-share, realised-PnL or money-rounding arithmetic outside
`backend/trading`. This test reads the code, so a second copy of a money rule cannot come back unnoticed.

Each pattern below is one way such a copy looked before issue 13. The allowlist names what matches a pattern
without being money (rounding a price or a size to a venue's step, a score to its places), with the reason;
an entry that no longer matches anything fails too, so the list only ever shrinks.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[2] / "backend"
# The core itself; migrations carry frozen copies of old schemas; the sandbox is a stand-in for the venue,
# whose own arithmetic must stay independent of ours for tests against it to mean anything.
EXCLUDED = ("trading", "migrations", "sandbox")


@dataclass(frozen=True)
class Hit:
    path: str  # relative to backend/
    line: int
    rule: str
    text: str


LINE_RULES = {
    "quantize": re.compile(r"\.quantize\("),  # money is rounded by trading.money.money() / cents() only
    "fee or slippage constant": re.compile(r"\b(TAKER_FEE|SLIPPAGE|FEE_RATE|FEE_QUANTUM|MONEY_QUANTUM)\b"),
    "share multiplied": re.compile(r"\*\s*[\w.]*share\b|\b[\w.]*share\s*\*", re.IGNORECASE),
}

# (path under backend/, rule, a piece of the matching line) -> why it is not money arithmetic
ALLOWED: dict[tuple[str, str, str], str] = {
    ("monitor/reconcile.py", "quantize", "entry.quantize(PRICE_QUANTUM)"): (
        "an entry price (size-weighted by trading.book.weighted_entry) to the column's scale"
    ),
    ("venues/hyperliquid.py", "quantize", '(notional / size).quantize(Decimal("1e-10"))'): (
        "the average price of a venue's fills, to the price column's scale"
    ),
    ("venues/spot.py", "quantize", "tokens.quantize(BOOK_QUANTUM, rounding=ROUND_DOWN)"): (
        "the tokens a swap moved, down to the size column's scale"
    ),
    ("venues/spot.py", "quantize", "(cash / tokens).quantize(BOOK_QUANTUM)"): (
        "a swap's average price (USDC per token), to the price column's scale"
    ),
    ("venues/hyperliquid_rules.py", "quantize", "price.quantize(price_tick("): "Hyperliquid's price tick",
    ("venues/hyperliquid_rules.py", "quantize", "size.quantize(Decimal(1).scaleb(-sz_decimals)"): (
        "Hyperliquid's size step"
    ),
    ("prices/simulated.py", "quantize", "price.quantize(spec.tick_size)"): "a simulated mid on the tick",
    ("prices/quotes.py", "quantize", "value.quantize(Decimal(1).scaleb(value.adjusted()"): (
        "a price quoted in a made-up post, to three significant figures"
    ),
    ("signals/history.py", "quantize", ".quantize(CONTRIBUTION_PLACES)"): "a weight's share of a score",
    ("signals/classifier/llm.py", "quantize", "confidence.quantize(_CONFIDENCE_STEP)"): "a confidence",
    ("signals/indicators.py", "quantize", ".quantize(PRICE_PLACES)"): "an indicator's price or volume",
    ("signals/indicators.py", "quantize", ".quantize(RATIO_PLACES)"): "an indicator's ratio",
    ("signals/features.py", "quantize", ".quantize(PLACES)"): "a feature value in [0, 1]",
    ("signals/pipeline.py", "quantize", "value.quantize(SCORE_PLACES)"): "a signal score",
}
PENDING: dict[str, str] = {}  # files still being moved onto the core, with why; empty since issue 13


def _sources() -> list[tuple[str, str]]:
    files = []
    for path in sorted(BACKEND.rglob("*.py")):
        relative = path.relative_to(BACKEND).as_posix()
        if relative.split("/")[0] not in EXCLUDED:
            files.append((relative, path.read_text()))
    return files


def _line_hits(relative: str, source: str) -> list[Hit]:
    hits = []
    for number, text in enumerate(source.splitlines(), 1):
        code = text.split("#", 1)[0]
        for rule, pattern in LINE_RULES.items():
            if pattern.search(code):
                hits.append(Hit(relative, number, rule, text.strip()))
    return hits


def _pnl_hits(relative: str, source: str) -> list[Hit]:
    """A realised PnL assigned from a product (a price move times a size) rather than the core's function."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [ast.unparse(t).rsplit(".", 1)[-1] for t in targets]
        if not any(n.startswith("realized") or n.endswith("pnl") for n in names):
            continue
        if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) for n in ast.walk(node.value)):
            hits.append(Hit(relative, node.lineno, "realised PnL computed", ast.unparse(node)[:120]))
    return hits


def _allowed(hit: Hit) -> tuple[str, str, str] | None:
    for key in ALLOWED:
        path, rule, piece = key
        if hit.path == path and hit.rule == rule and piece in hit.text:
            return key
    return None


def test_no_money_arithmetic_outside_the_trading_core() -> None:
    found = []
    for relative, source in _sources():
        if relative not in PENDING:
            found += [h for h in _line_hits(relative, source) if _allowed(h) is None]
            found += _pnl_hits(relative, source)
    assert not found, "money arithmetic outside backend/trading; call the core instead:\n" + "\n".join(
        f"  backend/{h.path}:{h.line} [{h.rule}] {h.text}" for h in found
    )


def test_every_allowlist_entry_still_matches_something() -> None:
    used = set()
    for relative, source in _sources():
        used |= {_allowed(h) for h in _line_hits(relative, source)}
    stale: list[object] = [key for key in ALLOWED if key not in used]
    for relative in PENDING:
        path = BACKEND / relative
        source = path.read_text() if path.exists() else ""
        if not _line_hits(relative, source) and not _pnl_hits(relative, source):
            stale.append(relative)
    assert not stale, f"allowlist entries matching nothing, delete them: {stale}"


def test_the_guard_catches_the_copies_it_was_written_for() -> None:
    """Each old copy of a rule is caught: a guard that cannot fail guards nothing."""
    old_close = "position.realized_pnl = (sign * (exit_price - entry) * size - entry_fee).quantize(Q)\n"
    old_paper = "fee = (notional * self._fee_rate).quantize(FEE_QUANTUM)\n"
    old_share = "amount = (position.realized_pnl * share).quantize(FEE_QUANTUM)\n"
    old_seed = "entry_fee = size * price * TAKER_FEE\n"
    rules = {h.rule for src in (old_close, old_paper, old_share, old_seed) for h in _line_hits("x.py", src)}
    assert rules == set(LINE_RULES)
    assert _pnl_hits("x.py", old_close)
    assert not _pnl_hits(
        "x.py", "row.realized_pnl = realized_pnl(side, entry, exit, size, fee_in, fee_out)\n"
    )
