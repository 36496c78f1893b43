"""Admin page helpers: service refusals as sentences, audit details on one short line."""

from datetime import UTC, datetime

from backend.auth.errors import LastAdmin
from backend.monitor.health import RefusedClose
from maxxit_ui.state.admin import compact_details
from maxxit_ui.state.admin_monitor import _attention
from maxxit_ui.state.mixins import sentence


def test_service_refusals_read_as_sentences():
    assert sentence(LastAdmin("cannot remove the last admin")) == "Cannot remove the last admin."
    assert sentence(ValueError("Already a sentence.")) == "Already a sentence."
    assert sentence(LastAdmin("")) == "That was refused."


def test_details_are_one_line_and_cut():
    shown, full = compact_details({"to": "admin", "from": "trader"})
    assert shown == full == '{"from": "trader", "to": "admin"}'
    shown, full = compact_details({"values": {"name": "x" * 300}}, limit=40)
    assert len(shown) == 40 and shown.endswith("…")
    assert full.startswith('{"values": {"name": "xxx') and len(full) > 300


def test_empty_details_show_a_dash():
    assert compact_details({}) == ("—", "")


def test_a_refused_close_needing_attention_reads_position_user_venue_reason_and_attempts():
    row = _attention(
        RefusedClose(
            position_id=12,
            deployment_id=3,
            user_id=5,
            user_address="0x1234567890abcdef1234567890abcdef12345678",
            venue="HYPERLIQUID",
            market="ETH",
            side="long",
            reason="User or API Wallet 0xabc does not exist.",
            attempts=4,
            next_attempt_at=datetime(2026, 12, 6, 12, 0, 40, tzinfo=UTC),
        )
    )
    assert row["position"] == "#12 · ETH LONG · deployment #3"
    assert row["user"].startswith("#5 · 0x1234") and row["user_title"].endswith("5678")
    assert (row["venue"], row["attempts"], row["next_attempt"]) == ("Hyperliquid", "4", "12:00:40 UTC")
    assert row["reason"] == "User or API Wallet 0xabc does not exist."
