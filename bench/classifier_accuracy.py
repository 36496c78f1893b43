"""Accuracy of the post classifier over the hand-labelled CT posts: precision, recall, F1, per category.

`.venv/bin/python -m bench.classifier_accuracy` measures the rules; `--configured` measures whatever
`build_classifier(get_settings())` gives (the LLM with rules as fallback when OPENAI_API_KEY is set).
`--batches 4 5` limits the per-category table and the list of misses to those batches; `--symbols-only`
reads every post against a registry that names each token by its symbol only, as a venue's listing may.
A hit is a signal on the right token and side; "wrong" is a signal on the wrong token or side, and counts
as both a false positive and a miss. Each post is read against the registry it was labelled with.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Collection, Sequence

from backend.config import get_settings
from backend.signals.classifier import RuleClassifier, build_classifier
from backend.signals.types import Classification, Classifier
from tests.unit.signals.labelled_posts import (
    CATEGORIES,
    POSTS,
    TUNED_BATCHES,
    LabelledPost,
    outcome,
    precision_recall,
)

BATCHES = {
    1: "batch 1 (rules developed on it)",
    2: "batch 2 (10 tokens, written later)",
    3: "batch 3 (10 tokens, written later)",
    4: "batch 4 (40 tokens, written before v2)",
    5: "batch 5 (40 tokens, written after v2)",
    6: "batch 6 (40 tokens, written after v3)",
}
_COLUMNS = ("rows", "tp", "fp", "fn", "wrong", "tn", "prec", "recall", "f1")


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _line(label: str, outcomes: Sequence[str]) -> str:
    """One row of counts; a ratio with nothing under it (no calls, no labelled signals) prints as "-"."""
    precision, recall, c = precision_recall(outcomes)
    called, labelled = c["tp"] + c["fp"] + c["wrong"], c["tp"] + c["fn"] + c["wrong"]
    ratios = [
        f"{precision:.3f}" if called else "-",
        f"{recall:.3f}" if labelled else "-",
        f"{_f1(precision, recall):.3f}" if called and labelled else "-",
    ]
    counts = [len(outcomes), c["tp"], c["fp"], c["fn"], c["wrong"], c["tn"]]
    return f"{label:<40}" + "".join(f"{v:>7}" for v in [*counts, *ratios])


def _expected(post: LabelledPost) -> str:
    return f"{post.side.value} ${post.token}" if post.side else "no signal"


def _got(result: Classification) -> str:
    return f"{result.side.value} ${result.token}" if result.side else "no signal"


def report(classifier: Classifier, batches: Collection[int] = (), *, symbols_only: bool = False) -> str:
    """The figures overall, per batch, for unseen batches and per category; then every miss."""
    results = [(p, classifier.classify(p.text, _registry(p, symbols_only))) for p in POSTS]
    outcomes = [(p, outcome(p, r)) for p, r in results]
    header = f"{'':<40}" + "".join(f"{c:>7}" for c in _COLUMNS)
    lines = [f"classifier: {classifier.name}", header, _line("all", [o for _, o in outcomes]), ""]
    present = sorted({p.batch for p in POSTS})
    for batch in present:
        lines.append(
            _line(BATCHES.get(batch, f"batch {batch}"), [o for p, o in outcomes if p.batch == batch])
        )
    lines.append(_line("batches 2+3", [o for p, o in outcomes if p.batch in (2, 3)]))
    unseen = [b for b in present if b not in TUNED_BATCHES]
    if unseen:
        label = f"unseen by these rules ({'+'.join(map(str, unseen))})"
        lines.append(_line(label, [o for p, o in outcomes if p.batch in unseen]))
    chosen = [(p, r, o) for (p, r), (_, o) in zip(results, outcomes, strict=True) if _chosen(p, batches)]
    scope = f" (batches {', '.join(map(str, sorted(batches)))})" if batches else ""
    lines += ["", f"per category{scope}:"]
    for category in CATEGORIES:
        lines.append(_line(category, [o for p, _, o in chosen if p.category == category]))
    misses = [(p, r) for p, r, o in chosen if o not in ("tp", "tn")]
    lines += ["", f"misclassified{scope} ({len(misses)}):"]
    for post, result in misses:
        lines.append(f"  [{post.category}, batch {post.batch}] {post.text!r}")
        lines.append(f"      expected {_expected(post)}, got {_got(result)}: {result.reasoning}")
    return "\n".join(lines)


def _registry(post: LabelledPost, symbols_only: bool) -> dict[str, str]:
    return {symbol: symbol for symbol in post.registry} if symbols_only else post.registry


def _chosen(post: LabelledPost, batches: Collection[int]) -> bool:
    return not batches or post.batch in batches


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configured", action="store_true", help="measure build_classifier(get_settings()), not the rules"
    )
    parser.add_argument(
        "--batches", type=int, nargs="*", default=[], help="per-category figures and misses for these batches"
    )
    parser.add_argument("--symbols-only", action="store_true", help="a registry of symbols without names")
    args = parser.parse_args(argv)
    classifier = build_classifier(get_settings()) if args.configured else RuleClassifier()
    counts = Counter(p.category for p in POSTS)
    tokens = {p.token for p in POSTS if p.token}
    print(
        f"{len(POSTS)} labelled posts, {sum(p.is_signal for p in POSTS)} signals over {len(tokens)} tokens; "
        f"{dict(counts)}"
    )
    print(report(classifier, args.batches, symbols_only=args.symbols_only))


if __name__ == "__main__":
    main()
