"""The environment Reflex needs on an offline machine: bun from tools/ (never downloaded), no telemetry."""

from __future__ import annotations

import os
from collections.abc import Mapping

from backend.config import PROJECT_ROOT

BUN_BIN_DIR = PROJECT_ROOT / "tools" / "node_modules" / ".bin"


def reflex_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) plus what Reflex needs; explicit values win."""
    env = dict(os.environ if base is None else base)
    if (BUN_BIN_DIR / "bun").exists() and str(BUN_BIN_DIR) not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = f"{BUN_BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("REFLEX_DIR", str(PROJECT_ROOT / ".reflex"))
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    env.setdefault("REFLEX_CHECK_LATEST_VERSION", "false")
    env.setdefault("BUN_INSTALL_CACHE_DIR", str(PROJECT_ROOT / "tools" / "bun-cache"))
    return env
