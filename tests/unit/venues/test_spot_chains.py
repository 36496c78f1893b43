"""The spot chain table, its settings, and how revert reasons read: no chain needed."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from eth_utils import to_checksum_address
from pydantic import ValidationError
from web3 import Web3

from backend.config import Settings
from backend.models.enums import ExecutionVenue
from backend.spot.chains import CHAINS, ChainConfigError, Token, chain_from_settings
from backend.venues import capabilities
from backend.venues.base import InsufficientFunds, InvalidOrder, MarketNotListed
from backend.venues.registry import build_venues
from backend.venues.spot import SafeSpotVenue, order_id, swap_error
from tests.monitor_support import DrivenFeed

MODULE = "0x" + "ab" * 20
RPC = "http://127.0.0.1:1"  # nothing listens: building the venue must not call it


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def local_file(tmp_path: Path, **changes: object) -> Path:
    raw = {
        "chain_id": 42161,
        "router": "0x" + "11" * 20,
        "usdc": "0x" + "22" * 20,
        "tokens": {
            "USDC": {"address": "0x" + "22" * 20, "decimals": 6},
            "ETH": {"address": "0x" + "33" * 20, "decimals": 18},
        },
        "module": "0x" + "44" * 20,
        "safe_singleton": "0x" + "55" * 20,
        "safe_proxy_factory": "0x" + "66" * 20,
        "fallback_handler": "0x" + "77" * 20,
        **changes,
    }
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(raw))
    return path


def test_the_table_holds_checksummed_distinct_addresses_and_no_module_until_deployed() -> None:
    assert (CHAINS["arbitrum"].chain_id, CHAINS["arbitrum-sepolia"].chain_id) == (42161, 421614)
    assert set(CHAINS["arbitrum"].tokens) == {"ETH", "ARB", "BTC"}
    assert (CHAINS["arbitrum"].usdc.decimals, CHAINS["arbitrum"].tokens["BTC"].decimals) == (6, 8)
    for chain in CHAINS.values():
        addresses = [chain.router, chain.usdc.address] + [t.address for t in chain.tokens.values()]
        assert all(a == to_checksum_address(a) for a in addresses)
        assert len(set(addresses)) == len(addresses)
        assert chain.module is None
        assert chain.by_address(chain.usdc.address.lower()) == chain.usdc


def test_token_amounts_convert_exactly_and_never_round_up() -> None:
    weth = Token("ETH", "0x" + "33" * 20, 18)
    assert weth.to_units(Decimal("0.1")) == 10**17
    assert Token("USDC", "0x" + "22" * 20, 6).to_units(Decimal("1.2345679")) == 1_234_567
    assert weth.from_units(123) == Decimal("1.23E-16")


def test_no_rpc_url_means_no_spot_chain_and_the_module_setting_fills_the_table(tmp_path: Path) -> None:
    assert chain_from_settings(settings()) is None
    arbitrum = chain_from_settings(settings(arbitrum_rpc_url=RPC))
    assert arbitrum == CHAINS["arbitrum"]
    chosen = chain_from_settings(
        settings(arbitrum_rpc_url=RPC, spot_chain="arbitrum-sepolia", spot_module_address=MODULE)
    )
    assert (chosen.name, chosen.module) == ("arbitrum-sepolia", to_checksum_address(MODULE))


def test_the_local_chain_comes_from_the_deployers_file(tmp_path: Path) -> None:
    local = chain_from_settings(
        settings(arbitrum_rpc_url=RPC, spot_chain="local", spot_local_chain_file=local_file(tmp_path))
    )
    assert (local.name, local.chain_id, local.usdc.decimals) == ("local", 42161, 6)
    assert list(local.tokens) == ["ETH"]  # USDC is the quote, not a token to buy
    assert local.module == to_checksum_address("0x" + "44" * 20)
    assert local.safe_fallback_handler == to_checksum_address("0x" + "77" * 20)


@pytest.mark.parametrize(
    ("path_of", "message"),
    [
        (lambda tmp: tmp / "missing.json", "does not exist"),
        (lambda tmp: (tmp / "bad.json").write_text("{") and tmp / "bad.json", "not readable JSON"),
        (lambda tmp: local_file(tmp, router="0x12"), "not an address"),
        (
            lambda tmp: local_file(tmp, tokens={"ETH": {"address": "0x" + "33" * 20}}),
            "not a chain description",
        ),
    ],
)
def test_a_broken_local_chain_file_says_what_is_wrong(tmp_path: Path, path_of, message: str) -> None:
    with pytest.raises(ChainConfigError, match=message):
        chain_from_settings(
            settings(arbitrum_rpc_url=RPC, spot_chain="local", spot_local_chain_file=path_of(tmp_path))
        )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"spot_chain": "mainnet"}, "spot_chain"),
        ({"spot_module_address": "0x1234"}, "spot_module_address"),
        ({"spot_slippage_bps": 0}, "spot_slippage_bps"),
        ({"spot_slippage_bps": 5000}, "spot_slippage_bps"),
        ({"arbitrum_rpc_url": "arb1.arbitrum.io/rpc"}, "ARBITRUM_RPC_URL"),
        ({"arbitrum_rpc_url": RPC, "spot_chain": "local"}, "SPOT_LOCAL_CHAIN_FILE"),
        ({"spot_receipt_timeout_seconds": 0}, "spot_receipt_timeout_seconds"),
    ],
)
def test_bad_spot_settings_are_refused_at_startup_by_name(values: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        settings(**values)


def test_the_registry_offers_spot_only_with_a_chain_and_a_module() -> None:
    engine = sa.create_engine("sqlite://")
    feed = DrivenFeed()
    assert ExecutionVenue.SPOT not in build_venues(settings(), engine, feed)
    assert ExecutionVenue.SPOT not in build_venues(
        settings(arbitrum_rpc_url=RPC), engine, feed
    )  # no module yet
    venues = build_venues(settings(arbitrum_rpc_url=RPC, spot_module_address=MODULE), engine, feed)
    spot = venues.get(ExecutionVenue.SPOT)
    assert isinstance(spot, SafeSpotVenue) and spot.capabilities == capabilities.SPOT
    assert spot.chain.name == "arbitrum" and spot.slippage == Decimal("0.005")


def test_order_ids_are_the_client_order_id_padded_to_32_bytes() -> None:
    assert order_id("0x" + "0f" * 16) == bytes.fromhex("0f" * 16) + b"\0" * 16
    with pytest.raises(InvalidOrder, match="32 hex digits"):
        order_id("0x1234")


@pytest.mark.parametrize(
    ("reason", "kind", "says"),
    [
        ("slippage", InvalidOrder, "price moved more than 50 bps"),
        ("Too little received", InvalidOrder, "price moved"),
        ("GS104", InvalidOrder, "Safe module not enabled"),
        ("not executor", InvalidOrder, "Safe module not enabled"),
        ("ERC20: transfer amount exceeds balance", InsufficientFunds, "does not hold enough"),
        ("pair not allowed", MarketNotListed, "does not allow"),
        ("no price", InvalidOrder, "swap refused on chain: no price"),
    ],
)
def test_revert_reasons_read_as_venue_errors(reason: str, kind: type, says: str) -> None:
    chain = replace(CHAINS["arbitrum"], module=MODULE)
    venue = SafeSpotVenue(chain, Web3(Web3.HTTPProvider(RPC)), DrivenFeed())
    error = swap_error(reason, venue)
    assert type(error) is kind and says in error.reason and not error.retryable
