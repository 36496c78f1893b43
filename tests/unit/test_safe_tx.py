"""The SafeTx typed data the Safe page has a wallet sign: the hash the Safe computes, and who signed."""

from __future__ import annotations

import pytest
from eth_account import Account
from safe_eth.safe.safe_tx import SafeTx

from backend.spot.safe_chain import SafeCall, SafeFacts, recover_signer, safe_tx_hash, typed_data

SAFE = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
MODULE = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"


def test_the_typed_data_hashes_as_safe_eth_py_hashes_a_safe_1_4_1_transaction():
    call = SafeCall("set_executor", MODULE, "0xabcd", 7)
    theirs = SafeTx(
        None, SAFE, MODULE, 0, bytes.fromhex("abcd"), 0, 0, 0, 0, None, None,
        safe_nonce=7, safe_version="1.4.1", chain_id=42161,
    )  # fmt: skip

    assert safe_tx_hash(typed_data(call, safe=SAFE, chain_id=42161)) == "0x" + theirs.safe_tx_hash.hex()


def test_a_wallet_signature_recovers_its_signer_whatever_v_it_uses():
    owner = Account.create()
    typed = typed_data(SafeCall("enable_module", SAFE, "0x1234", 0), safe=SAFE, chain_id=42161)
    signature = bytes(Account.sign_typed_data(owner.key, full_message=typed).signature)

    assert recover_signer(typed, "0x" + signature.hex()) == owner.address
    as_recovery_id = signature[:64] + bytes([signature[64] - 27])  # some wallets give v as 0/1
    assert recover_signer(typed, "0x" + as_recovery_id.hex()) == owner.address
    with pytest.raises(ValueError, match="65"):
        recover_signer(typed, "0x1234")


def test_the_module_before_ours_is_what_disable_module_names():
    other = "0x" + "22" * 20
    facts = SafeFacts(SAFE, "1.4.1", (SAFE,), 1, 0, (other, MODULE))
    assert facts.previous_module(MODULE) == other
    assert facts.previous_module(other) == "0x0000000000000000000000000000000000000001"
