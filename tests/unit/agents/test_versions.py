"""Agent versions as data: a strategy survives its JSON round trip, and a new version says what changed."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from backend.agents.versions import Strategy, change_note
from backend.models import WEIGHT_NAMES
from backend.trading.types import SizingProfile

BASE = Strategy(
    venue="HYPERLIQUID",
    weights={name: 0 for name in WEIGHT_NAMES} | {"tweet": 60, "rsi": 20},
    signal_threshold=D("0.55"),
    ct_account_ids=(3, 7),
    stoploss=D("0.10"),
    take_profit=D("0.20"),
    trailing_stop_positive=D("0.01"),
    trailing_stop_positive_offset=D("0.03"),
    sizing_profile=SizingProfile.MODERATE,
    leverage=D("1"),
)


def test_a_strategy_survives_its_json_round_trip():
    assert Strategy.from_json(BASE.to_json()) == BASE
    no_take = dataclasses.replace(BASE, take_profit=None)
    assert Strategy.from_json(no_take.to_json()) == no_take


def test_versions_stored_before_leverage_read_as_1x():
    data = BASE.to_json()
    del data["leverage"]
    assert Strategy.from_json(data).leverage == D(1)


def test_the_note_names_each_change_in_the_builders_words():
    new = dataclasses.replace(
        BASE,
        weights=BASE.weights | {"rsi": 40},
        signal_threshold=D("0.6"),
        ct_account_ids=(3, 9, 11),
        take_profit=None,
        sizing_profile=SizingProfile.AGGRESSIVE,
        leverage=D("3"),
    )
    assert change_note(BASE, new) == (
        "weights (rsi 40); threshold 60%; followed accounts (+2 -1); exits (take_profit none); "
        "sizing aggressive; leverage 3x"
    )
    assert change_note(BASE, BASE) == ""
