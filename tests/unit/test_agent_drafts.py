"""What the agent builder may submit: each bad value names its field with a message a user can act on."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from backend.agents.drafts import AgentDraft, AgentPatch, Weights
from backend.models import WEIGHT_NAMES, Agent
from backend.models.enums import SizingProfile, Venue, Visibility

WEIGHTS = {name: 0 for name in WEIGHT_NAMES} | {"tweet": 60, "rsi": 20}


def _draft(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Momentum", "venue": "HYPERLIQUID", "weights": dict(WEIGHTS)}
    body.update(changes)
    return body


def _errors(model: type, body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in caught.value.errors()]


def test_weights_model_has_exactly_the_agent_weight_names():
    assert tuple(Weights.model_fields) == WEIGHT_NAMES


def test_minimal_draft_takes_the_agent_table_defaults():
    draft = AgentDraft.model_validate(_draft(name="  Momentum  ", description="  calls  "))
    assert draft.name == "Momentum"
    assert draft.description == "calls"
    assert draft.venue is Venue.HYPERLIQUID
    assert draft.visibility is Visibility.PUBLIC
    assert draft.ct_account_ids == []
    columns = draft.columns()
    for column in ("stoploss", "take_profit", "trailing_stop_positive_offset", "signal_threshold"):
        assert columns[column] == Agent.model_fields[column].default
    assert columns["sizing_profile"] == SizingProfile.MODERATE
    assert columns["weight_tweet"] == 60 and columns["weight_macd"] == 0


def test_full_draft_with_edge_values_passes():
    risk = {
        "stoploss": "0.5",
        "take_profit": None,
        "trailing_stop_positive_offset": 0,
        "trailing_stop_positive": "0.000001",
        "sizing_profile": "aggressive",
        "signal_threshold": 1,
    }
    body = _draft(
        name="x" * 64,
        description="d" * 2000,
        venue="MULTI",
        visibility="private",
        weights={name: 100 for name in WEIGHT_NAMES},
        ct_account_ids=list(range(1, 51)),
        risk=risk,
    )
    draft = AgentDraft.model_validate(body)
    assert draft.risk.take_profit is None
    assert draft.risk.stoploss == Decimal("0.5")
    assert draft.risk.sizing_profile is SizingProfile.AGGRESSIVE
    assert len(draft.ct_account_ids) == 50


BAD_DRAFTS = [
    ({"name": ""}, "name", "name must not be empty"),
    ({"name": "   "}, "name", "name must not be empty"),
    ({"name": "x" * 65}, "name", "name must be at most 64 characters"),
    ({"name": "two\nlines"}, "name", "name must not contain control characters"),
    ({"description": "d" * 2001}, "description", "description must be at most 2000 characters"),
    ({"venue": "BINANCE"}, "venue", "Input should be 'SPOT', 'GMX', 'HYPERLIQUID', 'OSTIUM' or 'MULTI'"),
    ({"visibility": "secret"}, "visibility", "Input should be 'public' or 'private'"),
    ({"weights": WEIGHTS | {"rsi": 101}}, "weights.rsi", "Input should be less than or equal to 100"),
    ({"weights": WEIGHTS | {"macd": -1}}, "weights.macd", "Input should be greater than or equal to 0"),
    ({"weights": WEIGHTS | {"sentiment": 5}}, "weights.sentiment", "Extra inputs are not permitted"),
    (
        {"weights": {k: v for k, v in WEIGHTS.items() if k != "volume"}},
        "weights.volume",
        "Field required",
    ),
    ({"weights": {name: 0 for name in WEIGHT_NAMES}}, "weights", "at least one weight must be above 0"),
    ({"ct_account_ids": [3, 3]}, "ct_account_ids", "ct_account_ids must not repeat an id"),
    (
        {"ct_account_ids": list(range(1, 52))},
        "ct_account_ids",
        "List should have at most 50 items after validation, not 51",
    ),
    ({"ct_account_ids": [0]}, "ct_account_ids.0", "Input should be greater than or equal to 1"),
    ({"risk": {"stoploss": 0}}, "risk.stoploss", "Input should be greater than 0"),
    ({"risk": {"stoploss": "0.51"}}, "risk.stoploss", "Input should be less than or equal to 0.5"),
    ({"risk": {"take_profit": 0}}, "risk.take_profit", "Input should be greater than 0"),
    (
        {"risk": {"take_profit": "5.01"}},
        "risk.take_profit",
        "Input should be less than or equal to 5",
    ),
    (
        {"risk": {"trailing_stop_positive_offset": "-0.01"}},
        "risk.trailing_stop_positive_offset",
        "Input should be greater than or equal to 0",
    ),
    (
        {"risk": {"trailing_stop_positive_offset": "1.5"}},
        "risk.trailing_stop_positive_offset",
        "Input should be less than or equal to 1",
    ),
    (
        {"risk": {"trailing_stop_positive": 0}},
        "risk.trailing_stop_positive",
        "Input should be greater than 0",
    ),
    (
        {"risk": {"signal_threshold": "1.01"}},
        "risk.signal_threshold",
        "Input should be less than or equal to 1",
    ),
    (
        {"risk": {"stoploss": "0.1234567"}},
        "risk.stoploss",
        "Decimal input should have no more than 6 decimal places",
    ),
    ({"risk": {"stoploss": "NaN"}}, "risk.stoploss", "Input should be a finite number"),
    (
        {"risk": {"sizing_profile": "yolo"}},
        "risk.sizing_profile",
        "Input should be 'conservative', 'moderate' or 'aggressive'",
    ),
    ({"risk": {"leverage": "0.5"}}, "risk.leverage", "Input should be greater than or equal to 1"),
    ({"risk": {"leverage": "41"}}, "risk", "risk.leverage must be at most 40x for a HYPERLIQUID agent"),
    (
        {"venue": "SPOT", "risk": {"leverage": 2}},
        "risk",
        "risk.leverage must be at most 1x for a SPOT agent",
    ),
    ({"status": "active"}, "status", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_DRAFTS)
def test_bad_draft_value_names_field_and_reason(changes, field, message):
    assert _errors(AgentDraft, _draft(**changes)) == [(field, message)]


@pytest.mark.parametrize("missing", ["name", "venue", "weights"])
def test_draft_requires_name_venue_and_weights(missing):
    body = _draft()
    del body[missing]
    assert _errors(AgentDraft, body) == [(missing, "Field required")]


def test_leverage_defaults_to_1x_and_takes_the_venues_maximum():
    assert AgentDraft.model_validate(_draft()).columns()["leverage"] == Decimal(1)
    top = AgentDraft.model_validate(_draft(risk={"leverage": "40"}))
    assert top.columns()["leverage"] == Decimal(40)


def test_empty_patch_changes_nothing():
    assert AgentPatch.model_validate({}).columns() == {}


def test_patch_sets_only_the_given_fields():
    patch = AgentPatch.model_validate(
        {"name": " Renamed ", "risk": {"stoploss": "0.05", "take_profit": None}}
    )
    assert patch.columns() == {
        "name": "Renamed",
        "stoploss": Decimal("0.05"),
        "take_profit": None,
    }
    assert patch.ct_account_ids is None


def test_patch_weights_replace_all_eight():
    patch = AgentPatch.model_validate({"weights": WEIGHTS | {"volatility": 9}})
    assert patch.columns() == {f"weight_{k}": v for k, v in (WEIGHTS | {"volatility": 9}).items()}


BAD_PATCHES = [
    ({"name": None}, "name", "name must not be null"),
    ({"venue": None}, "venue", "venue must not be null"),
    ({"name": "  "}, "name", "name must not be empty"),
    ({"risk": {"stoploss": None}}, "risk.stoploss", "stoploss must not be null"),
    ({"weights": {"tweet": 10}}, "weights.rsi", "Field required"),
    ({"weights": {name: 0 for name in WEIGHT_NAMES}}, "weights", "at least one weight must be above 0"),
    ({"creator_id": 2}, "creator_id", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD_PATCHES)
def test_bad_patch_value_names_field_and_reason(body, field, message):
    assert (field, message) in _errors(AgentPatch, body)
