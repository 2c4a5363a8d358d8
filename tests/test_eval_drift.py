"""Drift between runs and between input samples, on planted and on null data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals._drift import (
    EmbeddingShift,
    RunComparison,
    compare_runs,
    embedding_shift,
    input_drift,
    intent_shift,
)
from evals._results import TrialResult

FINGERPRINT = {"planner": "openai", "model": "m-1", "policy": {"version": 3, "hash": "abc"}}


def _trial(sid: str, passed: bool, *, trial: int = 0, **fields: object) -> TrialResult:
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


def _run(failing: set[str], scenarios: int = 200) -> list[TrialResult]:
    ids = [f"s{i:03d}" for i in range(scenarios)]
    return [_trial(sid, sid not in failing, tags=[f"t{i % 4}"]) for i, sid in enumerate(ids)]


PLANTED = {f"s{i:03d}" for i in range(3, 200, 20)}


def test_planted_regression_is_significant() -> None:
    assert len(PLANTED) == 10
    comparison = compare_runs(
        _run(set()),
        _run(PLANTED),
        baseline_fingerprint=FINGERPRINT,
        current_fingerprint=FINGERPRINT,
    )
    accuracy = comparison.metrics["accuracy"]
    assert comparison.significant
    assert accuracy.significant
    assert accuracy.p_value < 0.05
    assert (accuracy.baseline, accuracy.current) == (1.0, 0.95)
    assert accuracy.delta == pytest.approx(-0.05)
    assert comparison.flipped_to_fail == sorted(PLANTED)
    assert comparison.flipped_to_pass == []
    assert comparison.fingerprint_changes == {}
    assert "accuracy fell from 100.0% to 95.0%" in comparison.verdict
    assert "10 scenarios flipped to fail" in comparison.verdict


def test_identical_rerun_is_not_significant() -> None:
    failing = {"s001", "s050", "s123"}
    comparison = compare_runs(
        _run(failing),
        _run(failing),
        baseline_fingerprint=FINGERPRINT,
        current_fingerprint=dict(FINGERPRINT),
    )
    assert not comparison.significant
    assert not any(c.significant for c in comparison.metrics.values())
    assert not any(c.significant for c in comparison.per_tag.values())
    assert comparison.metrics["accuracy"].p_value == pytest.approx(1.0)
    assert comparison.flipped_to_fail == comparison.flipped_to_pass == []
    assert comparison.fingerprint_changes == {}
    assert "not significant" in comparison.verdict


def test_flips_in_both_directions_and_only_shared_scenarios() -> None:
    baseline = [_trial("a", True), _trial("b", False), _trial("c", True), _trial("old", True)]
    current = [_trial("a", False), _trial("b", True), _trial("c", True), _trial("new", False)]
    comparison = compare_runs(baseline, current, baseline_fingerprint={}, current_fingerprint={})
    assert comparison.flipped_to_fail == ["a"]
    baseline = [_trial("b", False, trial=i) for i in range(2)]
    current = [_trial("b", p, trial=i) for i, p in enumerate([False, True])]
    comparison = compare_runs(baseline, current, baseline_fingerprint={}, current_fingerprint={})
    assert comparison.flipped_to_pass == ["b"]
    assert comparison.flipped_to_pass == ["b"]


def test_majority_uses_half_or_more_as_pass() -> None:
    baseline = [_trial("a", p, trial=i) for i, p in enumerate([True, False])]
    current = [_trial("a", p, trial=i) for i, p in enumerate([True, False, False])]
    comparison = compare_runs(baseline, current, baseline_fingerprint={}, current_fingerprint={})
    assert comparison.flipped_to_fail == ["a"]
    baseline = [_trial("b", False, trial=i) for i in range(2)]
    current = [_trial("b", p, trial=i) for i, p in enumerate([False, True])]
    comparison = compare_runs(baseline, current, baseline_fingerprint={}, current_fingerprint={})
    assert comparison.flipped_to_pass == ["b"]


def test_flakiness_per_scenario() -> None:
    results = {"half": [True, False, True, False], "most": [True, True, True, False]}
    results |= {"fail": [False, False], "once": [True]}
    current = [
        _trial(sid, passed, trial=i)
        for sid, outcomes in results.items()
        for i, passed in enumerate(outcomes)
    ]
    comparison = compare_runs(current, current, baseline_fingerprint={}, current_fingerprint={})
    assert comparison.flakiness == pytest.approx(
        {"fail": 0.0, "half": 1.0, "most": 0.5, "once": 0.0}
    )


def test_fingerprint_changes_are_flattened() -> None:
    current = {"planner": "openai", "model": "m-2", "policy": {"version": 4, "hash": "abc"}}
    current["code"] = "1.2.0"
    comparison = compare_runs(
        _run(set(), 20),
        _run(set(), 20),
        baseline_fingerprint=FINGERPRINT,
        current_fingerprint=current,
    )
    assert comparison.fingerprint_changes == {
        "code": {"baseline": None, "current": "1.2.0"},
        "model": {"baseline": "m-1", "current": "m-2"},
        "policy.version": {"baseline": 3, "current": 4},
    }
    assert not comparison.significant
    assert "policy.version 3 -> 4" in comparison.verdict


def test_other_metrics_and_tags_are_tested() -> None:
    baseline = [_trial(f"s{i}", True, tags=["refund" if i < 40 else "other"]) for i in range(200)]
    current = [
        _trial(
            f"s{i}",
            i >= 40,
            tags=["refund" if i < 40 else "other"],
            outcome="escalated" if i < 40 else "resolved",
            tool_errors=1 if i < 40 else 0,
        )
        for i in range(200)
    ]
    comparison = compare_runs(baseline, current, baseline_fingerprint={}, current_fingerprint={})
    assert comparison.metrics["escalation rate"].significant
    assert comparison.metrics["escalation rate"].current == pytest.approx(0.2)
    assert comparison.metrics["tool error rate"].significant
    assert not comparison.metrics["violation rate"].significant
    assert comparison.per_tag["refund"].significant
    assert comparison.per_tag["refund"].current == 0.0
    assert not comparison.per_tag["other"].significant
    assert "tag 'refund' accuracy fell" in comparison.verdict


def test_comparison_round_trips_as_json() -> None:
    comparison = compare_runs(
        _run(set(), 30),
        _run({"s002"}, 30),
        baseline_fingerprint=FINGERPRINT,
        current_fingerprint={**FINGERPRINT, "model": "m-2"},
    )
    assert RunComparison.model_validate_json(comparison.model_dump_json()) == comparison


def test_compare_runs_rejects_an_empty_run() -> None:
    with pytest.raises(ValueError):
        compare_runs([], _run(set(), 5), baseline_fingerprint={}, current_fingerprint={})


def test_intent_shift_flags_a_shifted_mix() -> None:
    a = ["billing"] * 180 + ["shipping"] * 60 + ["returns"] * 60
    b = ["billing"] * 60 + ["shipping"] * 60 + ["returns"] * 180
    shift = intent_shift(a, b)
    assert shift.significant
    assert shift.p_value < 1e-6
    assert shift.dof == 2
    assert shift.shares_a == pytest.approx({"billing": 0.6, "returns": 0.2, "shipping": 0.2})
    assert shift.shares_b == pytest.approx({"billing": 0.2, "returns": 0.6, "shipping": 0.2})
    assert 0.0 < shift.js_distance < 1.0
    assert "billing 60.0% -> 20.0%" in shift.verdict


def test_intent_shift_does_not_flag_a_resample() -> None:
    rng = np.random.default_rng(7)
    intents = np.array(["billing", "shipping", "returns", "account"])
    probs = [0.4, 0.3, 0.2, 0.1]
    a = [str(x) for x in rng.choice(intents, size=300, p=probs)]
    b = [str(x) for x in rng.choice(intents, size=300, p=probs)]
    shift = intent_shift(a, b)
    assert not shift.significant
    assert shift.p_value >= 0.05
    assert shift.js_distance < 0.1


def test_intent_shift_edge_cases() -> None:
    same = intent_shift(["a"] * 5, ["a"] * 8)
    assert (same.p_value, same.dof, same.significant, same.js_distance) == (1.0, 0, False, 0.0)
    disjoint = intent_shift(["a"] * 30, ["b"] * 30)
    assert disjoint.js_distance == pytest.approx(1.0)
    assert disjoint.significant
    with pytest.raises(ValueError):
        intent_shift([], ["a"])


def _mmd2_by_loops(x: np.ndarray, y: np.ndarray) -> float:
    pooled = [*x, *y]
    dists = [
        float(np.sum((p - q) ** 2))
        for i, p in enumerate(pooled)
        for j, q in enumerate(pooled)
        if i < j
    ]
    sigma2 = float(np.median(dists))

    def k(p: np.ndarray, q: np.ndarray) -> float:
        return math.exp(-float(np.sum((p - q) ** 2)) / (2 * sigma2))

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(p, q) for p in x for q in y) / (m * n)
    return xx + yy - 2 * xy


def test_embedding_mmd2_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(7, 4)), rng.normal(0.5, 1.0, size=(5, 4))
    shift = embedding_shift(x, y, permutations=20)
    assert shift.mmd2 == pytest.approx(_mmd2_by_loops(x, y), rel=1e-9, abs=1e-12)


def test_embedding_shift_flags_a_shifted_mean() -> None:
    rng = np.random.default_rng(11)
    a = rng.normal(size=(300, 384)).astype(np.float32)
    b = rng.normal(size=(300, 384)).astype(np.float32) + np.float32(0.15)
    shift = embedding_shift(a, b)
    assert shift.significant
    assert shift.p_value == pytest.approx(1 / 201)
    assert shift.mmd2 > 0


def test_embedding_shift_does_not_flag_the_same_distribution() -> None:
    rng = np.random.default_rng(12)
    a, b = rng.normal(size=(300, 384)), rng.normal(size=(300, 384))
    shift = embedding_shift(a, b)
    assert not shift.significant
    assert shift.p_value >= 0.05
    assert embedding_shift(a, b) == shift  # seeded, so deterministic


def test_embedding_shift_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        embedding_shift(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError):
        embedding_shift(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError):
        embedding_shift(np.zeros(5), np.zeros(5))


def test_input_drift_combines_both_tests() -> None:
    def classify(text: str) -> str:
        return text.split()[0]

    def embed(texts: list[str]) -> np.ndarray:
        rng = np.random.default_rng(len(texts))
        topic = np.array([[1.0 if t.startswith("refund") else 0.0] for t in texts])
        return np.hstack([topic, rng.normal(scale=0.1, size=(len(texts), 3))])

    refunds = [f"refund order {i}" for i in range(60)]
    mixed = [f"{'refund' if i % 2 else 'cancel'} order {i}" for i in range(60)]
    drifted = input_drift(refunds, mixed, classify=classify, embed=embed)
    assert drifted.significant
    assert drifted.intents.significant
    assert drifted.embeddings.significant
    assert drifted.verdict.startswith("inputs drifted")
    steady = input_drift(mixed, list(reversed(mixed)), classify=classify, embed=embed)
    assert not steady.significant
    assert isinstance(steady.embeddings, EmbeddingShift)


def test_input_drift_splits_its_level_between_the_two_tests() -> None:
    # Two tests at alpha each would call a same-population pair drifted up to 2 * alpha of
    # the time: each runs at alpha / 2. A mix shift with 0.01 < p < 0.05 is then not drift.
    def embed(texts: list[str]) -> np.ndarray:
        return np.random.default_rng(len(texts)).normal(size=(len(texts), 3))

    reference = ["refund"] * 50 + ["cancel"] * 50
    current = ["refund"] * 35 + ["cancel"] * 65
    found = input_drift(reference, current, classify=str, embed=embed, alpha=0.05)
    assert 0.025 < found.intents.p_value < 0.05, found.intents.p_value
    assert found.intents.significant is False
    assert found.significant is False
    strict = input_drift(reference, current, classify=str, embed=embed, alpha=0.2)
    assert strict.intents.significant is True
