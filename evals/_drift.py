"""Drift: did the agent change between two runs, did the customers change between two samples.

:func:`compare_runs` tests a run against a baseline (accuracy, escalation, tool errors,
violations, per tag) and names the scenarios that flipped. :func:`intent_shift` and
:func:`embedding_shift` test whether two samples of customer messages come from the same
population, by intent mix and by embedding distribution; :func:`input_drift` runs both.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency

from evals._results import TrialResult
from evals._stats import proportion_test

__all__ = [
    "EmbeddingShift",
    "InputDrift",
    "IntentShift",
    "MetricChange",
    "RunComparison",
    "compare_runs",
    "embedding_shift",
    "input_drift",
    "intent_shift",
]

Vectors: TypeAlias = npt.NDArray[np.floating[Any]]

_LISTED = 10
"""Scenario ids or fingerprint keys named in a verdict before the rest is only counted."""

_METRICS: dict[str, Callable[[TrialResult], bool]] = {
    "accuracy": lambda t: t.passed,
    "escalation rate": lambda t: t.outcome == "escalated",
    "tool error rate": lambda t: t.tool_errors > 0,
    "violation rate": lambda t: bool(t.violations),
}
"""Each compared metric as the share of trials for which the predicate holds."""


class MetricChange(BaseModel):
    """One share of trials in the baseline and in the current run, tested for a difference.

    Attributes:
        baseline: Share in the baseline (0 when it has no trials).
        current: Share in the current run (0 when it has no trials).
        baseline_trials: Trials it was measured over in the baseline.
        current_trials: Trials it was measured over in the current run.
        delta: ``current - baseline``.
        p_value: Two-sided p-value of the difference.
        method: The test (``fisher``, ``z``, or ``none`` for degenerate counts).
        significant: ``p_value < alpha``.
    """

    baseline: float
    current: float
    baseline_trials: int
    current_trials: int
    delta: float
    p_value: float
    method: str
    significant: bool


class RunComparison(BaseModel):
    """A run against its baseline.

    Attributes:
        alpha: Significance level of every test.
        metrics: ``accuracy``, ``escalation rate``, ``tool error rate`` (share of trials with
            a tool error) and ``violation rate`` (share of trials with a violation).
        per_tag: Accuracy per tag, over every tag of either run.
        flipped_to_fail: Scenarios in both runs that passed by majority in the baseline
            (share of passed trials >= 0.5) and no longer do.
        flipped_to_pass: Scenarios in both runs that failed by majority and now pass.
        flakiness: Per scenario of the current run, ``1 - |2p - 1|`` with ``p`` its share of
            passed trials: 0 when its trials agree, 1 when half of them pass.
        fingerprint_changes: ``{dotted.key: {"baseline": ..., "current": ...}}`` for every
            fingerprint entry that differs (``None`` = absent).
        significant: Some metric, overall or per tag, changed at ``alpha``.
        verdict: The comparison in plain words.
    """

    alpha: float
    metrics: dict[str, MetricChange]
    per_tag: dict[str, MetricChange]
    flipped_to_fail: list[str]
    flipped_to_pass: list[str]
    flakiness: dict[str, float]
    fingerprint_changes: dict[str, dict[str, Any]]
    significant: bool
    verdict: str


class IntentShift(BaseModel):
    """Two samples' intent mixes compared.

    Attributes:
        n_a: Labels in the first sample.
        n_b: Labels in the second sample.
        shares_a: Share of each intent in the first sample.
        shares_b: Share of each intent in the second sample.
        chi2: Chi-square statistic of the test of homogeneity.
        dof: Its degrees of freedom (0 when only one intent occurs).
        p_value: Its p-value (1.0 when only one intent occurs).
        js_distance: Jensen-Shannon distance of the two mixes, base 2 (0 same, 1 disjoint).
        significant: ``p_value < alpha``.
        verdict: The comparison in plain words.
    """

    n_a: int
    n_b: int
    shares_a: dict[str, float]
    shares_b: dict[str, float]
    chi2: float
    dof: int
    p_value: float
    js_distance: float
    significant: bool
    verdict: str


class EmbeddingShift(BaseModel):
    """Two samples' embeddings compared by a kernel two-sample test.

    Attributes:
        n_a: Vectors in the first sample.
        n_b: Vectors in the second sample.
        mmd2: Unbiased squared maximum mean discrepancy, RBF kernel.
        bandwidth: The kernel's length scale: the median pairwise distance of the pooled
            sample.
        p_value: Permutation p-value of ``mmd2``.
        permutations: Permutations drawn.
        significant: ``p_value < alpha``.
        verdict: The comparison in plain words.
    """

    n_a: int
    n_b: int
    mmd2: float
    bandwidth: float
    p_value: float
    permutations: int
    significant: bool
    verdict: str


class InputDrift(BaseModel):
    """Two samples of customer messages compared by intent mix and by embeddings.

    Attributes:
        intents: The intent-mix test.
        embeddings: The embedding test.
        significant: Either test is significant.
        verdict: The comparison in plain words.
    """

    intents: IntentShift
    embeddings: EmbeddingShift
    significant: bool
    verdict: str


def _pct(share: float) -> str:
    return f"{share:.1%}"


def _p(p_value: float) -> str:
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.2g}"


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    rest = len(names) - _LISTED
    return f"{shown} and {rest} more" if rest > 0 else shown


def _change(base: Sequence[bool], curr: Sequence[bool], alpha: float) -> MetricChange:
    test = proportion_test(sum(base), len(base), sum(curr), len(curr))
    return MetricChange(
        baseline=test.p_a,
        current=test.p_b,
        baseline_trials=len(base),
        current_trials=len(curr),
        delta=test.delta,
        p_value=test.p_value,
        method=test.method,
        significant=test.p_value < alpha,
    )


def _describe(name: str, change: MetricChange) -> str:
    if change.delta > 0:
        move = f"rose from {_pct(change.baseline)} to {_pct(change.current)}"
    elif change.delta < 0:
        move = f"fell from {_pct(change.baseline)} to {_pct(change.current)}"
    else:
        move = f"held at {_pct(change.current)}"
    verdict = "significant" if change.significant else "not significant"
    return f"{name} {move} ({_p(change.p_value)}, {verdict})"


def _by_scenario(trials: Sequence[TrialResult]) -> dict[str, list[bool]]:
    results: dict[str, list[bool]] = defaultdict(list)
    for trial in trials:
        results[trial.scenario_id].append(trial.passed)
    return results


def _by_tag(trials: Sequence[TrialResult]) -> dict[str, list[bool]]:
    results: dict[str, list[bool]] = defaultdict(list)
    for trial in trials:
        for tag in dict.fromkeys(trial.tags):
            results[tag].append(trial.passed)
    return results


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _fingerprint_changes(
    baseline: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    old, new = _flatten(baseline), _flatten(current)
    return {
        key: {"baseline": old.get(key), "current": new.get(key)}
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    }


def compare_runs(
    baseline: Sequence[TrialResult],
    current: Sequence[TrialResult],
    *,
    baseline_fingerprint: dict[str, Any],
    current_fingerprint: dict[str, Any],
    alpha: float = 0.05,
) -> RunComparison:
    """Compare a run with its baseline.

    Every metric is a share of trials, tested with :func:`~evals._stats.proportion_test`;
    no correction is made for testing several metrics and tags at once.

    Args:
        baseline: The baseline run's trials.
        current: The current run's trials.
        baseline_fingerprint: What the baseline ran with.
        current_fingerprint: What the current run ran with.
        alpha: Significance level.

    Returns:
        The comparison.

    Raises:
        ValueError: When either run has no trials.
    """
    if not baseline or not current:
        raise ValueError("both runs need trials to be compared")
    metrics = {
        name: _change([hit(t) for t in baseline], [hit(t) for t in current], alpha)
        for name, hit in _METRICS.items()
    }
    base_tags, curr_tags = _by_tag(baseline), _by_tag(current)
    per_tag = {
        tag: _change(base_tags.get(tag, []), curr_tags.get(tag, []), alpha)
        for tag in sorted(base_tags.keys() | curr_tags.keys())
    }
    base_runs, curr_runs = _by_scenario(baseline), _by_scenario(current)
    base_pass = {sid: sum(r) / len(r) >= 0.5 for sid, r in base_runs.items()}
    curr_pass = {sid: sum(r) / len(r) >= 0.5 for sid, r in curr_runs.items()}
    shared = sorted(base_pass.keys() & curr_pass.keys())
    to_fail = [sid for sid in shared if base_pass[sid] and not curr_pass[sid]]
    to_pass = [sid for sid in shared if curr_pass[sid] and not base_pass[sid]]
    flakiness = {
        sid: 1.0 - abs(2.0 * sum(r) / len(r) - 1.0) for sid, r in sorted(curr_runs.items())
    }
    changes = _fingerprint_changes(baseline_fingerprint, current_fingerprint)
    significant = any(c.significant for c in [*metrics.values(), *per_tag.values()])

    parts = [_describe("accuracy", metrics["accuracy"])]
    parts += [_describe(n, c) for n, c in metrics.items() if n != "accuracy" and c.significant]
    parts += [_describe(f"tag {t!r} accuracy", c) for t, c in per_tag.items() if c.significant]
    if to_fail:
        parts.append(f"{len(to_fail)} scenarios flipped to fail: {_listed(to_fail)}")
    if to_pass:
        parts.append(f"{len(to_pass)} scenarios flipped to pass: {_listed(to_pass)}")
    if changes:
        moves = [f"{k} {v['baseline']!r} -> {v['current']!r}" for k, v in changes.items()]
        parts.append(f"fingerprint changed: {_listed(moves)}")
    return RunComparison(
        alpha=alpha,
        metrics=metrics,
        per_tag=per_tag,
        flipped_to_fail=to_fail,
        flipped_to_pass=to_pass,
        flakiness=flakiness,
        fingerprint_changes=changes,
        significant=significant,
        verdict="; ".join(parts),
    )


def _shares(counts: Mapping[str, int], intents: Sequence[str]) -> dict[str, float]:
    total = sum(counts.values())
    return {intent: counts[intent] / total for intent in intents}


def intent_shift(
    labels_a: Sequence[str], labels_b: Sequence[str], alpha: float = 0.05
) -> IntentShift:
    """Test whether two samples have the same intent mix.

    A chi-square test of homogeneity on the intent counts, and the Jensen-Shannon distance of
    the two mixes as the size of the shift.

    Args:
        labels_a: The first sample's intent per message (the reference).
        labels_b: The second sample's intent per message.
        alpha: Significance level.

    Returns:
        The comparison.

    Raises:
        ValueError: When a sample is empty.
    """
    if not labels_a or not labels_b:
        raise ValueError("both samples need labels to be compared")
    counts_a, counts_b = Counter(labels_a), Counter(labels_b)
    intents = sorted(counts_a.keys() | counts_b.keys())
    shares_a, shares_b = _shares(counts_a, intents), _shares(counts_b, intents)
    if len(intents) < 2:
        chi2, dof, p_value, sparse = 0.0, 0, 1.0, False
    else:
        table = np.array([[counts_a[i] for i in intents], [counts_b[i] for i in intents]])
        result = chi2_contingency(table)
        chi2, dof, p_value = float(result.statistic), int(result.dof), float(result.pvalue)
        sparse = bool(np.min(result.expected_freq) < 5)
    js = float(jensenshannon(list(shares_a.values()), list(shares_b.values()), base=2))
    significant = p_value < alpha
    figures = f"chi2={chi2:.1f}, {_p(p_value)}, JS distance {js:.3f}"
    if sparse:
        figures += "; some expected counts below 5, p approximate"
    if significant:
        moved = sorted(intents, key=lambda i: abs(shares_b[i] - shares_a[i]), reverse=True)
        moves = [
            f"{i} {_pct(shares_a[i])} -> {_pct(shares_b[i])}"
            for i in moved[:3]
            if shares_a[i] != shares_b[i]
        ]
        verdict = f"intent mix shifted ({figures}): {', '.join(moves)}"
    else:
        verdict = f"no significant shift in the intent mix ({figures})"
    return IntentShift(
        n_a=len(labels_a),
        n_b=len(labels_b),
        shares_a=shares_a,
        shares_b=shares_b,
        chi2=chi2,
        dof=dof,
        p_value=p_value,
        js_distance=js,
        significant=significant,
        verdict=verdict,
    )


def _rbf_kernel(pooled: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], float]:
    norms = np.einsum("ij,ij->i", pooled, pooled)
    sq_dist = np.maximum(norms[:, None] + norms[None, :] - 2.0 * (pooled @ pooled.T), 0.0)
    np.fill_diagonal(sq_dist, 0.0)
    median = float(np.median(sq_dist[np.triu_indices(len(pooled), k=1)]))
    # Identical points have no scale to take; any positive width gives the same (null) test.
    sigma2 = median if median > 0.0 else 1.0
    return np.exp(-sq_dist / (2.0 * sigma2)), float(np.sqrt(sigma2))


def embedding_shift(
    a: Vectors,
    b: Vectors,
    alpha: float = 0.05,
    permutations: int = 200,
    seed: int = 0,
) -> EmbeddingShift:
    """Test whether two samples of vectors come from the same distribution.

    The unbiased MMD² with an RBF kernel whose length scale is the median pairwise distance
    of the pooled sample, and a permutation p-value: the share of random relabellings of the
    pooled sample (seeded, so deterministic) whose MMD² reaches the observed one.

    Args:
        a: The first sample, one row per vector (the reference).
        b: The second sample, same width.
        alpha: Significance level.
        permutations: Relabellings drawn; the smallest p-value is ``1 / (permutations + 1)``.
        seed: Seed of the permutations.

    Returns:
        The comparison.

    Raises:
        ValueError: When the samples are not 2-D of the same width, have fewer than 2 rows,
            or ``permutations < 1``.
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need two 2-D samples of the same width, got {x.shape} and {y.shape}")
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"need at least 2 vectors per sample, got {m} and {n}")
    if permutations < 1:
        raise ValueError(f"permutations must be at least 1, got {permutations}")
    kernel, bandwidth = _rbf_kernel(np.vstack([x, y]))
    observed = np.zeros(m + n)
    observed[:m] = 1.0
    rng = np.random.default_rng(seed)
    shuffled = rng.permuted(np.tile(observed, (permutations, 1)), axis=1)
    # Row 0 is the observed split, the others the relabellings; s marks sample a.
    s = np.vstack([observed, shuffled])
    row_sums, diag = kernel.sum(axis=1), np.diagonal(kernel)
    xx = np.einsum("pi,pi->p", s @ kernel, s)
    x_all = s @ row_sums
    yy = row_sums.sum() - 2.0 * x_all + xx
    xy = x_all - xx
    diag_x = s @ diag
    diag_y = diag.sum() - diag_x
    mmd2 = (xx - diag_x) / (m * (m - 1)) + (yy - diag_y) / (n * (n - 1)) - 2.0 * xy / (m * n)
    p_value = float((1 + np.count_nonzero(mmd2[1:] >= mmd2[0])) / (1 + permutations))
    significant = p_value < alpha
    figures = f"MMD2={mmd2[0]:.4f}, {_p(p_value)} over {permutations} permutations"
    verdict = (
        f"embedding distribution shifted ({figures})"
        if significant
        else f"no significant shift in the embedding distribution ({figures})"
    )
    return EmbeddingShift(
        n_a=m,
        n_b=n,
        mmd2=float(mmd2[0]),
        bandwidth=bandwidth,
        p_value=p_value,
        permutations=permutations,
        significant=significant,
        verdict=verdict,
    )


def input_drift(
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    *,
    classify: Callable[[str], str],
    embed: Callable[[list[str]], Vectors],
    alpha: float = 0.05,
    permutations: int = 200,
    seed: int = 0,
) -> InputDrift:
    """Test whether two samples of customer messages come from the same population.

    Args:
        texts_a: The reference sample.
        texts_b: The sample to check.
        classify: The intent of one message.
        embed: One vector per message.
        alpha: Significance level of the verdict. Each of the two tests runs at ``alpha / 2``
            (Bonferroni), so two samples of the same population are called drifted at most
            ``alpha`` of the time, not up to twice that.
        permutations: Relabellings of the embedding test.
        seed: Seed of the embedding test.

    Returns:
        Both tests; significant when either is.
    """
    each = alpha / 2
    intents = intent_shift([classify(t) for t in texts_a], [classify(t) for t in texts_b], each)
    embeddings = embedding_shift(
        embed(list(texts_a)), embed(list(texts_b)), each, permutations, seed
    )
    significant = intents.significant or embeddings.significant
    head = "inputs drifted" if significant else "no significant input drift"
    return InputDrift(
        intents=intents,
        embeddings=embeddings,
        significant=significant,
        verdict=f"{head}: {intents.verdict}; {embeddings.verdict}",
    )
