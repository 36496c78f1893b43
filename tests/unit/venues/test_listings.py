"""Listings in the app's units: Hyperliquid's k-prefixed perps (1,000 tokens a contract) and paper's."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.prices.markets import MARKETS
from backend.trading.market import MarketRules
from backend.venues.hyperliquid_rules import (
    app_rules,
    app_symbol,
    price_tick,
    round_price,
    slippage_price,
    unit_digits,
    venue_size,
    venue_size_decimals,
)
from backend.venues.paper import PaperVenue
from backend.venues.token_names import NAMES, token_name


@pytest.mark.parametrize(
    ("coin", "expected"),
    [
        ("kPEPE", ("PEPE", 1000)),
        ("kBONK", ("BONK", 1000)),
        ("kSHIB", ("SHIB", 1000)),
        ("kNEIRO", ("NEIRO", 1000)),
        ("ETH", ("ETH", 1)),
        ("KAS", ("KAS", 1)),  # upper-case K is a letter of the name, not the prefix
        ("KAITO", ("KAITO", 1)),
        ("k", ("k", 1)),
        ("S", ("S", 1)),
    ],
)
def test_k_prefixed_names_are_the_symbol_people_write_at_1000_units(coin, expected):
    assert app_symbol(coin) == expected


def test_kpepe_rules_in_pepe_units():
    rules = app_rules("PEPE", 0, D(10), 1000, D("0.010512"))
    assert rules.market == "PEPE"
    assert rules.size_decimals == -3  # whole kPEPE contracts: PEPE sizes in thousands
    assert rules.min_size == D(1000)
    assert rules.tick_size == price_tick(D("0.010512"), 0) / 1000 == D("1E-9")
    assert (rules.min_notional, rules.max_leverage) == (D(10), D(10))
    assert venue_size_decimals(rules, 1000) == 0
    # A plain perp is untouched.
    eth = app_rules("ETH", 4, D(25), 1, D(3000))
    assert (eth.size_decimals, eth.min_size, eth.tick_size) == (4, D("0.0001"), D("0.1"))


def test_negative_size_decimals_round_down_to_thousands():
    rules = MarketRules("PEPE", -3, D("1E-9"), D(10), D(10), D(1000))
    assert rules.round_size(D("12345.678")) == D(12000)
    assert rules.round_size(D(999)) == 0
    assert rules.round_size(D(1000)) == D(1000)


def test_sizes_and_prices_both_ways():
    # out: 12,000 PEPE at 0.0000105 per token -> 12 kPEPE, limit priced per 1,000
    assert venue_size(D(12000), 1000, 0) == D(12)
    assert venue_size(D("12999"), 1000, 0) == D(12)  # never more than asked
    assert venue_size(D("0.1234"), 1, 4) == D("0.1234")
    limit = slippage_price(D("0.0000105") * 1000, True, D("0.01"), 0)
    assert limit == round_price(D("0.010605"), 0) == D("0.010605")
    # in: a fill of 12 kPEPE at 0.010512 is 12,000 PEPE at 0.000010512
    _, units = app_symbol("kPEPE")
    assert (D(12) * units, D("0.010512") / units) == (D(12000), D("0.000010512"))


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from([1, 10, 1000]), st.integers(0, 5))
def test_a_rounded_app_size_is_exact_in_venue_contracts(tokens, units, sz_decimals):
    rules = app_rules("X", sz_decimals, D(5), units, None)
    size = rules.round_size(D(tokens) / 7)
    contracts = venue_size(size, units, sz_decimals)
    assert contracts * units == size  # nothing lost on the way to the venue


def test_units_must_be_a_power_of_ten():
    assert unit_digits(1000) == 3
    with pytest.raises(ValueError):
        unit_digits(250)


def test_names_come_from_the_markets_first_then_the_table_then_the_symbol():
    for symbol, spec in MARKETS.items():
        assert token_name(symbol) == spec.name
    assert token_name("PEPE") == NAMES["PEPE"] == "Pepe"
    assert token_name("NOSUCHTOKEN") == "NOSUCHTOKEN"


def test_paper_lists_every_simulated_market_one_unit_each(tmp_path):
    import sqlalchemy as sa

    from backend.prices.simulated import SimulatedPriceFeed

    venue = PaperVenue(sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}"), SimulatedPriceFeed())
    listings = venue.listings()
    assert [item.symbol for item in listings] == list(MARKETS)
    assert all(item.venue_market == item.symbol and item.units == 1 for item in listings)
    assert not any(item.is_delisted for item in listings)
    assert {item.symbol: item.rules for item in listings} == venue.markets()
    assert listings[0].name == MARKETS[listings[0].symbol].name
