"""Calls into assets/wallet.js (`window.maxxitWallet`) that wait for the script to load.

`/wallet.js` is a separate script: on a slow connection a button can be clicked before it has run, and a
bare `window.maxxitWallet.accounts()` then throws and leaves the button spinning. Every call goes through
`wallet_call`, which waits for the bridge's "maxxit-wallet-ready" event (or gives up with a readable
failure after BRIDGE_TIMEOUT_MS, as a blocked script would otherwise hang the button forever).
"""

from __future__ import annotations

import json
from typing import Any

BRIDGE_TIMEOUT_MS = 30_000
BRIDGE_MISSING = "The wallet bridge did not load; reload the page"

_WAIT_FOR_BRIDGE = (
    "(window.maxxitWallet ? Promise.resolve(window.maxxitWallet) : new Promise((resolve) => {"
    f"  const timer = setTimeout(() => resolve(null), {BRIDGE_TIMEOUT_MS});"
    '  window.addEventListener("maxxit-wallet-ready", () => { clearTimeout(timer);'
    " resolve(window.maxxitWallet); }, { once: true });"
    "}))"
)


def wallet_call(method: str, *args: Any) -> str:
    """JavaScript resolving to `window.maxxitWallet.<method>(*args)` once the bridge exists."""
    arguments = ", ".join(json.dumps(arg) for arg in args)
    failure = json.dumps({"ok": False, "code": "failed", "error": BRIDGE_MISSING})
    return f"{_WAIT_FOR_BRIDGE}.then((wallet) => wallet ? wallet.{method}({arguments}) : {failure})"
