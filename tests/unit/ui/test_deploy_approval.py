"""The approval step's reasons: what the wallet bridge answered, and signatures refused before any request."""

from backend.auth.identity import CurrentUser
from backend.models.enums import Role
from maxxit_ui.state.auth import NO_WALLET
from maxxit_ui.state.deploy_approval import (
    sentence,
    submit_signed_approval,
    submit_signed_builder_fee,
    wallet_reason,
)
from tests.coroutines import run_coroutine


def test_wallet_answers_become_reasons():
    assert wallet_reason({"ok": False, "code": "no_wallet", "error": "x"}, "fallback") == NO_WALLET
    rejected = wallet_reason({"ok": False, "code": "rejected", "error": "User rejected"}, "fallback")
    assert rejected == "You rejected the approval in your wallet, so nothing was approved."
    assert wallet_reason({"ok": False, "code": "failed", "error": "unknown account 0x1"}, "f") == (
        "unknown account 0x1"
    )
    assert wallet_reason({"ok": False, "code": "failed"}, "fallback") == "fallback"
    assert wallet_reason(None, "fallback") == "fallback"
    assert len(wallet_reason({"ok": False, "code": "failed", "error": "x" * 1000}, "f")) == 300


def test_backend_phrases_read_as_sentences():
    assert sentence("signed by 0xA, but the Hyperliquid account is 0xB") == (
        "Signed by 0xA, but the Hyperliquid account is 0xB."
    )
    assert sentence("Already a sentence.") == "Already a sentence."


def test_a_malformed_signature_is_refused_without_touching_anything():
    user = CurrentUser(id=1, address="0x" + "1" * 40, role=Role.TRADER)  # no database: refused before
    for bad in ("", "0x1234", "0x" + "zz" * 65):
        reason = run_coroutine(submit_signed_approval(user, 1, bad, nonce=1, chain=42161))
        assert reason == "The wallet returned an unusable signature."


def test_a_malformed_builder_fee_signature_is_refused_without_touching_anything():
    user = CurrentUser(id=1, address="0x" + "1" * 40, role=Role.TRADER)
    for bad in ("", "0x1234", "0x" + "zz" * 65):
        reason = run_coroutine(submit_signed_builder_fee(user, user.address, bad, nonce=1, chain=42161))
        assert reason == "The wallet returned an unusable signature."
