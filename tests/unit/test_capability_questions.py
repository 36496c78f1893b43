"""Code outside `backend/venues` asks a venue's capabilities, never its name (issue 19).

Every comparison in `backend/`, `tasks/` and `maxxit_ui/` (`==`, `!=`, `in`, `is`, a `match` case) with a
venue's name on one side (`ExecutionVenue.PAPER`, `Venue.SPOT`, `"HYPERLIQUID"`, a constant named after one,
a set of them) is an offender, unless listed below with the reason the name is data there. MULTI is a
routing mode, not a venue, and is not a name here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from backend.models.enums import ExecutionVenue

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("backend", "tasks", "maxxit_ui")
NOT_SCANNED = (
    "backend/venues/",
    "backend/migrations/",
)  # adapters may know themselves; migrations are history
NAMES = frozenset(ExecutionVenue.__members__)  # PAPER, SPOT, GMX, HYPERLIQUID, OSTIUM

# Comparisons where the name is data, not a question about what a venue can do: (file, the comparison as
# `ast.unparse` writes it) -> why.
ALLOWED: dict[tuple[str, str], str] = {
    ("backend/backtest/sources.py", "VenueStatus.venue == ExecutionVenue.HYPERLIQUID"): (
        "the backtest's market rules are the Hyperliquid feed's, whose candles it replays"
    ),
    ("maxxit_ui/state/deploy_form.py", "ExecutionVenue.HYPERLIQUID in allowed"): (
        "the venue step's option for Hyperliquid: its own words (the sandbox, the agent wallet)"
    ),
    ("maxxit_ui/state/deploy_form.py", "ExecutionVenue.SPOT in allowed"): (
        "the venue step's option for spot: its own words (your Safe)"
    ),
}


def _names_a_venue(node: ast.AST) -> bool:
    """A venue's name: a string constant, a name or attribute spelled like one (`ExecutionVenue.PAPER`,
    `form.HYPERLIQUID`), its `.value`, or a collection or call holding one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value in NAMES
    if isinstance(node, ast.Name):
        return node.id in NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in NAMES or (node.attr == "value" and _names_a_venue(node.value))
    if isinstance(node, ast.Set | ast.List | ast.Tuple):
        return any(_names_a_venue(e) for e in node.elts)
    if isinstance(node, ast.Call):
        return any(_names_a_venue(a) for a in node.args)
    return False


def name_comparisons(source: str) -> Iterator[tuple[int, str]]:
    """(line, comparison) for every comparison or match case against a venue's name in `source`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(_names_a_venue(n) for n in (node.left, *node.comparators)):
            yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.MatchValue) and _names_a_venue(node.value):
            yield node.lineno, f"case {ast.unparse(node.value)}"


def _sources() -> Iterator[tuple[str, str]]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(NOT_SCANNED):
                yield relative, path.read_text(encoding="utf-8")


def test_the_scanner_sees_every_spelling_of_a_venue_name():
    source = """
if deployment.venue == ExecutionVenue.PAPER: pass
if ExecutionVenue(v) != ExecutionVenue.HYPERLIQUID: pass
if venue in {ExecutionVenue.PAPER, ExecutionVenue.SPOT}: pass
if agent.venue is Venue.SPOT: pass
if route == form.HYPERLIQUID: pass
if str(venue) == "GMX": pass
if venue.value == ExecutionVenue.OSTIUM.value: pass
match venue:
    case ExecutionVenue.PAPER: pass
if agent.venue == Venue.MULTI: pass
if declared.real_funds and venue in BOOKS_PER_DEPLOYMENT: pass
"""
    assert [line for line, _ in name_comparisons(source)] == [2, 3, 4, 5, 6, 7, 8, 10]


def test_code_outside_venues_asks_capabilities_not_venue_names():
    offenders, used = [], set()
    for path, source in _sources():
        for line, comparison in name_comparisons(source):
            if (path, comparison) in ALLOWED:
                used.add((path, comparison))
                continue
            offenders.append(f"{path}:{line}: {comparison}")
    assert offenders == [], "ask backend.venues.capabilities instead:\n" + "\n".join(offenders)
    assert set(ALLOWED) == used, f"stale allow-list entries: {set(ALLOWED) - used}"
