"""The agent builder's form as plain data: percent text in, the draft payload out, errors per form field.

The form shows risk settings as percentages ("10" = 10 %); the backend takes fractions (Decimal("0.10")).
Errors come back keyed by form field (`name`, `weights`, `stoploss`, ...) so the form can show each
one beside its input. Nothing here touches Reflex or the database, so it is tested on its own.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from backend.models.agents import WEIGHT_NAMES

PERCENT_FIELDS: dict[str, str] = {
    "stoploss": "Stop loss",
    "take_profit": "Take profit",
    "trailing_stop_positive_offset": "Trailing activation",
    "trailing_stop_positive": "Trailing distance",
    "signal_threshold": "Signal threshold",
}
FIELDS: tuple[str, ...] = (
    "name",
    "description",
    "venue",
    "visibility",
    "weights",
    "ct_account_ids",
    *PERCENT_FIELDS,
    "sizing_profile",
    "leverage",
    "form",
)
OPTIONAL_PERCENT = frozenset({"take_profit"})  # blank means "no take-profit"
PERCENT_PLACES = 4  # the database keeps six decimals of the fraction
HUNDRED = Decimal(100)


class FieldError(ValueError):
    """A value the form cannot even turn into a draft; `field` is the form field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def empty_errors() -> dict[str, str]:
    """One entry per field, all blank: the page indexes it without checking for missing keys."""
    return dict.fromkeys(FIELDS, "")


def percent_to_fraction(field: str, text: str) -> Decimal | None:
    """ "12.5" (or "12.5%") -> Decimal("0.125"); blank -> None where the field may be empty."""
    value = text.strip().removesuffix("%").strip().replace(",", ".")
    label = PERCENT_FIELDS[field]
    if not value:
        if field in OPTIONAL_PERCENT:
            return None
        raise FieldError(field, f"{label} is required.")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise FieldError(field, f"{label} must be a number of percent, like 10 or 2.5.") from None
    if not number.is_finite():
        raise FieldError(field, f"{label} must be a number of percent, like 10 or 2.5.")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > PERCENT_PLACES:
        raise FieldError(field, f"{label} takes at most {PERCENT_PLACES} decimal places.")
    return number / HUNDRED


def fraction_to_percent(value: Decimal | None) -> str:
    """Decimal("0.10") -> "10"; Decimal("0.025") -> "2.5"; None -> "" (an empty optional field)."""
    if value is None:
        return ""
    percent = (value * HUNDRED).normalize()
    return format(percent, "f")


@dataclasses.dataclass(frozen=True)
class FormValues:
    """What the inputs hold: text as typed, weights from the sliders, the ticked CT account ids."""

    name: str
    description: str
    venue: str
    visibility: str
    weights: dict[str, int]
    ct_account_ids: list[str]
    stoploss: str
    take_profit: str
    trailing_stop_positive_offset: str
    trailing_stop_positive: str
    sizing_profile: str
    signal_threshold: str
    leverage: str = "1"


def leverage_value(text: str) -> Decimal:
    """ "3" (or "3x") -> Decimal("3"): the multiple the agent's trades are sized at."""
    value = text.strip().lower().removesuffix("x").strip().replace(",", ".")
    if not value:
        raise FieldError("leverage", "Leverage is required: 1 for none.")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise FieldError("leverage", "Leverage must be a number, like 1 or 3.") from None
    if not number.is_finite():
        raise FieldError("leverage", "Leverage must be a number, like 1 or 3.")
    return number


def to_payload(values: FormValues) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON-shaped draft (see backend.agents.drafts) and the errors of fields that could not convert."""
    errors: dict[str, str] = {}
    risk: dict[str, Any] = {"sizing_profile": values.sizing_profile}
    for field in PERCENT_FIELDS:
        try:
            risk[field] = percent_to_fraction(field, getattr(values, field))
        except FieldError as e:
            errors[field] = str(e)
    try:
        risk["leverage"] = leverage_value(values.leverage)
    except FieldError as e:
        errors["leverage"] = str(e)
    try:
        account_ids = [int(i) for i in values.ct_account_ids]
    except ValueError:
        errors["ct_account_ids"] = "Pick CT accounts from the list."
        account_ids = []
    payload = {
        "name": values.name,
        "description": values.description,
        "venue": values.venue,
        "visibility": values.visibility,
        "weights": {name: int(values.weights.get(name, 0)) for name in WEIGHT_NAMES},
        "ct_account_ids": account_ids,
        "risk": risk,
    }
    return payload, errors


def form_field(loc: tuple[int | str, ...]) -> str:
    """The form field a draft error location belongs to: ("risk", "stoploss") -> "stoploss"."""
    if not loc:
        return "form"
    head = str(loc[0])
    if head == "risk" and len(loc) > 1:
        field = str(loc[1])
        return field if field in FIELDS else "form"
    return head if head in FIELDS else "form"


def _percent_bound(value: Any) -> str:
    return fraction_to_percent(Decimal(str(value)))


def _leverage_message(kind: str, ctx: dict[str, Any]) -> str:
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = ctx.get("ge", ctx.get("le"))
        words = "at least" if kind == "greater_than_equal" else "at most"
        return f"Leverage must be {words} {Decimal(str(bound)).normalize():f}x."
    if kind == "decimal_max_places":
        return "Leverage takes at most 2 decimal places."
    if kind == "leverage_above_venue_max":
        return f"Leverage must be at most {ctx.get('max')}x for a {ctx.get('venue')} agent."
    return ""


def _message(field: str, error: Any) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if field in PERCENT_FIELDS:
        label = PERCENT_FIELDS[field]
        bounds = {
            "greater_than": ("gt", "must be above"),
            "greater_than_equal": ("ge", "must be at least"),
            "less_than": ("lt", "must be below"),
            "less_than_equal": ("le", "must be at most"),
        }
        if kind in bounds and bounds[kind][0] in ctx:
            key, words = bounds[kind]
            return f"{label} {words} {_percent_bound(ctx[key])} %."
        if kind == "decimal_max_places":
            return f"{label} takes at most {PERCENT_PLACES} decimal places."
    if field == "leverage" and (message := _leverage_message(kind, ctx)):
        return message
    if field == "venue" and kind == "enum":
        return "Choose a venue."
    if field == "sizing_profile" and kind == "enum":
        return "Choose a sizing profile."
    if field == "visibility" and kind == "enum":
        return "Choose public or private."
    if field == "ct_account_ids" and kind == "ids_repeated":
        return "Pick each CT account once."
    if field == "ct_account_ids" and kind == "too_long":
        return f"Follow at most {ctx.get('max_length', 50)} CT accounts."
    if field == "name" and kind in ("string_too_short", "missing"):
        return "Name must not be empty."
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    loc = error.get("loc") or ()
    if field == "weights" and len(loc) > 1:
        message = f"{loc[1]}: {message}"
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def validation_errors(error: ValidationError) -> dict[str, str]:
    """Per-field messages for a draft's ValidationError; the first error of each field wins."""
    messages: dict[str, str] = {}
    for item in error.errors():
        field = form_field(tuple(item.get("loc", ())))
        if item.get("type") == "leverage_above_venue_max":  # checked on the whole risk block, shown here
            field = "leverage"
        messages.setdefault(field, _message(field, item))
    return messages
