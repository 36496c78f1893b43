"""The deploy wizard's form: venue choices per agent, steps, account checks, risk overrides, the request."""

from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from backend.agents.schemas import RiskSettings as AgentRisk
from backend.deployments.schemas import DeploymentRequest, RiskSettings
from backend.models.enums import ExecutionVenue
from maxxit_ui.state import deploy_form as form
from maxxit_ui.state.agent_form import FieldError
from maxxit_ui.state.deploy_form import TIMES

PAPER_ONLY = {ExecutionVenue.PAPER}
BOTH = {ExecutionVenue.PAPER, ExecutionVenue.HYPERLIQUID}
AGENT = AgentRisk(
    stoploss=D("0.10"),
    take_profit=None,
    trailing_stop_positive_offset=D("0.03"),
    trailing_stop_positive=D("0.01"),
    sizing_profile="moderate",
    signal_threshold=D("0.55"),
)


def keys(options):
    return [o["key"] for o in options]


def test_venue_choices_follow_the_agent():
    assert keys(form.route_options("GMX", PAPER_ONLY)) == ["PAPER"]
    assert keys(form.route_options("HYPERLIQUID", BOTH)) == ["PAPER", "HYPERLIQUID"]
    assert keys(form.route_options("OSTIUM", PAPER_ONLY)) == ["PAPER"]


def test_multi_agents_choose_live_or_paper_never_both():
    """Paper is no fallback for a live deployment: a MULTI agent's routes are one venue each."""
    multi = form.route_options("MULTI", BOTH)
    assert keys(multi) == ["PAPER", "HYPERLIQUID"]
    assert [o["slug"] for o in multi] == ["paper", "hyperliquid"]
    assert "never traded on paper" in multi[1]["description"]
    assert [form.route_label(o["key"]) for o in multi] == ["Paper only", "Hyperliquid only"]


def test_approval_is_a_step_only_for_hyperliquid():
    assert form.wizard_steps("PAPER") == ["venue", "account", "risk", "review"]
    assert form.wizard_steps("HYPERLIQUID") == ["venue", "account", "approval", "risk", "review"]
    items = form.step_items("HYPERLIQUID", "approval")
    assert [(i["key"], i["state"], i["number"]) for i in items] == [
        ("venue", "done", "1"),
        ("account", "done", "2"),
        ("approval", "current", "3"),
        ("risk", "upcoming", "4"),
        ("review", "upcoming", "5"),
    ]


@pytest.mark.parametrize(
    ("text", "amount"),
    [("10000", D("10000.00")), ("$2,500.50", D("2500.50")), (" 100 ", D("100.00")), ("1_000", D("1000.00"))],
)
def test_starting_balance_accepts_dollars(text, amount):
    assert form.parse_balance(text) == amount


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a starting balance."),
        ("ten", "Starting balance must be a number of dollars."),
        ("NaN", "Starting balance must be a number of dollars."),
        ("99.99", "Starting balance must be between $100 and $100,000,000."),
        ("100000001", "Starting balance must be between $100 and $100,000,000."),
        ("100.001", "Starting balance takes whole cents at most."),
    ],
)
def test_starting_balance_refusals_name_the_field(text, message):
    with pytest.raises(FieldError) as caught:
        form.parse_balance(text)
    assert caught.value.field == "starting_balance" and str(caught.value) == message


def test_money_text_for_the_input():
    assert form.money_text(D("10000")) == "10000"
    assert form.money_text(D("10000.00")) == "10000"
    assert form.money_text(D("2500.50")) == "2500.50"


def test_hyperliquid_account_address():
    address = "0x" + "aB" * 20
    assert form.check_address(f"  {address} ") == address
    for bad in ("", "0x123", "ab" * 21, "0x" + "g" * 40):
        with pytest.raises(FieldError) as caught:
            form.check_address(bad)
        assert caught.value.field == "user_wallet"


def test_chain_ids_from_wallets():
    assert form.chain_id("0xa4b1") == 42161
    assert form.chain_id("0x66EEE") == 421614
    assert form.chain_id(1) == 1
    assert form.chain_id("42161") == 42161
    for bad in ("", "0x", "0x0", None, "arbitrum", True):
        with pytest.raises((TypeError, ValueError)):
            form.chain_id(bad)


def test_risk_prefill_is_the_agents_in_percent():
    prefilled = form.risk_form(AGENT)
    assert prefilled == form.RiskForm("moderate", "", "1", "10", "", "3", "1")


def test_leverage_starts_at_the_agents_and_unchanged_follows_its_version():
    agent = AGENT.model_copy(update={"leverage": D("3")})
    prefilled = form.risk_form(agent)
    assert prefilled.leverage_cap == "3"
    risk, errors = form.to_risk(prefilled, agent)
    assert errors == {} and risk.leverage_cap is None
    lines = {key: value for key, _, value in form.risk_review(form.effective_risk(risk, agent))}
    assert lines["leverage"] == f"3{TIMES}"
    lower = form.to_risk(form.RiskForm(**{**prefilled.__dict__, "leverage_cap": "2"}), agent)[0]
    assert lower.leverage_cap == D("2")


def test_unchanged_risk_follows_the_agent():
    risk, errors = form.to_risk(form.risk_form(AGENT), AGENT)
    assert errors == {} and risk == RiskSettings()


def test_changed_risk_becomes_overrides_in_fractions():
    changed = form.RiskForm("aggressive", "$1,500", "3", "8", "25", "3", "1.5")
    risk, errors = form.to_risk(changed, AGENT)
    assert errors == {}
    assert risk == RiskSettings(
        sizing_profile="aggressive",
        max_trade_usd=D("1500"),
        leverage_cap=D("3"),
        stoploss=D("0.08"),
        take_profit=D("0.25"),
        trailing_stop_positive=D("0.015"),
    )
    shown = form.effective_risk(risk, AGENT)
    assert shown["trailing_stop_positive_offset"] == D("0.03") and shown["stoploss"] == D("0.08")
    lines = {key: value for key, _, value in form.risk_review(shown)}
    assert (
        lines["leverage"] == f"3{TIMES}"
        and lines["take-profit"] == "25.0%"
        and lines["max-trade"] == "$1,500.00"
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"stoploss": "100"}, "stoploss", "Stop loss must be below 100 %."),
        ({"stoploss": ""}, "stoploss", "Stop loss is required."),
        ({"stoploss": "abc"}, "stoploss", "Stop loss must be a number of percent, like 10 or 2.5."),
        ({"take_profit": "1001"}, "take_profit", "Take profit must be at most 1000 %."),
        ({"trailing_stop_positive": "0"}, "trailing_stop_positive", "Trailing distance must be above 0 %."),
        ({"max_trade_usd": "5"}, "max_trade_usd", "Max trade size must be at least $10."),
        ({"max_trade_usd": "lots"}, "max_trade_usd", "Max trade size must be a number of USD."),
        ({"leverage_cap": "51"}, "leverage_cap", f"Leverage cap must be at most 50{TIMES}."),
        ({"leverage_cap": "0.5"}, "leverage_cap", f"Leverage cap must be at least 1{TIMES}."),
        ({"leverage_cap": "2.555"}, "leverage_cap", "Too many decimal places."),
        ({"sizing_profile": "yolo"}, "sizing_profile", "Choose a sizing profile."),
    ],
)
def test_risk_refusals_are_shown_beside_their_field(change, field, message):
    values = {**form.risk_form(AGENT).__dict__, **change}
    risk, errors = form.to_risk(form.RiskForm(**values), AGENT)
    assert risk is None and errors == {field: message}


def test_blank_take_profit_means_the_agents():
    agent = AGENT.model_copy(update={"take_profit": D("0.2")})
    values = {**form.risk_form(agent).__dict__, "take_profit": ""}
    risk, errors = form.to_risk(form.RiskForm(**values), agent)
    assert errors == {} and risk is not None and risk.take_profit is None


def request(**overrides):
    base = {
        "agent_id": 7,
        "agent_venue": "HYPERLIQUID",
        "route": "PAPER",
        "starting_balance": D("5000.00"),
        "user_wallet": "0x" + "1" * 40,
        "agent_wallet_id": 3,
        "risk": RiskSettings(),
    }
    return form.deployment_request(**{**base, **overrides})


def test_paper_request_names_no_wallet():
    paper = request()
    assert paper == DeploymentRequest(agent_id=7, venue="PAPER", starting_balance_usd=D("5000.00"))


def test_hyperliquid_request_carries_the_approved_wallet():
    live = request(route="HYPERLIQUID")
    assert live.venue == "HYPERLIQUID" and live.venue_preferences is None
    assert live.user_wallet == "0x" + "1" * 40 and live.agent_wallet_id == 3
    assert live.starting_balance_usd is None


def test_multi_agents_send_one_venue_as_their_preference():
    multi = request(agent_venue="MULTI", route="HYPERLIQUID")
    assert multi.venue == "HYPERLIQUID" and multi.venue_preferences == ["HYPERLIQUID"]
    assert multi.starting_balance_usd is None and multi.agent_wallet_id == 3
    paper_only = request(agent_venue="MULTI", route="PAPER")
    assert paper_only.venue_preferences == ["PAPER"] and paper_only.user_wallet is None


def test_backend_fields_map_to_wizard_steps():
    assert form.wizard_field(("risk", "stoploss")) == "stoploss"
    assert form.wizard_field(("starting_balance_usd",)) == "starting_balance"
    assert form.wizard_field(("venue_preferences", "0")) == "route"
    assert form.wizard_field(("agent_id",)) == "form"
    assert form.wizard_field(()) == "form"
    assert {form.FIELD_STEPS[form.BACKEND_FIELDS[f]] for f in ("agent_wallet_id", "signature")} == {
        "approval"
    }
    with pytest.raises(ValidationError) as caught:
        DeploymentRequest(agent_id=1, venue="HYPERLIQUID")
    assert set(form.risk_errors(caught.value)) == {"user_wallet"}
    with pytest.raises(ValidationError) as caught:
        DeploymentRequest(agent_id=1, venue="PAPER", starting_balance_usd=D("50"))
    assert set(form.risk_errors(caught.value)) == {"starting_balance"}


SAFE = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55's own example of a checksummed address


def test_spot_is_offered_to_spot_and_multi_agents_only_with_a_spot_chain():
    spot = {ExecutionVenue.PAPER, ExecutionVenue.SPOT}
    assert keys(form.route_options("SPOT", spot, spot_configured=True)) == ["PAPER", "SPOT"]
    assert keys(form.route_options("SPOT", spot)) == ["PAPER"]
    every = BOTH | spot
    assert keys(form.route_options("MULTI", every, spot_configured=True)) == ["PAPER", "HYPERLIQUID", "SPOT"]
    assert keys(form.route_options("HYPERLIQUID", BOTH, spot_configured=True)) == ["PAPER", "HYPERLIQUID"]


def test_spot_has_a_safe_step_instead_of_account_and_approval():
    assert form.wizard_steps("SPOT") == ["venue", "safe", "risk", "review"]
    assert form.FIELD_STEPS[form.BACKEND_FIELDS["safe_address"]] == "safe"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter your Safe's address."),
        ("0x123", "An address is 0x followed by 40 hex digits."),
        (
            SAFE.replace("a", "A", 1),
            "This address's capital letters are not its checksum: check it for a typo.",
        ),
    ],
)
def test_safe_address_refusals_name_the_field(text, message):
    with pytest.raises(FieldError) as caught:
        form.check_safe_address(text)
    assert (caught.value.field, str(caught.value)) == ("safe_address", message)


def test_a_safe_address_in_one_case_is_accepted_and_checksummed():
    assert form.check_safe_address(f"  {SAFE.lower()} ") == SAFE
    assert form.check_safe_address(SAFE) == SAFE


def test_spot_request_carries_the_safe_and_requires_it():
    spot = form.deployment_request(
        agent_id=7,
        agent_venue="SPOT",
        route="SPOT",
        starting_balance=None,
        user_wallet="0x" + "1" * 40,
        agent_wallet_id=None,
        risk=RiskSettings(),
        safe_address=SAFE,
    )
    assert (spot.venue, spot.safe_address, spot.user_wallet) == ("SPOT", SAFE, None)
    with pytest.raises(ValidationError) as caught:
        DeploymentRequest(agent_id=1, venue="SPOT")
    assert set(form.risk_errors(caught.value)) == {"safe_address"}
