"""The demo banner is on exactly while demo data, the sample feed or simulated prices are."""

from __future__ import annotations

import pytest

from backend.config import Settings
from maxxit_ui.components.layout import DEMO_BANNER_TEXT, demo_banner


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENV", "SEED_DEMO_DATA", "SAMPLE_FEED_ENABLED", "PRICE_FEED", "PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


LIVE = {"seed_demo_data": False, "sample_feed_enabled": False, "price_feed": "hyperliquid"}


def _shows_banner(settings: Settings) -> bool:
    return DEMO_BANNER_TEXT in str(demo_banner(settings).render())


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ({}, True),  # make run: everything demo
        (LIVE, False),
        ({**LIVE, "seed_demo_data": True}, True),
        ({**LIVE, "sample_feed_enabled": True}, True),
        ({**LIVE, "price_feed": "simulated"}, True),
        ({"env": "prod", "public_url": "https://maxxit.example.com"}, False),  # prod's derived defaults
    ],
)
def test_banner_follows_the_demo_settings(values: dict, shown: bool):
    assert _shows_banner(Settings(_env_file=None, **values)) is shown
