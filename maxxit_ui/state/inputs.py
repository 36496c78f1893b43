"""Bounds on what a browser can put into page state.

Every handler that stores user input clips it to the field's real maximum (the database column's, or the
widest valid value), so a tab, or a script speaking the websocket protocol, cannot grow server-side state
without bound. Handlers on signed-in pages also ignore input until the page's on_load has authorised the
user (`status == "ready"`), so a signed-out tab stores nothing at all.
"""

from __future__ import annotations

from typing import Any

# Numbers typed as text ("12.5", "100000000.00"): nothing valid is longer.
NUMBER_TEXT_MAX = 24
# Choices from a select (venue, visibility, sizing profile, route key); anything longer is no choice.
CHOICE_MAX = 32
# A 0x address with room for pasted surrounding spaces; the form validates it exactly later.
ADDRESS_TEXT_MAX = 64
# Database ids sent back by selects and buttons ("12345").
ID_TEXT_MAX = 12


def clip(value: Any, max_length: int) -> str:
    """`value` as stored in page state: a string of at most `max_length` characters ("" for non-strings)."""
    return value[:max_length] if isinstance(value, str) else ""


def shown(value: Any, max_length: int = 40) -> str:
    """A user-supplied value quoted in an error message, clipped so the message stays small."""
    return repr(clip(value, max_length))
