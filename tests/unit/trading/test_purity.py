"""The trading core stays pure: it imports the standard library and itself, nothing of the database, the
venues' SDKs, settings or the clock, so live trading, the demo and replays can all call it the same way."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[3] / "backend" / "trading"
FORBIDDEN_CALLS = ("datetime.now", "utcnow", "time.time", "time.monotonic", "get_settings")


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_core_imports_only_the_standard_library_and_itself():
    outside = {}
    for path in sorted(CORE.rglob("*.py")):
        for name in _imports(ast.parse(path.read_text())):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top == "__future__" or name.startswith("backend.trading"):
                continue
            outside.setdefault(path.name, []).append(name)
    assert outside == {}, f"backend/trading must stay pure, but imports {outside}"


def test_the_core_never_reads_the_clock_or_settings():
    found = [
        f"{path.name}: {call}"
        for path in sorted(CORE.rglob("*.py"))
        for call in FORBIDDEN_CALLS
        if call in path.read_text()
    ]
    assert found == [], "callers pass `now` and settings in: " + ", ".join(found)
