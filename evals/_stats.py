"""The statistics of an eval run: intervals, pass^k, escalation scores, proportion tests.

Pure functions over plain counts, so that the summary and the drift report share one
definition of each figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from math import comb
from typing import Literal

from pydantic import BaseModel, ConfigDict
from scipy.stats import fisher_exact
from statsmodels.stats.proportion import (
    proportion_confint,
    proportions_ztest,
)

__all__ = [
    "ProportionTest",
    "escalation_scores",
    "pass_hat_k",
    "proportion_test",
    "wilson_interval",
]

_MIN_EXPECTED = 5
"""Below this expected cell count the z-test's normal approximation is not trusted."""


def _check_count(successes: int, n: int) -> None:
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion.

    Args:
        successes: Trials that passed.
        n: All trials.
        confidence: Coverage of the interval, between 0 and 1.

    Returns:
        ``(low, high)``; ``(0.0, 1.0)`` when there are no trials.

    Raises:
        ValueError: When the counts or the confidence are out of range.
    """
    _check_count(successes, n)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if n == 0:
        return (0.0, 1.0)
    low, high = proportion_confint(successes, n, alpha=1.0 - confidence, method="wilson")
    # At 0 or n successes the bound is exactly 0 or 1; floating point lands a hair inside.
    return (0.0 if successes == 0 else float(low), 1.0 if successes == n else float(high))


def pass_hat_k(outcomes: Mapping[str, Sequence[bool]], k: int) -> float:
    """τ-bench's pass^k: the chance that k trials of a scenario, drawn at random, all pass.

    The unbiased estimator ``C(c, k) / C(n, k)`` per scenario (``n`` trials, ``c`` passed),
    averaged over the scenarios with at least ``k`` trials.

    Args:
        outcomes: Each scenario's trial results.
        k: Trials that must all pass, at least 1.

    Returns:
        The mean over the qualifying scenarios.

    Raises:
        ValueError: When ``k < 1`` or no scenario has ``k`` trials.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    scores = [
        comb(sum(results), k) / comb(len(results), k)
        for results in outcomes.values()
        if len(results) >= k
    ]
    if not scores:
        raise ValueError(f"no scenario has {k} or more trials")
    return sum(scores) / len(scores)


def escalation_scores(pairs: Iterable[tuple[str, str]]) -> tuple[float | None, float | None]:
    """Precision and recall of escalation, escalating being the positive class.

    Args:
        pairs: ``(expected_outcome, actual_outcome)`` per trial.

    Returns:
        ``(precision, recall)``: of the trials that ended escalated, the share expected to; of
        the trials expected to end escalated, the share that did. ``None`` where no trial
        makes up the denominator.
    """
    true_pos = predicted = expected = 0
    for wanted, actual in pairs:
        hit_wanted, hit_actual = wanted == "escalated", actual == "escalated"
        expected += hit_wanted
        predicted += hit_actual
        true_pos += hit_wanted and hit_actual
    precision = true_pos / predicted if predicted else None
    recall = true_pos / expected if expected else None
    return (precision, recall)


class ProportionTest(BaseModel):
    """Two proportions compared by a two-sided test.

    Attributes:
        p_a: The first proportion (baseline); 0 when it has no trials.
        p_b: The second proportion (current); 0 when it has no trials.
        delta: ``p_b - p_a``.
        p_value: Two-sided p-value; 1.0 when the data cannot tell the two apart.
        method: ``fisher`` (Fisher's exact test, used when an expected cell count is below
            5), ``z`` (the pooled two-proportion z-test) or ``none`` (degenerate input: an
            empty sample, or every trial in both samples on the same side).
    """

    model_config = ConfigDict(frozen=True)

    p_a: float
    p_b: float
    delta: float
    p_value: float
    method: Literal["fisher", "z", "none"]


def proportion_test(passed_a: int, n_a: int, passed_b: int, n_b: int) -> ProportionTest:
    """Test whether two proportions differ.

    Args:
        passed_a: Successes in the first sample (the baseline).
        n_a: Size of the first sample.
        passed_b: Successes in the second sample (the current run).
        n_b: Size of the second sample.

    Returns:
        The two proportions, their difference and a two-sided p-value.

    Raises:
        ValueError: When a count is out of range.
    """
    _check_count(passed_a, n_a)
    _check_count(passed_b, n_b)
    p_a = passed_a / n_a if n_a else 0.0
    p_b = passed_b / n_b if n_b else 0.0
    total = n_a + n_b
    passed = passed_a + passed_b
    if n_a == 0 or n_b == 0 or passed in (0, total):
        return ProportionTest(p_a=p_a, p_b=p_b, delta=p_b - p_a, p_value=1.0, method="none")
    expected = [n * col / total for n in (n_a, n_b) for col in (passed, total - passed)]
    if min(expected) < _MIN_EXPECTED:
        table = [[passed_a, n_a - passed_a], [passed_b, n_b - passed_b]]
        _, p_value = fisher_exact(table, alternative="two-sided")
        method: Literal["fisher", "z"] = "fisher"
    else:
        _, p_value = proportions_ztest([passed_b, passed_a], [n_b, n_a])
        method = "z"
    return ProportionTest(
        p_a=p_a, p_b=p_b, delta=p_b - p_a, p_value=min(1.0, float(p_value)), method=method
    )
