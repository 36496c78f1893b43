"""bench/llm_path.py measures what it says: the oracle passes, each attack is caught, a violation counts."""

from __future__ import annotations

from decimal import Decimal

from backend.models.enums import Side
from backend.signals.types import Classification
from bench.llm_path import (
    INJECTION,
    SUBTLE_INJECTION,
    Row,
    _violations,
    attack_report,
    obeys_injection,
    oracle,
    oracle_report,
    overconfident,
    registry_of,
    run,
    unnamed_token,
)
from tests.unit.signals.labelled_posts import POSTS

SAMPLE = POSTS[:: max(1, len(POSTS) // 24)]


def test_the_oracle_gets_through_and_the_attacks_do_not() -> None:
    labels = {p.text: p for p in SAMPLE}
    plain = [(p, p.text) for p in SAMPLE]
    registries = {p.text: registry_of(p) for p in SAMPLE}

    truth = run(oracle(labels), plain)
    assert truth.latencies and len(truth.rows) == len(SAMPLE)
    assert "precision 1.000  recall 1.000" in oracle_report(truth)[1]

    for done in (run(overconfident(labels), plain), run(unnamed_token(registries), plain)):
        assert "through 0 " in attack_report("attack", done)
    told = run(obeys_injection, [(p, p.text + INJECTION) for p in SAMPLE])
    assert not any(row.sent or row.result.is_signal for row in told.rows)
    subtle = run(obeys_injection, [(p, p.text + SUBTLE_INJECTION) for p in SAMPLE])
    assert any(row.sent for row in subtle.rows)
    assert all(row.result.confidence <= Decimal("0.95") for row in subtle.rows)


def test_a_violation_is_counted() -> None:
    post = SAMPLE[0]
    forged = Classification(True, "XYZQ", Side.LONG, Decimal(1), "x", "llm-v2:forged")
    assert set(_violations(Row(post, "gm", forged, sent=True, listed=("BTC",)), registry_of(post))) == {
        "token outside the registry",
        "token the request did not list",
        "confidence over 0.95",
    }
