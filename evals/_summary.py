"""From the trials of one run to its :class:`RunSummary`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from statistics import median
from typing import Any

from evals._results import RunSummary, TagScore, TrialResult
from evals._stats import escalation_scores, pass_hat_k, wilson_interval

__all__ = ["summarize"]


def summarize(
    trials: Sequence[TrialResult],
    *,
    run_id: str,
    created_at: datetime,
    suite: str = "",
    fingerprint: dict[str, Any] | None = None,
) -> RunSummary:
    """Figures of one run.

    Accuracy, tags, violations, escalation and cost figures are taken over trials; ``trials``
    is the largest number of trials any scenario had (K) and pass^k is given for k = 1..K.

    Args:
        trials: Every trial of the run.
        run_id: The run.
        created_at: When it started.
        suite: What ran.
        fingerprint: What the run ran with (planner, model, hashes, code version).

    Returns:
        The summary.

    Raises:
        ValueError: When there are no trials.
    """
    if not trials:
        raise ValueError("cannot summarize a run without trials")
    by_scenario: dict[str, list[bool]] = defaultdict(list)
    by_tag: dict[str, list[bool]] = defaultdict(list)
    for trial in trials:
        by_scenario[trial.scenario_id].append(trial.passed)
        for tag in dict.fromkeys(trial.tags):
            by_tag[tag].append(trial.passed)
    passed = sum(t.passed for t in trials)
    most_trials = max(len(results) for results in by_scenario.values())
    precision, recall = escalation_scores((t.expected_outcome, t.outcome) for t in trials)
    tokens = sum(t.prompt_tokens + t.completion_tokens for t in trials)
    cost = sum(t.cost_usd for t in trials)
    return RunSummary(
        run_id=run_id,
        created_at=created_at,
        suite=suite,
        fingerprint=dict(fingerprint or {}),
        scenarios=len(by_scenario),
        trials=most_trials,
        accuracy=passed / len(trials),
        accuracy_ci=wilson_interval(passed, len(trials)),
        pass_hat_k={str(k): pass_hat_k(by_scenario, k) for k in range(1, most_trials + 1)},
        per_tag={
            tag: TagScore(
                trials=len(results), passed=sum(results), accuracy=sum(results) / len(results)
            )
            for tag, results in sorted(by_tag.items())
        },
        violations=sum(len(t.violations) for t in trials),
        escalation_precision=precision,
        escalation_recall=recall,
        tool_errors=sum(t.tool_errors for t in trials),
        median_turns=float(median(t.turns for t in trials)),
        tokens_per_resolved=tokens / passed if passed else 0.0,
        cost_per_resolved=cost / passed if passed else 0.0,
        latency_p50_ms=float(median(t.latency_ms for t in trials)),
        failed=sorted({t.scenario_id for t in trials if not t.passed}),
    )
