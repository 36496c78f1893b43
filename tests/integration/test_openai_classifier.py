"""The OpenAI classifier through the real SDK over real HTTP to a local OpenAI-compatible server."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import SecretStr

from backend.config import Settings
from backend.models.enums import Side
from backend.signals.classifier import (
    ClassifierUnavailable,
    FallbackClassifier,
    OpenAIClassifier,
    RuleClassifier,
    build_classifier,
)
from backend.signals.classifier.llm import (
    EXAMPLES,
    FRAME,
    LLM_VERSION,
    MAX_ANSWER_TOKENS,
    RESPONSE_SCHEMA,
    SYSTEM_PROMPT,
)
from backend.signals.classifier.rules import RULES_NAME
from backend.signals.types import Classifier
from tests.openai_server import OpenAIServer, Reply, answer, completion
from tests.unit.signals.labelled_posts import KNOWN_TOKENS

API_KEY = "sk-test-never-logged-4f9a1c"
MODEL = "test-model"
POST = "$SOL breakout confirmed on the daily. Longing here, target 250"
LLM_NAME = f"{LLM_VERSION}:{MODEL}"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


def _settings(server: OpenAIServer, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "openai_api_key": SecretStr(API_KEY),
        "openai_base_url": server.base_url,
        "openai_model": MODEL,
        "openai_timeout_seconds": 0.5,
        "openai_max_retries": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def classifier(server: OpenAIServer) -> Classifier:
    return build_classifier(_settings(server))


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything logged, SDK debug lines included, so a leaked key or post would show."""
    caplog.set_level(logging.DEBUG)
    return caplog


def _assert_fell_back(result_name: str, reason: str, logs: pytest.LogCaptureFixture) -> None:
    assert result_name == f"{RULES_NAME} ({LLM_VERSION}: {reason})"
    assert len(result_name) <= 64
    warnings = [r for r in logs.records if r.levelno == logging.WARNING]
    assert any(reason in r.getMessage() and RULES_NAME in r.getMessage() for r in warnings)
    assert API_KEY not in logs.text
    assert POST not in logs.text


def test_structured_answer_is_the_classification(
    server: OpenAIServer, classifier: Classifier, logs: pytest.LogCaptureFixture
) -> None:
    server.reply(
        answer(is_signal=True, token="sol", side="long", confidence=0.87, reasoning="Longing, breakout")
    )

    result = classifier.classify(POST, KNOWN_TOKENS)

    assert (result.is_signal, result.token, result.side) == (True, "SOL", Side.LONG)
    assert result.confidence == Decimal("0.75")  # floored onto the tier ladder, the note says from what
    assert result.reasoning == "Longing, breakout [model confidence 0.87, laddered to 0.75]"
    assert result.classifier == LLM_NAME
    assert API_KEY not in logs.text


def test_request_carries_model_schema_key_and_the_named_tokens(
    server: OpenAIServer, classifier: Classifier
) -> None:
    server.reply(answer(is_signal=False, token=None, side=None, confidence=0.1, reasoning="gm"))

    classifier.classify("$SOL and Ethereum both look ready", KNOWN_TOKENS)

    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == MODEL
    assert request.body["max_tokens"] == MAX_ANSWER_TOKENS  # the answer is bounded; a cut-off one falls back
    response_format = request.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"] == RESPONSE_SCHEMA
    assert set(RESPONSE_SCHEMA["required"]) == {"is_signal", "token", "side", "confidence", "reasoning"}
    system, *examples, user = request.body["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert len(examples) == 2 * len(EXAMPLES)
    assert user["role"] == "user" and user["content"].startswith(FRAME)
    sent = json.loads(user["content"].removeprefix(FRAME))
    # Only the symbols the post names, with their names: not the registry.
    assert sent == {
        "post": "$SOL and Ethereum both look ready",
        "tokens": {"SOL": "Solana", "ETH": "Ethereum"},
    }


def test_non_signal_answer_keeps_no_token(server: OpenAIServer, classifier: Classifier) -> None:
    server.reply(answer(is_signal=False, token="ETH", side=None, confidence=0.9, reasoning="a question"))

    result = classifier.classify("Anyone longing $ETH here?", KNOWN_TOKENS)

    assert (result.is_signal, result.token, result.side) == (False, None, None)
    assert result.confidence == 0 and result.reasoning == "a question"
    assert result.classifier == LLM_NAME


def test_registry_name_means_its_symbol(server: OpenAIServer, classifier: Classifier) -> None:
    server.reply(answer(is_signal=True, token="Solana", side="short", confidence=0.6, reasoning="fading"))

    result = classifier.classify("fading Solana here", KNOWN_TOKENS)

    assert (result.is_signal, result.token, result.side) == (True, "SOL", Side.SHORT)


def test_token_outside_registry_is_not_a_signal(server: OpenAIServer, classifier: Classifier) -> None:
    server.reply(answer(is_signal=True, token="PEPE", side="long", confidence=0.9, reasoning="longing $PEPE"))

    result = classifier.classify("$PEPE breakout, longing; $SOL too", KNOWN_TOKENS)

    assert (result.is_signal, result.token, result.side) == (False, None, None)
    assert "$PEPE" in result.reasoning and "not in the token registry" in result.reasoning
    assert result.classifier == LLM_NAME  # the model answered; only its token was refused


def test_malformed_content_falls_back_to_rules(
    server: OpenAIServer, classifier: Classifier, logs: pytest.LogCaptureFixture
) -> None:
    server.reply(Reply(body=completion('{"is_signal": true, "token": "SOL", ')))

    result = classifier.classify(POST, KNOWN_TOKENS)

    rules = RuleClassifier().classify(POST, KNOWN_TOKENS)
    assert (result.is_signal, result.token, result.side, result.confidence) == (
        rules.is_signal,
        rules.token,
        rules.side,
        rules.confidence,
    )
    assert (result.token, result.side) == ("SOL", Side.LONG)
    _assert_fell_back(result.classifier, "malformed JSON", logs)


@pytest.mark.parametrize(
    "content",
    [
        '{"is_signal": "yes", "token": "SOL", "side": "long", "confidence": 0.8, "reasoning": "x"}',
        '{"is_signal": true, "token": "SOL", "side": "up", "confidence": 0.8, "reasoning": "x"}',
        '{"is_signal": true, "token": "SOL", "side": "long", "confidence": 1.7, "reasoning": "x"}',
        '{"is_signal": true, "token": "SOL", "side": "long", "confidence": 0.8}',
        '{"is_signal": true, "token": "SOL", "side": "long", "confidence": 0.8, "reasoning": "x", "x": 1}',
        '["not", "an", "object"]',
    ],
    ids=["string-bool", "bad-side", "confidence-over-1", "missing-field", "extra-field", "array"],
)
def test_schema_mismatch_falls_back(
    server: OpenAIServer, classifier: Classifier, logs: pytest.LogCaptureFixture, content: str
) -> None:
    server.reply(Reply(body=completion(content)))

    result = classifier.classify(POST, KNOWN_TOKENS)

    _assert_fell_back(result.classifier, "schema mismatch", logs)


def test_signal_without_token_is_inconsistent(server: OpenAIServer, classifier: Classifier) -> None:
    server.reply(answer(is_signal=True, token=None, side="long", confidence=0.8, reasoning="bullish"))

    result = classifier.classify(POST, KNOWN_TOKENS)

    assert result.classifier == f"{RULES_NAME} ({LLM_VERSION}: inconsistent output)"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(body=completion(None, refusal="I can't help with that")), "refusal"),
        (Reply(body={**completion("{}"), "choices": []}), "empty choices"),
        (Reply(body=completion("")), "empty content"),
        (Reply(body=completion('{"is_signal": tr', finish_reason="length")), "truncated (length)"),
        (Reply(status=500, body={"error": {"message": "boom", "type": "server_error"}}), "http 500"),
        (Reply(status=429, body={"error": {"message": "slow down", "type": "rate_limit"}}), "rate limited"),
        (Reply(status=401, body={"error": {"message": "bad key", "type": "auth"}}), "http 401"),
    ],
    ids=["refusal", "empty-choices", "empty-content", "truncated", "500", "429", "401"],
)
def test_unusable_answers_fall_back(
    server: OpenAIServer, classifier: Classifier, logs: pytest.LogCaptureFixture, reply: Reply, reason: str
) -> None:
    server.reply(reply)

    result = classifier.classify(POST, KNOWN_TOKENS)

    _assert_fell_back(result.classifier, reason, logs)
    assert len(server.requests) == 1  # max_retries=0: the SDK did not retry


def test_slow_server_times_out_and_falls_back(
    server: OpenAIServer, classifier: Classifier, logs: pytest.LogCaptureFixture
) -> None:
    server.reply(Reply(body=completion("{}"), delay=2.0))

    started = time.monotonic()
    result = classifier.classify(POST, KNOWN_TOKENS)

    assert time.monotonic() - started < 1.5  # the 0.5 s client timeout, not the server's 2 s
    assert (result.token, result.side) == ("SOL", Side.LONG)
    _assert_fell_back(result.classifier, "timeout", logs)


def test_unreachable_server_falls_back(logs: pytest.LogCaptureFixture) -> None:
    with OpenAIServer() as gone:
        settings = _settings(gone)
    classifier = build_classifier(settings)  # the port is closed now

    result = classifier.classify(POST, KNOWN_TOKENS)

    _assert_fell_back(result.classifier, "connection failed", logs)


def test_sdk_retries_as_configured(server: OpenAIServer) -> None:
    fast_retry = {"retry-after-ms": "10"}
    server.reply(
        Reply(status=500, body={"error": {"message": "boom"}}, headers=fast_retry),
        answer(is_signal=True, token="SOL", side="long", confidence=0.8, reasoning="longing"),
    )
    classifier = build_classifier(_settings(server, openai_max_retries=1))

    result = classifier.classify(POST, KNOWN_TOKENS)

    assert len(server.requests) == 2
    assert result.classifier == LLM_NAME


def test_openai_classifier_raises_unavailable_with_cause(server: OpenAIServer) -> None:
    server.reply(Reply(body=completion("not json")))
    classifier = build_classifier(_settings(server))
    assert isinstance(classifier, FallbackClassifier)
    assert isinstance(classifier.primary, OpenAIClassifier)

    with pytest.raises(ClassifierUnavailable) as raised:
        classifier.primary.classify(POST, KNOWN_TOKENS)

    assert raised.value.reason == "malformed JSON"
    assert raised.value.__cause__ is not None


def test_build_without_key_is_rules_only() -> None:
    for key in (None, SecretStr("")):
        classifier = build_classifier(Settings(openai_api_key=key))
        assert isinstance(classifier, RuleClassifier)
        assert classifier.name == RULES_NAME


def test_build_with_key_sends_nothing(server: OpenAIServer) -> None:
    classifier = build_classifier(_settings(server))

    assert isinstance(classifier, FallbackClassifier)
    assert isinstance(classifier.fallback, RuleClassifier)
    assert classifier.name == LLM_NAME
    assert server.requests == []
    assert API_KEY not in repr(_settings(server))


class _Down:
    name = f"{LLM_VERSION}:some-model-with-a-rather-long-name"

    def classify(self, text: str, known_tokens: object) -> object:
        raise ClassifierUnavailable("a reason far longer than a classifier column can hold, " * 3)


def test_fallback_name_stays_within_64_and_closes() -> None:
    result = FallbackClassifier(_Down(), RuleClassifier()).classify(POST, KNOWN_TOKENS)

    assert len(result.classifier) == 64
    assert result.classifier.startswith(f"{RULES_NAME} ({LLM_VERSION}: a reason far longer")
    assert result.classifier.endswith(")")
