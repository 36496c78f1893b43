"""Demo mode and live mode: what ENV=prod refuses to start with.

`Settings` already derives the live defaults in prod (no sample feed, no demo seed, Hyperliquid prices);
what is left for here is a setting the operator turned back on explicitly, which would trade real money
on made-up posts or prices. `maxxit up` and `maxxit worker` both ask `live_mode_problems` before starting.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from backend.config import Settings


def live_mode_problems(settings: Settings, *, seed_demo: bool | None = None) -> list[str]:
    """Why these settings cannot run in prod, one sentence per setting; empty when they can.

    `seed_demo` is `maxxit up`'s `--seed/--no-seed` flag (None when not given).
    """
    if settings.env != "prod":
        return []
    problems = []
    if settings.sample_feed_enabled:
        problems.append(
            "SAMPLE_FEED_ENABLED=true replays the bundled made-up posts; ENV=prod refuses it (unset it)."
        )
    if settings.seed_demo_data:
        problems.append("SEED_DEMO_DATA=true loads the demo's made-up data; ENV=prod refuses it (unset it).")
    if seed_demo:
        problems.append("--seed loads the demo's made-up data; ENV=prod refuses it.")
    if settings.price_feed == "simulated":
        problems.append(
            "PRICE_FEED=simulated trades on made-up prices; ENV=prod refuses it (unset it: hyperliquid)."
        )
    if settings.hyperliquid_sandbox or settings.hyperliquid_sandbox_url:
        problems.append(
            "HYPERLIQUID_SANDBOX=true trades a local server with made-up funds; "
            "ENV=prod refuses it (unset it).",
        )
    public = urlsplit(settings.public_url)
    if public.scheme != "https" or not public.netloc:
        problems.append(
            f"PUBLIC_URL must be the https:// URL users open when ENV=prod (got {settings.public_url!r})."
        )
    return problems
