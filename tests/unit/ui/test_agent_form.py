"""The builder form's conversions: percent text to fractions and back, and draft errors per form field."""

from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from backend.agents.drafts import AgentDraft, AgentPatch
from maxxit_ui.state.agent_form import (
    FIELDS,
    FieldError,
    FormValues,
    empty_errors,
    form_field,
    fraction_to_percent,
    percent_to_fraction,
    to_payload,
    validation_errors,
)

WEIGHTS = {"tweet": 60, "rsi": 20, "macd": 0, "bollinger": 0, "volume": 0, "moving_average": 0}


def values(**changes) -> FormValues:
    base = {
        "name": "Momentum",
        "description": "",
        "venue": "HYPERLIQUID",
        "visibility": "public",
        "weights": {**WEIGHTS, "momentum": 40, "volatility": 5},
        "ct_account_ids": ["3", "7"],
        "stoploss": "10",
        "take_profit": "20",
        "trailing_stop_positive_offset": "3",
        "trailing_stop_positive": "1",
        "sizing_profile": "moderate",
        "signal_threshold": "55",
    }
    return FormValues(**{**base, **changes})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", D("0.10")),
        ("2.5", D("0.025")),
        (" 12.5 % ", D("0.125")),
        ("0,5", D("0.005")),
        ("0.0001", D("0.000001")),
    ],
)
def test_percent_text_becomes_a_fraction(text, expected):
    assert percent_to_fraction("stoploss", text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Stop loss is required."),
        ("ten", "Stop loss must be a number of percent, like 10 or 2.5."),
        ("NaN", "Stop loss must be a number of percent, like 10 or 2.5."),
        ("Infinity", "Stop loss must be a number of percent, like 10 or 2.5."),
        ("1.23456", "Stop loss takes at most 4 decimal places."),
    ],
)
def test_bad_percent_text_names_the_field(text, message):
    with pytest.raises(FieldError) as caught:
        percent_to_fraction("stoploss", text)
    assert caught.value.field == "stoploss"
    assert str(caught.value) == message


def test_blank_take_profit_means_none():
    assert percent_to_fraction("take_profit", "  ") is None


@pytest.mark.parametrize(
    ("fraction", "text"),
    [
        (D("0.10"), "10"),
        (D("0.025"), "2.5"),
        (D("0.550000"), "55"),
        (D("1"), "100"),
        (D("0"), "0"),
        (None, ""),
    ],
)
def test_fraction_shows_as_percent(fraction, text):
    assert fraction_to_percent(fraction) == text


def test_round_trip_keeps_the_value():
    for text in ("10", "2.5", "0.0001", "49.9999"):
        assert fraction_to_percent(percent_to_fraction("stoploss", text)) == text


def test_a_good_form_becomes_a_valid_draft_and_patch():
    payload, errors = to_payload(values())
    assert errors == {}
    draft = AgentDraft.model_validate(payload)
    assert draft.risk.stoploss == D("0.10")
    assert draft.risk.signal_threshold == D("0.55")
    assert draft.ct_account_ids == [3, 7]
    assert draft.weights.tweet == 60 and draft.weights.momentum == 40
    AgentPatch.model_validate(payload)


def test_leverage_text_becomes_the_drafts_multiple_and_refusals_sit_beside_it():
    payload, errors = to_payload(values(leverage="3x"))
    assert errors == {} and AgentDraft.model_validate(payload).risk.leverage == D("3")
    assert to_payload(values(leverage="lots"))[1] == {"leverage": "Leverage must be a number, like 1 or 3."}
    assert _errors(leverage="0.5") == {"leverage": "Leverage must be at least 1x."}
    assert _errors(leverage="41") == {"leverage": "Leverage must be at most 40x for a HYPERLIQUID agent."}


def test_conversion_errors_are_per_field():
    _, errors = to_payload(values(stoploss="abc", trailing_stop_positive=""))
    assert set(errors) == {"stoploss", "trailing_stop_positive"}


def _errors(**changes) -> dict[str, str]:
    payload, errors = to_payload(values(**changes))
    assert errors == {}
    with pytest.raises(ValidationError) as caught:
        AgentDraft.model_validate(payload)
    return validation_errors(caught.value)


def test_draft_errors_map_to_form_fields_in_percent():
    assert _errors(stoploss="80") == {"stoploss": "Stop loss must be at most 50 %."}
    assert _errors(trailing_stop_positive="0") == {
        "trailing_stop_positive": "Trailing distance must be above 0 %."
    }
    assert _errors(signal_threshold="101") == {"signal_threshold": "Signal threshold must be at most 100 %."}
    assert _errors(name="   ") == {"name": "Name must not be empty."}
    assert _errors(venue="MOON") == {"venue": "Choose a venue."}
    assert _errors(sizing_profile="yolo") == {"sizing_profile": "Choose a sizing profile."}
    assert _errors(weights=dict.fromkeys(WEIGHTS, 0)) == {"weights": "At least one weight must be above 0."}
    assert _errors(ct_account_ids=["3", "3"]) == {"ct_account_ids": "Pick each CT account once."}


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("risk", "stoploss"), "stoploss"),
        (("weights", "rsi"), "weights"),
        (("weights",), "weights"),
        (("name",), "name"),
        (("ct_account_ids", 0), "ct_account_ids"),
        (("risk",), "form"),
        (("surprise",), "form"),
        ((), "form"),
    ],
)
def test_error_locations_name_a_form_field(loc, field):
    assert form_field(loc) == field


def test_empty_errors_cover_every_field():
    assert set(empty_errors()) == set(FIELDS)
    assert all(message == "" for message in empty_errors().values())


def test_the_builder_says_which_venues_trade_on_paper_only():
    from maxxit_ui.state.builder import VENUE_OPTIONS

    assert VENUE_OPTIONS["HYPERLIQUID"] == "Hyperliquid"
    assert VENUE_OPTIONS["SPOT"] == "Spot"  # a Safe on Arbitrum
    assert VENUE_OPTIONS["MULTI"] == "Multi-venue (routed per signal)"
    for venue in ("GMX", "OSTIUM"):
        assert VENUE_OPTIONS[venue].endswith("(paper trading only for now)"), venue
