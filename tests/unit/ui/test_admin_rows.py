"""Admin page helpers: service refusals as sentences, audit details on one short line."""

from backend.auth.errors import LastAdmin
from maxxit_ui.state.admin import compact_details, sentence


def test_service_refusals_read_as_sentences():
    assert sentence(LastAdmin("cannot remove the last admin")) == "Cannot remove the last admin."
    assert sentence(ValueError("Already a sentence.")) == "Already a sentence."
    assert sentence(LastAdmin("")) == "LastAdmin."


def test_details_are_one_line_and_cut():
    shown, full = compact_details({"to": "admin", "from": "trader"})
    assert shown == full == '{"from": "trader", "to": "admin"}'
    shown, full = compact_details({"values": {"name": "x" * 300}}, limit=40)
    assert len(shown) == 40 and shown.endswith("…")
    assert full.startswith('{"values": {"name": "xxx') and len(full) > 300


def test_empty_details_show_a_dash():
    assert compact_details({}) == ("—", "")
