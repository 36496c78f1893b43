"""ENV takes exactly dev, test or prod; prod derives the live defaults and refuses demo data by name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.config import Settings
from backend.modes import live_mode_problems

# The demo's names, and NOTIFY_EVENTS, which tests/conftest.py sets for every test process.
AMBIENT_NAMES = ("ENV", "SEED_DEMO_DATA", "SAMPLE_FEED_ENABLED", "PRICE_FEED", "PUBLIC_URL", "NOTIFY_EVENTS")


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AMBIENT_NAMES:
        monkeypatch.delenv(name, raising=False)


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize("env", ["production", "PROD", "Prod", "staging", ""])
def test_env_outside_dev_test_prod_is_refused_naming_the_values(env: str):
    with pytest.raises(ValidationError) as caught:
        _settings(env=env)
    assert "'dev', 'test' or 'prod'" in str(caught.value)


@pytest.mark.parametrize("env", ["dev", "test"])
def test_dev_and_test_keep_the_demo(env: str):
    settings = _settings(env=env)
    assert (settings.seed_demo_data, settings.sample_feed_enabled, settings.price_feed) == (
        True,
        True,
        "simulated",
    )
    assert settings.demo_active
    assert live_mode_problems(settings) == []


def test_prod_derives_live_defaults_and_they_pass():
    settings = _settings(env="prod", public_url="https://maxxit.example.com")
    assert (settings.seed_demo_data, settings.sample_feed_enabled, settings.price_feed) == (
        False,
        False,
        "hyperliquid",
    )
    assert not settings.demo_active
    assert settings.model_fields_set == {"env", "public_url"}  # derived values are not "explicit"
    assert live_mode_problems(settings) == []
    assert live_mode_problems(settings, seed_demo=False) == []


def test_prod_reads_the_environment_the_same_way(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ENV", "prod")
    monkeypatch.setenv("SAMPLE_FEED_ENABLED", "false")
    settings = _settings()
    assert (settings.seed_demo_data, settings.sample_feed_enabled, settings.price_feed) == (
        False,
        False,
        "hyperliquid",
    )


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"sample_feed_enabled": True}, "SAMPLE_FEED_ENABLED"),
        ({"seed_demo_data": True}, "SEED_DEMO_DATA"),
        ({"price_feed": "simulated"}, "PRICE_FEED"),
    ],
)
def test_prod_refuses_a_demo_setting_turned_on_explicitly(values: dict, named: str):
    settings = _settings(env="prod", public_url="https://maxxit.example.com", **values)
    problems = live_mode_problems(settings)
    assert len(problems) == 1
    assert problems[0].startswith(named)


def test_prod_refuses_the_seed_flag():
    settings = _settings(env="prod", public_url="https://maxxit.example.com")
    assert ["--seed" in p for p in live_mode_problems(settings, seed_demo=True)] == [True]


@pytest.mark.parametrize("url", ["", "http://maxxit.example.com", "maxxit.example.com", "https://"])
def test_prod_requires_an_https_public_url(url: str):
    problems = live_mode_problems(_settings(env="prod", public_url=url))
    assert len(problems) == 1
    assert problems[0].startswith("PUBLIC_URL must be the https:// URL")


@pytest.mark.parametrize(
    ("values", "active"),
    [
        ({}, True),
        ({"seed_demo_data": False, "sample_feed_enabled": False, "price_feed": "hyperliquid"}, False),
        ({"seed_demo_data": True, "sample_feed_enabled": False, "price_feed": "hyperliquid"}, True),
        ({"seed_demo_data": False, "sample_feed_enabled": True, "price_feed": "hyperliquid"}, True),
        ({"seed_demo_data": False, "sample_feed_enabled": False, "price_feed": "simulated"}, True),
    ],
)
def test_demo_is_active_while_any_made_up_source_is_on(values: dict, active: bool):
    assert _settings(**values).demo_active is active
