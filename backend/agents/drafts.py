"""What the agent builder sends: a full draft to create an agent, or a patch that changes some of its fields.

The JSON shape is the same for both, nested so that error field names read like the form:

    {"name": "Momentum", "description": "...", "venue": "HYPERLIQUID", "visibility": "public",
     "weights": {"tweet": 60, "rsi": 20, "macd": 0, ...all eight...},
     "ct_account_ids": [3, 7],
     "risk": {"stoploss": "0.10", "take_profit": "0.20", "trailing_stop_positive_offset": "0.03",
              "trailing_stop_positive": "0.01", "sizing_profile": "moderate", "signal_threshold": "0.55",
              "leverage": "3"}}

Errors name the field as the client sent it: `name`, `weights.rsi`, `risk.stoploss`, `ct_account_ids`.
Risk values are fractions (0.10 = 10%) with at most six decimals, the precision the database stores.
Leverage is a multiple, 1x up to the largest any market of the agent's venue allows (`MAX_LEVERAGE`);
each trade is still capped at its own market's maximum.
Whether the followed CT accounts exist is the service's check (`backend.agents.editing`), not the draft's.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from backend.models import Agent
from backend.models.enums import SizingProfile, Venue, Visibility
from backend.prices.markets import MARKETS
from backend.venues.capabilities import DECLARED, capabilities_of

logger = logging.getLogger(__name__)

NAME_MAX = 64
DESCRIPTION_MAX = 2000
MAX_FOLLOWS = 50
MAX_ID = 2**31 - 1
RATIO_PLACES = 6


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("name_empty", "name must not be empty")
    if len(value) > NAME_MAX:
        raise PydanticCustomError("name_too_long", "name must be at most {max} characters", {"max": NAME_MAX})
    if not value.isprintable():
        raise PydanticCustomError("name_control", "name must not contain control characters")
    return value


def _description(value: str) -> str:
    value = value.strip()
    if len(value) > DESCRIPTION_MAX:
        raise PydanticCustomError(
            "description_too_long", "description must be at most {max} characters", {"max": DESCRIPTION_MAX}
        )
    return value


def _unique_ids(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise PydanticCustomError("ids_repeated", "ct_account_ids must not repeat an id")
    return ids


def _ratio(**bounds: Decimal) -> Any:
    return Field(decimal_places=RATIO_PLACES, **bounds)


Name = Annotated[str, AfterValidator(_name)]
Description = Annotated[str, AfterValidator(_description)]
WeightValue = Annotated[int, Field(ge=0, le=100)]
CtAccountIds = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_ID)]], Field(max_length=MAX_FOLLOWS), AfterValidator(_unique_ids)
]
StopLoss = Annotated[Decimal, _ratio(gt=Decimal(0), le=Decimal("0.5"))]
TakeProfit = Annotated[Decimal, _ratio(gt=Decimal(0), le=Decimal(5))]
TrailingActivation = Annotated[Decimal, _ratio(ge=Decimal(0), le=Decimal(1))]
TrailingDistance = Annotated[Decimal, _ratio(gt=Decimal(0), le=Decimal("0.5"))]
SignalThreshold = Annotated[Decimal, _ratio(ge=Decimal(0), le=Decimal(1))]
LEVERAGE_BOUND = Decimal(100)
Leverage = Annotated[Decimal, Field(ge=Decimal(1), le=LEVERAGE_BOUND, decimal_places=2)]


def _venue_max(venue: Venue) -> Decimal:
    """The highest leverage an agent of `venue` may ask for: what the venue declares (1x for spot), within the
    most any market we list offers (40x on BTC). A MULTI agent may route to any declared venue, so it gets the
    largest of theirs; a venue with no adapter yet declares nothing, and the draft's own bound applies."""
    listed = Decimal(max(m.max_leverage for m in MARKETS.values()))
    if venue == Venue.MULTI:
        usable = list(DECLARED.values())
    else:
        declared = capabilities_of(venue.value)
        usable = [declared] if declared is not None else []
    if not usable:
        return LEVERAGE_BOUND
    return max(min(c.max_leverage, listed) for c in usable)


MAX_LEVERAGE: dict[Venue, Decimal] = {venue: _venue_max(venue) for venue in Venue}


def check_leverage(venue: Venue | str, leverage: Decimal) -> None:
    """Refuse leverage above the venue's market maximum, naming the field and the limit."""
    limit = MAX_LEVERAGE[Venue(venue)]
    if leverage > limit:
        raise PydanticCustomError(
            "leverage_above_venue_max",
            "risk.leverage must be at most {max}x for a {venue} agent",
            {"max": f"{limit.normalize():f}", "venue": Venue(venue).value},
        )


def _default(column: str) -> Any:
    """The Agent table's default, so a draft without risk settings gets exactly what the model would."""
    return Agent.model_fields[column].default


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _NoNulls(_Strict):
    """A patch leaves out what it does not change; an explicit null would be ambiguous, so it is refused."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise PydanticCustomError("null", "{field} must not be null", {"field": info.field_name})
        return value


class Weights(_Strict):
    """All eight strategy weights, 0-100 each; a patch replaces them together so the all-zero rule holds."""

    tweet: WeightValue
    rsi: WeightValue
    macd: WeightValue
    bollinger: WeightValue
    volume: WeightValue
    moving_average: WeightValue
    momentum: WeightValue
    volatility: WeightValue

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        # An all-zero agent scores every post 0 and can never signal.
        if not any(self.model_dump().values()):
            raise PydanticCustomError("weights_all_zero", "at least one weight must be above 0")
        return self

    def columns(self) -> dict[str, int]:
        return {f"weight_{name}": value for name, value in self.model_dump().items()}


class RiskDraft(_Strict):
    """Risk settings of a new agent; each one left out takes the platform default (the old platform's)."""

    stoploss: StopLoss = _default("stoploss")
    take_profit: TakeProfit | None = _default("take_profit")
    trailing_stop_positive_offset: TrailingActivation = _default("trailing_stop_positive_offset")
    trailing_stop_positive: TrailingDistance = _default("trailing_stop_positive")
    sizing_profile: SizingProfile = SizingProfile(_default("sizing_profile"))
    signal_threshold: SignalThreshold = _default("signal_threshold")
    leverage: Leverage = _default("leverage")


class RiskPatch(_NoNulls):
    """Risk settings to change; `take_profit: null` removes the take-profit, other nulls are refused."""

    nullable: ClassVar[frozenset[str]] = frozenset({"take_profit"})

    stoploss: StopLoss | None = None
    take_profit: TakeProfit | None = None
    trailing_stop_positive_offset: TrailingActivation | None = None
    trailing_stop_positive: TrailingDistance | None = None
    sizing_profile: SizingProfile | None = None
    signal_threshold: SignalThreshold | None = None
    leverage: Leverage | None = None

    def given(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class AgentDraft(_Strict):
    """A new agent as the builder submits it. Name, venue and weights are required; the rest has defaults."""

    name: Name
    description: Description = ""
    venue: Venue
    visibility: Visibility = Visibility.PUBLIC
    weights: Weights
    ct_account_ids: CtAccountIds = Field(default_factory=list)
    risk: RiskDraft = Field(default_factory=RiskDraft)

    @field_validator("risk")
    @classmethod
    def _leverage_within_venue(cls, risk: RiskDraft, info: Any) -> RiskDraft:
        if "venue" in info.data:  # a bad venue is reported on its own
            check_leverage(info.data["venue"], risk.leverage)
        return risk

    def columns(self) -> dict[str, Any]:
        """Agent column values, ready for `Agent(**columns)`."""
        return {
            "name": self.name,
            "description": self.description,
            "venue": self.venue,
            "visibility": self.visibility,
            **self.weights.columns(),
            **self.risk.model_dump(),
        }


class AgentPatch(_NoNulls):
    """Changes to an agent: only the fields given change; `ct_account_ids`, when given, replaces follows."""

    name: Name | None = None
    description: Description | None = None
    venue: Venue | None = None
    visibility: Visibility | None = None
    weights: Weights | None = None
    ct_account_ids: CtAccountIds | None = None
    risk: RiskPatch | None = None

    def columns(self) -> dict[str, Any]:
        """The Agent columns this patch sets (follows are not columns; read `ct_account_ids`)."""
        given: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("name", "description", "venue", "visibility")
            if name in self.model_fields_set
        }
        if self.weights is not None:
            given.update(self.weights.columns())
        if self.risk is not None:
            given.update(self.risk.given())
        return given
