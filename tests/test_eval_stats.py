"""Eval statistics and the run summary, checked against hand computations."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from itertools import combinations
from statistics import NormalDist

import pytest

from evals._results import TagScore, TrialResult
from evals._stats import escalation_scores, pass_hat_k, proportion_test, wilson_interval
from evals._summary import summarize


def _wilson_by_hand(successes: int, n: int, confidence: float) -> tuple[float, float]:
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half, centre + half)


@pytest.mark.parametrize(
    ("successes", "n", "confidence"),
    [(81, 263, 0.95), (0, 10, 0.95), (10, 10, 0.95), (7, 20, 0.9), (1, 3, 0.99)],
)
def test_wilson_interval_matches_the_formula(successes: int, n: int, confidence: float) -> None:
    low, high = wilson_interval(successes, n, confidence)
    want_low, want_high = _wilson_by_hand(successes, n, confidence)
    assert low == pytest.approx(want_low, abs=1e-9)
    assert high == pytest.approx(want_high, abs=1e-9)
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_wilson_interval_published_values() -> None:
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)


def test_wilson_interval_without_trials_and_bad_input() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, confidence=1.0)


def _pass_hat_k_by_enumeration(outcomes: dict[str, list[bool]], k: int) -> float:
    scores = []
    for results in outcomes.values():
        if len(results) < k:
            continue
        draws = list(combinations(results, k))
        scores.append(sum(all(d) for d in draws) / len(draws))
    return sum(scores) / len(scores)


def test_pass_hat_k_hand_computed() -> None:
    outcomes = {"A": [True, False, True, False], "B": [True] * 4}
    assert pass_hat_k(outcomes, 1) == pytest.approx((0.5 + 1) / 2)
    assert pass_hat_k(outcomes, 2) == pytest.approx((1 / 6 + 1) / 2)
    assert pass_hat_k(outcomes, 3) == pytest.approx((0 + 1) / 2)
    assert pass_hat_k(outcomes, 4) == pytest.approx((0 + 1) / 2)


def test_pass_hat_k_skips_scenarios_with_too_few_trials() -> None:
    outcomes = {"A": [True, True, True, False], "B": [False, True], "C": [False]}
    assert pass_hat_k(outcomes, 1) == pytest.approx((0.75 + 0.5 + 0.0) / 3)
    assert pass_hat_k(outcomes, 2) == pytest.approx((0.5 + 0.0) / 2)
    assert pass_hat_k(outcomes, 3) == pytest.approx(0.25)
    for k in range(1, 5):
        assert pass_hat_k(outcomes, k) == pytest.approx(_pass_hat_k_by_enumeration(outcomes, k))


def test_pass_hat_k_rejects_bad_k() -> None:
    outcomes = {"A": [True, False]}
    with pytest.raises(ValueError):
        pass_hat_k(outcomes, 0)
    with pytest.raises(ValueError):
        pass_hat_k(outcomes, 3)
    with pytest.raises(ValueError):
        pass_hat_k({}, 1)


def test_escalation_scores() -> None:
    pairs = [
        ("escalated", "escalated"),  # TP
        ("escalated", "escalated"),  # TP
        ("escalated", "resolved"),  # FN
        ("resolved", "escalated"),  # FP
        ("refused", "escalated"),  # FP
        ("resolved", "resolved"),
        ("refused", "incomplete"),
    ]
    precision, recall = escalation_scores(pairs)
    assert precision == pytest.approx(2 / 4)
    assert recall == pytest.approx(2 / 3)


def test_escalation_scores_without_denominators() -> None:
    assert escalation_scores([("resolved", "resolved")]) == (None, None)
    assert escalation_scores([("escalated", "resolved")]) == (None, 0.0)
    assert escalation_scores([("resolved", "escalated")]) == (0.0, None)
    assert escalation_scores([]) == (None, None)


def test_proportion_test_uses_fisher_on_small_counts() -> None:
    # 3/3 vs 0/3: of the C(6, 3) = 20 tables with these margins, the two extremes are as
    # unlikely as the one seen, so the two-sided exact p-value is 2 / 20.
    test = proportion_test(3, 3, 0, 3)
    assert test.method == "fisher"
    assert test.p_value == pytest.approx(0.1)
    assert test.delta == pytest.approx(-1.0)


def test_proportion_test_uses_the_z_test_on_large_counts() -> None:
    test = proportion_test(200, 200, 190, 200)
    pooled = 390 / 400
    z = (0.95 - 1.0) / math.sqrt(pooled * (1 - pooled) * (1 / 200 + 1 / 200))
    assert test.method == "z"
    assert test.p_value == pytest.approx(2 * NormalDist().cdf(-abs(z)))
    assert test.p_value < 0.05
    assert (test.p_a, test.p_b) == (1.0, 0.95)
    assert test.delta == pytest.approx(-0.05)


@pytest.mark.parametrize(
    ("passed_a", "n_a", "passed_b", "n_b"),
    [(50, 50, 70, 70), (0, 40, 0, 40), (0, 0, 3, 5), (4, 5, 0, 0), (120, 200, 120, 200)],
)
def test_proportion_test_degenerate_and_identical(
    passed_a: int, n_a: int, passed_b: int, n_b: int
) -> None:
    assert proportion_test(passed_a, n_a, passed_b, n_b).p_value == pytest.approx(1.0)


def test_proportion_test_rejects_bad_counts() -> None:
    with pytest.raises(ValueError):
        proportion_test(5, 4, 1, 1)
    with pytest.raises(ValueError):
        proportion_test(-1, 4, 1, 1)


def _trial(sid: str, trial: int, passed: bool, **fields: object) -> TrialResult:
    return TrialResult.model_validate(
        {
            "scenario_id": sid,
            "trial": trial,
            "passed": passed,
            "outcome": "resolved",
            "expected_outcome": "resolved",
            **fields,
        }
    )


def test_summarize_small_run() -> None:
    trials = [
        _trial("s1", 0, True, tags=["refund"], turns=3, prompt_tokens=100, completion_tokens=20,
               cost_usd=0.01, latency_ms=100.0),
        _trial("s1", 1, True, tags=["refund"], turns=5, prompt_tokens=100, completion_tokens=20,
               cost_usd=0.01, latency_ms=300.0),
        _trial("s2", 0, True, tags=["refund", "exchange"], turns=4, tool_errors=1,
               outcome="escalated", expected_outcome="escalated", prompt_tokens=50,
               cost_usd=0.02, latency_ms=200.0),
        _trial("s2", 1, False, tags=["refund", "exchange"], turns=6, tool_errors=2,
               violations=["cancel_order"], prompt_tokens=50, cost_usd=0.02, latency_ms=400.0),
        _trial("s3", 0, False, tags=["exchange"], turns=2, outcome="escalated",
               violations=["a", "b"], prompt_tokens=60, latency_ms=1000.0),
    ]  # fmt: skip
    created = datetime(2025, 1, 2, tzinfo=UTC)
    summary = summarize(
        trials, run_id="r1", created_at=created, suite="suite.yaml", fingerprint={"model": "m"}
    )
    assert summary.run_id == "r1"
    assert summary.created_at == created
    assert summary.suite == "suite.yaml"
    assert summary.fingerprint == {"model": "m"}
    assert summary.scenarios == 3
    assert summary.trials == 2
    assert summary.accuracy == pytest.approx(3 / 5)
    assert summary.accuracy_ci == pytest.approx(_wilson_by_hand(3, 5, 0.95))
    assert summary.pass_hat_k.keys() == {"1", "2"}
    assert summary.pass_hat_k["1"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert summary.pass_hat_k["2"] == pytest.approx((1 + 0) / 2)
    assert summary.per_tag == {
        "exchange": TagScore(trials=3, passed=1, accuracy=1 / 3),
        "refund": TagScore(trials=4, passed=3, accuracy=3 / 4),
    }
    assert summary.violations == 3
    # Escalated: s2#0 (expected), s3#0 (not expected); expected escalated: s2#0 only.
    assert summary.escalation_precision == pytest.approx(1 / 2)
    assert summary.escalation_recall == pytest.approx(1.0)
    assert summary.tool_errors == 3
    assert summary.median_turns == 4.0
    assert summary.tokens_per_resolved == pytest.approx((120 + 120 + 50 + 50 + 60) / 3)
    assert summary.cost_per_resolved == pytest.approx(0.06 / 3)
    assert summary.latency_p50_ms == 300.0
    assert summary.failed == ["s2", "s3"]


def test_summarize_when_nothing_passed() -> None:
    trials = [_trial("a", 0, False, prompt_tokens=10, cost_usd=1.0, turns=1, latency_ms=5.0)]
    summary = summarize(trials, run_id="r", created_at=datetime(2025, 1, 1, tzinfo=UTC))
    assert summary.accuracy == 0.0
    assert summary.tokens_per_resolved == 0.0
    assert summary.cost_per_resolved == 0.0
    assert summary.escalation_precision is None
    assert summary.escalation_recall is None
    assert summary.failed == ["a"]
    assert summary.fingerprint == {}


def test_summarize_rejects_an_empty_run() -> None:
    with pytest.raises(ValueError):
        summarize([], run_id="r", created_at=datetime(2025, 1, 1, tzinfo=UTC))
