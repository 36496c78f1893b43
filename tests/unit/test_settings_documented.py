"""Every setting is in the README's settings table and in .env.example, so an operator can find it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.config import Settings

ROOT = Path(__file__).resolve().parents[2]
# Set by `maxxit up` for the processes it starts; an operator never writes it.
NOT_FOR_OPERATORS = {"HYPERLIQUID_SANDBOX_URL"}


@pytest.mark.parametrize("name", sorted(field.upper() for field in Settings.model_fields))
def test_the_setting_is_documented(name: str) -> None:
    assert f"`{name}`" in (ROOT / "README.md").read_text(), f"{name} is missing from the README"
    if name not in NOT_FOR_OPERATORS:
        example = (ROOT / ".env.example").read_text()
        assert re.search(rf"^#? ?{name}=", example, re.M), f"{name} is missing from .env.example"
