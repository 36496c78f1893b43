"""Session tokens, the in-memory rate limiter and the secret key: the pieces below the sign-in service."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend.auth import tokens
from backend.auth.errors import InvalidAddress, RateLimited
from backend.auth.identity import normalize_address
from backend.auth.ratelimit import AuthRateLimiter, MemoryCounter
from backend.config import Settings
from backend.secret_key import SecretKeyMissing, derive_key, load_secret_key

KEY = b"k" * 32


def test_token_is_signed_and_its_hash_is_keyed():
    token = tokens.new_token(KEY)
    assert tokens.is_signed(KEY, token)
    assert not tokens.is_signed(b"other" * 8, token)
    assert tokens.token_hash(KEY, token) != tokens.token_hash(b"other" * 8, token)
    assert len(tokens.token_hash(KEY, token)) == 64
    assert token not in tokens.token_hash(KEY, token)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "x",
        lambda t: "A" + t[1:] if t[0] != "A" else "B" + t[1:],
        lambda t: t.split(".")[0],
        lambda t: "." + t.split(".")[1],
        lambda t: "",
        lambda t: t * 5,
    ],
)
def test_mangled_tokens_are_not_signed(mangle):
    assert not tokens.is_signed(KEY, mangle(tokens.new_token(KEY)))


def test_tokens_are_unique():
    assert len({tokens.new_token(KEY) for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "address",
    ["", "0x123", "0xZZ2e4a4b4bd3b4dd00e4d4ecd6d1c0f5c1fd4d41", "a2e4a4b4bd3b4dd00e4d4ecd6d1c0f5c1fd4d41aa"],
)
def test_bad_addresses_are_refused(address):
    with pytest.raises(InvalidAddress):
        normalize_address(address)


def test_addresses_are_lower_cased():
    assert normalize_address(" 0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B ") == (
        "0xab5801a7d398351b8be11c439e05c5b3259aec9b"
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_counts_requests_per_ip_and_resets_with_the_window():
    clock = FakeClock()
    limiter = AuthRateLimiter(MemoryCounter(clock), per_ip=2, per_address=2, window_seconds=60)
    limiter.check(ip="1.1.1.1")
    limiter.check(ip="1.1.1.1")
    with pytest.raises(RateLimited, match="from your network") as raised:
        limiter.check(ip="1.1.1.1")
    assert 1 <= raised.value.retry_after <= 61
    limiter.check(ip="3.3.3.3")  # other clients are unaffected
    clock.now += 60
    limiter.check(ip="1.1.1.1")


def test_limiter_counts_failed_sign_ins_per_ip_and_wallet():
    clock = FakeClock()
    limiter = AuthRateLimiter(MemoryCounter(clock), per_ip=100, per_address=2, window_seconds=60)
    for _ in range(10):  # checking alone spends nothing
        limiter.check_failures(ip="1.1.1.1", address="0xA")
    limiter.record_failure(ip="1.1.1.1", address="0xA")
    limiter.record_failure(ip="1.1.1.1", address="0xa")  # the same wallet whatever the casing
    with pytest.raises(RateLimited, match="failed sign-ins for this wallet") as raised:
        limiter.check_failures(ip="1.1.1.1", address="0xA")
    assert 1 <= raised.value.retry_after <= 61
    limiter.check_failures(ip="2.2.2.2", address="0xA")  # the owner on another network is not locked out
    limiter.check_failures(ip="1.1.1.1", address="0xB")
    clock.now += 60
    limiter.check_failures(ip="1.1.1.1", address="0xA")


def test_prod_refuses_to_start_without_a_secret_key(tmp_path: Path):
    with pytest.raises(SecretKeyMissing, match="required"):
        load_secret_key(Settings(env="prod"), dev_key_file=tmp_path / "k")
    with pytest.raises(SecretKeyMissing, match="at least 32"):
        load_secret_key(Settings(maxxit_secret_key="short"), dev_key_file=tmp_path / "k")


def test_dev_key_is_created_once_and_private(tmp_path: Path):
    path = tmp_path / "data" / "secret_key"
    first = load_secret_key(Settings(), dev_key_file=path)
    assert load_secret_key(Settings(), dev_key_file=path) == first
    assert len(first) >= 32
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_derived_keys_differ_by_purpose():
    settings = Settings(maxxit_secret_key="s" * 40)
    assert derive_key(settings, "session-token") != derive_key(settings, "wallet-keys")
    assert len(derive_key(settings, "session-token")) == 32
