"""One event as a message every channel shows the same way: a title, labelled figures, a link.

Telegram formats it as a short HTML message, email as a plain-text and an HTML part, the inbox as a row,
a webhook sends the payload itself. Figures are formatted here once: money with two decimals and a sign
for PnL, sizes with the market as unit, prices as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.notify.events import EventType

CLOSE_REASONS = {
    "STOP_LOSS": "stop loss",
    "TAKE_PROFIT": "take profit",
    "TRAILING_STOP": "trailing stop",
    "TIME_LIMIT": "time limit",
    "MANUAL": "closed by you",
    "EXTERNAL": "closed outside Maxxit",
    "LIQUIDATION": "liquidated",
}


@dataclass(frozen=True)
class Message:
    title: str
    lines: tuple[tuple[str, str], ...]  # (label, value), in display order
    path: str  # where on the site to look, e.g. "/dashboard" (channels prefix PUBLIC_URL)


def usd(value: Any, *, signed: bool = False) -> str:
    """`$1,234.50`, or `+$12.00` / `-$3.10` when signed; a value that is not a number is shown as given."""
    number = _decimal(value)
    if number is None:
        return str(value)
    text = f"${abs(number):,.2f}"
    if not signed:
        return text if number >= 0 else f"-{text}"
    return f"+{text}" if number >= 0 else f"-{text}"


def plain(value: Any) -> str:
    """A price or size as stored, without trailing zeros (`1442.5`, not `1442.5000000000`)."""
    number = _decimal(value)
    if number is None:
        return str(value)
    text = format(number.normalize(), "f")
    return text


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def render(event_type: str, payload: dict[str, Any]) -> Message:
    """The message for one event; an unknown type still renders (its name and raw fields)."""
    builder = _BUILDERS.get(event_type)
    if builder is None:
        lines = tuple((k, str(v)) for k, v in payload.items())
        return Message(event_type, lines, "/notifications")
    return builder(payload)


def _position_lines(p: dict[str, Any]) -> list[tuple[str, str]]:
    market = p.get("market", "?")
    lines = [("Market", f"{market} {str(p.get('side', '')).lower()}".strip())]
    if p.get("size") is not None:
        lines.append(("Size", f"{plain(p['size'])} {market}"))
    if p.get("entry_price") is not None:
        lines.append(("Entry", plain(p["entry_price"])))
    return lines


def _opened(p: dict[str, Any]) -> Message:
    lines = _position_lines(p)
    if p.get("leverage") is not None:
        lines.append(("Leverage", f"{plain(p['leverage'])}x"))
    lines.append(("Agent", str(p.get("agent_name", ""))))
    return Message(f"Opened {p.get('market')} {str(p.get('side', '')).lower()}", tuple(lines), "/dashboard")


def _closed(p: dict[str, Any]) -> Message:
    lines = _position_lines(p)
    lines.append(("Exit", plain(p.get("exit_price"))))
    lines.append(("PnL", usd(p.get("realized_pnl"), signed=True)))
    if p.get("fees") is not None:
        lines.append(("Fees", usd(p["fees"])))
    reason = CLOSE_REASONS.get(str(p.get("reason")), str(p.get("reason", "")).lower())
    lines.append(("Reason", reason))
    lines.append(("Agent", str(p.get("agent_name", ""))))
    pnl = usd(p.get("realized_pnl"), signed=True)
    return Message(
        f"Closed {p.get('market')} {str(p.get('side', '')).lower()}: {pnl}", tuple(lines), "/dashboard"
    )


def _stop_moved(p: dict[str, Any]) -> Message:
    milestone = "Stop at break-even" if p.get("milestone") == "break_even" else "Trailing stop armed"
    lines = _position_lines(p)
    lines.append(("Stop", plain(p.get("stop_price"))))
    return Message(f"{milestone}: {p.get('market')}", tuple(lines), "/dashboard")


def _attention(p: dict[str, Any]) -> Message:
    lines = _position_lines(p)
    lines += [("Venue said", str(p.get("reason", ""))), ("Attempts", str(p.get("attempts", "")))]
    if p.get("next_attempt_at"):
        lines.append(("Next try", str(p["next_attempt_at"])))
    return Message(f"Close needs attention: {p.get('market')}", tuple(lines), "/dashboard")


def _deployment(verb: str):
    def build(p: dict[str, Any]) -> Message:
        lines = [("Agent", str(p.get("agent_name", ""))), ("Deployment", f"#{p.get('deployment_id')}")]
        if p.get("reason"):
            lines.append(("Why", str(p["reason"])))
        return Message(f"Deployment {verb}: {p.get('agent_name', '')}", tuple(lines), "/deployments")

    return build


def _skipped(p: dict[str, Any]) -> Message:
    lines = [
        ("Agent", str(p.get("agent_name", ""))),
        ("Signal", f"{p.get('market', '')} {str(p.get('side', '')).lower()}".strip()),
        ("Why", str(p.get("reason") or p.get("category", ""))),
    ]
    return Message(f"Signal not traded: {p.get('category', '')}", tuple(lines), "/deployments")


def _version(p: dict[str, Any]) -> Message:
    lines = [("Agent", str(p.get("agent_name", ""))), ("Version", str(p.get("version", "")))]
    return Message(f"New version of {p.get('agent_name', '')}", tuple(lines), "/deployments")


def _invoice(verb: str):
    def build(p: dict[str, Any]) -> Message:
        lines = [("Invoice", str(p.get("number") or "")), ("Amount", usd(p.get("total_usd")))]
        if p.get("due_at"):
            lines.append(("Due", str(p["due_at"])[:10]))
        return Message(f"Invoice {verb}: {usd(p.get('total_usd'))}", tuple(lines), "/billing")

    return build


def _sign_in(p: dict[str, Any]) -> Message:
    lines = [("From", str(p.get("ip") or "unknown")), ("At", str(p.get("at", "")))]
    return Message("Sign-in from a new network address", tuple(lines), "/notifications")


def _webhook_disabled(p: dict[str, Any]) -> Message:
    lines = [("Endpoint", str(p.get("url", ""))), ("Failures", str(p.get("failures", "")))]
    if p.get("reason"):
        lines.append(("Why", str(p["reason"])))
    return Message("Webhook endpoint turned off", tuple(lines), "/settings/notifications")


def _webhook_test(p: dict[str, Any]) -> Message:
    return Message("Test event", (("Endpoint", f"#{p.get('endpoint_id')}"),), "/settings/notifications")


_BUILDERS = {
    EventType.POSITION_OPENED.value: _opened,
    EventType.POSITION_CLOSED.value: _closed,
    EventType.STOP_MOVED.value: _stop_moved,
    EventType.NEEDS_ATTENTION.value: _attention,
    EventType.DEPLOYMENT_PAUSED.value: _deployment("paused"),
    EventType.DEPLOYMENT_RESUMED.value: _deployment("resumed"),
    EventType.DEPLOYMENT_CANCELLED.value: _deployment("cancelled"),
    EventType.DEPLOYMENT_SUSPENDED.value: _deployment("suspended"),
    EventType.EXECUTION_SKIPPED.value: _skipped,
    EventType.VERSION_AVAILABLE.value: _version,
    EventType.INVOICE_ISSUED.value: _invoice("issued"),
    EventType.INVOICE_DUE.value: _invoice("due soon"),
    EventType.INVOICE_OVERDUE.value: _invoice("overdue"),
    EventType.NEW_SIGN_IN.value: _sign_in,
    EventType.WEBHOOK_DISABLED.value: _webhook_disabled,
    EventType.WEBHOOK_TEST.value: _webhook_test,
}
