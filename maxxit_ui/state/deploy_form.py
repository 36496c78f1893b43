"""The deploy wizard's form as plain data: venue choices, steps, text in, a DeploymentRequest out.

The wizard shows risk settings as percentages ("10" = 10 %) and sends fractions (Decimal("0.10")). A risk
value left as the agent has it is sent as None ("the agent's"), so the deployment follows later edits of
the agent; only real overrides are stored. Errors come back keyed by wizard field, with the step that shows
the field, so the wizard can go back there. Nothing here touches Reflex or the database.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from pydantic import ValidationError

from backend.agents.schemas import RiskSettings as AgentRisk
from backend.config import get_settings
from backend.deployments.schemas import ADDRESS_PATTERN, DeploymentRequest, RiskSettings, checksum_address
from backend.models.enums import ExecutionVenue, SizingProfile, Venue
from backend.venues.capabilities import SignerKind, keeps_own_books, signers
from maxxit_ui.components import format as fmt
from maxxit_ui.components.format import venue_label
from maxxit_ui.state.agent_form import FieldError, fraction_to_percent, percent_to_fraction

PAPER, HYPERLIQUID = ExecutionVenue.PAPER.value, ExecutionVenue.HYPERLIQUID.value
SPOT = ExecutionVenue.SPOT.value

STEP_LABELS: dict[str, str] = {
    "venue": "Venue",
    "account": "Account",
    "approval": "Approval",
    "safe": "Safe",
    "risk": "Risk",
    "review": "Review",
}
PERCENT_FIELDS = ("stoploss", "take_profit", "trailing_stop_positive_offset", "trailing_stop_positive")
RISK_FIELDS = ("sizing_profile", "max_trade_usd", "leverage_cap", *PERCENT_FIELDS)
FIELDS: tuple[str, ...] = (
    "route",
    "starting_balance",
    "user_wallet",
    "approval",
    "safe_address",
    *RISK_FIELDS,
    "form",
)
FIELD_STEPS: dict[str, str] = {
    "route": "venue",
    "starting_balance": "account",
    "user_wallet": "account",
    "approval": "approval",
    "safe_address": "safe",
    **dict.fromkeys(RISK_FIELDS, "risk"),
    "form": "review",
}
# Backend field names (DeploymentRequest, InputRejected.field) -> wizard fields.
BACKEND_FIELDS: dict[str, str] = {
    "venue": "route",
    "venue_preferences": "route",
    "starting_balance_usd": "starting_balance",
    "user_wallet": "user_wallet",
    "agent_wallet_id": "approval",
    "signature": "approval",
    "safe_address": "safe_address",
    **{name: name for name in RISK_FIELDS},
}
SIZING_LABELS: dict[str, str] = {
    SizingProfile.CONSERVATIVE: "Conservative",
    SizingProfile.MODERATE: "Moderate",
    SizingProfile.AGGRESSIVE: "Aggressive",
}
MIN_BALANCE, MAX_BALANCE = Decimal(100), Decimal(100_000_000)
ADDRESS = re.compile(ADDRESS_PATTERN)
TIMES = "\N{MULTIPLICATION SIGN}"  # after a leverage figure


class RouteOption(TypedDict):
    key: str  # the execution venue: one per deployment, live or paper, never a mix
    slug: str  # for element ids: "hyperliquid"
    label: str
    description: str


class StepItem(TypedDict):
    key: str
    label: str
    number: str
    state: str  # "done", "current" or "upcoming"


def route_venues(route: str) -> list[str]:
    return [v for v in route.split(",") if v]


def route_label(route: str) -> str:
    return f"{venue_label(route)} only"


def _option(key: str, label: str, description: str) -> RouteOption:
    return RouteOption(key=key, slug=key.lower(), label=label, description=description)


SPOT_DESCRIPTION = (
    "Your own Safe on Arbitrum: you enable the Maxxit module, which may only swap between USDC and "
    "listed tokens into the Safe. Longs only."
)


def route_options(
    agent_venue: str, allowed: Iterable[ExecutionVenue], *, spot_configured: bool = False
) -> list[RouteOption]:
    """What the venue step offers: paper always; Hyperliquid and spot where the agent may trade there (spot
    only when the platform has a spot chain).

    A deployment is live or paper, never both: paper is no fallback for a live deployment, so a MULTI
    agent's live route skips the markets its venues lack rather than trading them on paper.
    """
    allowed = set(allowed)
    options = [_option(PAPER, "Paper", "A virtual balance at live prices: try the agent without risk.")]
    skipped = " Signals for markets it does not list are skipped, never traded on paper."
    if ExecutionVenue.HYPERLIQUID in allowed:
        description = "Your own Hyperliquid account, through an agent wallet you approve."
        if get_settings().hyperliquid_sandbox_url:
            description = (
                "A sandbox account on a local Hyperliquid-compatible server: faucet USDC, no real funds."
            )
        if agent_venue == Venue.MULTI:
            description += skipped
        options.append(_option(HYPERLIQUID, venue_label(HYPERLIQUID), description))
    if ExecutionVenue.SPOT in allowed and spot_configured:
        description = SPOT_DESCRIPTION + (skipped if agent_venue == Venue.MULTI else "")
        options.append(_option(SPOT, "Spot (your Safe)", description))
    return options


# Steps only some routes have: the account step asks paper's balance or the Hyperliquid account.
ROUTE_STEPS = {"account": {PAPER, HYPERLIQUID}, "approval": {HYPERLIQUID}, "safe": {SPOT}}


def wizard_steps(route: str) -> list[str]:
    """Approval is a step only for Hyperliquid, the Safe only for spot (which has no account step)."""
    return [s for s in STEP_LABELS if s not in ROUTE_STEPS or route in ROUTE_STEPS[s]]


def step_items(route: str, current: str) -> list[StepItem]:
    steps = wizard_steps(route)
    at = steps.index(current) if current in steps else 0
    return [
        StepItem(
            key=key,
            label=STEP_LABELS[key],
            number=str(i + 1),
            state="done" if i < at else "current" if i == at else "upcoming",
        )
        for i, key in enumerate(steps)
    ]


def empty_errors() -> dict[str, str]:
    return dict.fromkeys(FIELDS, "")


# -- account -----------------------------------------------------------------------------------------


def parse_balance(text: str) -> Decimal:
    """The paper starting balance in USD: "10,000" or "2500.50"; 100 to 100 million, cents at most."""
    value = text.strip().removeprefix("$").replace(",", "").replace("_", "").strip()
    if not value:
        raise FieldError("starting_balance", "Enter a starting balance.")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise FieldError("starting_balance", "Starting balance must be a number of dollars.") from None
    if not amount.is_finite():
        raise FieldError("starting_balance", "Starting balance must be a number of dollars.")
    if amount < MIN_BALANCE or amount > MAX_BALANCE:
        raise FieldError("starting_balance", "Starting balance must be between $100 and $100,000,000.")
    if amount != amount.quantize(Decimal("0.01")):
        raise FieldError("starting_balance", "Starting balance takes whole cents at most.")
    return amount.quantize(Decimal("0.01"))


def money_text(amount: Decimal) -> str:
    """Decimal("10000.00") -> "10000" for the input; cents kept when there are some."""
    return format(amount.normalize(), "f") if amount == amount.to_integral() else format(amount, "f")


def check_address(text: str) -> str:
    """The Hyperliquid account address as typed (trimmed), or FieldError."""
    value = text.strip()
    if not value:
        raise FieldError("user_wallet", "Enter your Hyperliquid account address.")
    if not ADDRESS.match(value):
        raise FieldError("user_wallet", "An address is 0x followed by 40 hex digits.")
    return value


def check_safe_address(text: str) -> str:
    """The Safe's address, checksummed, or FieldError (its capitals, when it has some, must be its checksum);
    whether it is a Safe the user owns is for the chain to say, at deploy."""
    value = text.strip()
    if not value:
        raise FieldError("safe_address", "Enter your Safe's address.")
    try:
        return checksum_address(value)
    except ValueError as e:
        text = str(e)
        raise FieldError("safe_address", text[:1].upper() + text[1:] + ".") from None


def chain_id(value: Any) -> int:
    """eth_chainId's answer ("0xa4b1", or a number from some wallets) as an int; ValueError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    text = str(value).strip().lower()
    number = int(text, 16) if text.startswith("0x") else int(text)
    if number <= 0:
        raise ValueError(f"chain id {value!r} is not positive")
    return number


# -- risk --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RiskForm:
    """What the risk inputs hold, as typed."""

    sizing_profile: str
    max_trade_usd: str
    leverage_cap: str
    stoploss: str
    take_profit: str
    trailing_stop_positive_offset: str
    trailing_stop_positive: str


def risk_form(agent: AgentRisk) -> RiskForm:
    """The agent's own settings, prefilled (its leverage included); no trade cap unless the user sets one."""
    return RiskForm(
        sizing_profile=agent.sizing_profile,
        max_trade_usd="",
        leverage_cap=format(agent.leverage.normalize(), "f"),
        stoploss=fraction_to_percent(agent.stoploss),
        take_profit=fraction_to_percent(agent.take_profit),
        trailing_stop_positive_offset=fraction_to_percent(agent.trailing_stop_positive_offset),
        trailing_stop_positive=fraction_to_percent(agent.trailing_stop_positive),
    )


def _plain_number(field: str, label: str, text: str, unit: str) -> Decimal | None:
    value = text.strip().removeprefix("$").removesuffix("x").removesuffix(TIMES).replace(",", "").strip()
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise FieldError(field, f"{label} must be a number{unit}.") from None
    if not number.is_finite():
        raise FieldError(field, f"{label} must be a number{unit}.")
    return number


def _bound_message(field: str, kind: str, ctx: Mapping[str, Any]) -> str | None:
    labels = {
        "max_trade_usd": "Max trade size",
        "leverage_cap": "Leverage cap",
        "stoploss": "Stop loss",
        "take_profit": "Take profit",
        "trailing_stop_positive_offset": "Trailing activation",
        "trailing_stop_positive": "Trailing distance",
    }
    words = {
        "greater_than": ("gt", "must be above"),
        "greater_than_equal": ("ge", "must be at least"),
        "less_than": ("lt", "must be below"),
        "less_than_equal": ("le", "must be at most"),
    }
    if field not in labels or kind not in words or words[kind][0] not in ctx:
        return None
    bound = Decimal(str(ctx[words[kind][0]]))
    if field == "max_trade_usd":
        shown = f"${bound:,.0f}"
    elif field == "leverage_cap":
        shown = f"{format(bound.normalize(), 'f')}{TIMES}"
    else:
        shown = f"{fraction_to_percent(bound)} %"
    return f"{labels[field]} {words[kind][1]} {shown}."


def risk_errors(error: ValidationError, prefix: tuple[str, ...] = ()) -> dict[str, str]:
    """Per-field messages from a RiskSettings (or DeploymentRequest) error; the first of each field wins."""
    messages: dict[str, str] = {}
    for item in error.errors():
        loc = tuple(str(part) for part in item.get("loc", ()))
        if prefix and loc[: len(prefix)] == prefix:
            loc = loc[len(prefix) :]
        field = wizard_field(loc)
        kind, ctx = item.get("type", ""), item.get("ctx") or {}
        message = _bound_message(field, kind, ctx)
        if message is None and kind == "decimal_max_places":
            message = "Too many decimal places."
        if message is None and field == "sizing_profile":
            message = "Choose a sizing profile."
        if message is None:
            text = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
            message = text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
        messages.setdefault(field, message)
    return messages


def wizard_field(loc: tuple[str, ...]) -> str:
    """The wizard field a backend error location names: ("risk", "stoploss") -> "stoploss"."""
    if not loc:
        return "form"
    head = loc[1] if loc[0] == "risk" and len(loc) > 1 else loc[0]
    return BACKEND_FIELDS.get(head, "form")


def to_risk(form: RiskForm, agent: AgentRisk) -> tuple[RiskSettings | None, dict[str, str]]:
    """The deployment's overrides, or the errors per field; values equal to the agent's become None."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for field in PERCENT_FIELDS:
        try:
            values[field] = percent_to_fraction(field, getattr(form, field))
        except FieldError as e:
            errors[field] = str(e)
    try:
        values["max_trade_usd"] = _plain_number(
            "max_trade_usd", "Max trade size", form.max_trade_usd, " of USD"
        )
    except FieldError as e:
        errors[e.field] = str(e)
    try:
        values["leverage_cap"] = _plain_number("leverage_cap", "Leverage cap", form.leverage_cap, ", like 3")
    except FieldError as e:
        errors[e.field] = str(e)
    values["sizing_profile"] = form.sizing_profile or None
    if errors:
        return None, errors
    for field in ("sizing_profile", *PERCENT_FIELDS):
        if values[field] == getattr(agent, field):
            values[field] = None  # the agent's: the deployment trades the version it accepted
    if values["leverage_cap"] == agent.leverage:
        values["leverage_cap"] = None  # likewise: the version's leverage
    try:
        return RiskSettings.model_validate(values), {}
    except ValidationError as e:
        return None, risk_errors(e)


def effective_risk(risk: RiskSettings, agent: AgentRisk) -> dict[str, Any]:
    """What the deployment will trade with: its overrides, else the agent's settings."""
    return {
        "sizing_profile": risk.sizing_profile or agent.sizing_profile,
        "max_trade_usd": risk.max_trade_usd,
        "leverage_cap": risk.leverage_cap or agent.leverage,
        **{
            f: getattr(risk, f) if getattr(risk, f) is not None else getattr(agent, f) for f in PERCENT_FIELDS
        },
    }


def risk_review(shown: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(id, label, value) lines of the review step for `effective_risk`'s settings."""
    take_profit, max_trade = shown["take_profit"], shown["max_trade_usd"]
    return [
        ("sizing", "Sizing profile", SIZING_LABELS.get(shown["sizing_profile"], "—")),
        (
            "max-trade",
            "Max trade size",
            "no cap beyond the sizing profile" if max_trade is None else fmt.money(max_trade, signed=False),
        ),
        ("leverage", "Leverage", f"{fmt.quantity(shown['leverage_cap'] or Decimal(1))}{TIMES}"),
        ("stop-loss", "Stop loss", fmt.percent(shown["stoploss"], fraction=True)),
        (
            "take-profit",
            "Take profit",
            "off" if take_profit is None else fmt.percent(take_profit, fraction=True),
        ),
        (
            "trailing",
            "Trailing stop arms at",
            fmt.percent(shown["trailing_stop_positive_offset"], fraction=True),
        ),
        (
            "trailing-distance",
            "Trailing distance",
            fmt.percent(shown["trailing_stop_positive"], fraction=True),
        ),
    ]


# -- the request -------------------------------------------------------------------------------------


def deployment_request(
    *,
    agent_id: int,
    agent_venue: str,
    route: str,
    starting_balance: Decimal | None,
    user_wallet: str | None,
    agent_wallet_id: int | None,
    risk: RiskSettings,
    safe_address: str | None = None,
) -> DeploymentRequest:
    """The service's request: one venue; a MULTI agent names it as its only preference too."""
    venue, keys = ExecutionVenue(route), signers([route])
    uses_hyperliquid = SignerKind.AGENT_WALLET in keys
    return DeploymentRequest(
        agent_id=agent_id,
        venue=venue,
        venue_preferences=[venue] if agent_venue == Venue.MULTI else None,
        starting_balance_usd=starting_balance if keeps_own_books([route]) else None,
        user_wallet=user_wallet if uses_hyperliquid else None,
        agent_wallet_id=agent_wallet_id if uses_hyperliquid else None,
        safe_address=safe_address if SignerKind.SAFE_EXECUTOR in keys else None,
        risk=risk,
    )
