"""What an eval produces: one record per trial, one summary per run."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["ActualOutcome", "RunSummary", "TagScore", "TrialResult"]

ActualOutcome = Literal["resolved", "escalated", "refused", "incomplete", "error"]
"""How a trial's conversation ended: the agent's own outcome, ``incomplete`` when the customer
ran out of turns before the agent set one, ``error`` when the trial itself crashed. A
conversation left waiting for a reviewer counts as ``escalated`` (a person has it)."""


class TrialResult(BaseModel):
    """One scenario run once, scored on its end state.

    Attributes:
        scenario_id: The scenario.
        trial: Trial number, 0-based.
        tags: The scenario's tags.
        passed: Every check held.
        outcome: How the conversation ended.
        expected_outcome: How it should have ended.
        checks: Each check by name (``state``, ``outcome``, ``must_say``, ``must_not_call``,
            ``policy``) and whether it held.
        state_diff: Records that differ from the expected end state:
            ``{table: {record_id: {"expected": ..., "actual": ...}}}`` (``None`` = absent).
        missing_facts: ``must_say`` facts no reply contained.
        forbidden_calls: ``must_not_call`` tools that ran.
        violations: Writes that ran without an ``allow`` decision (a hard failure).
        tool_errors: Tool calls that returned an error.
        turns: Customer messages sent.
        tool_calls: Tool calls run.
        prompt_tokens: Model tokens in (model planners).
        completion_tokens: Model tokens out.
        cost_usd: Estimated model cost.
        latency_ms: Wall time of the whole trial.
        turn_latencies_ms: Wall time of each agent turn.
        transcript: The conversation: ``{"role": "customer"|"agent", "text": ...}``.
        actions: Tool calls as run: ``{"name", "args", "ok"}``.
        error: What went wrong when the trial could not run (``outcome == "error"``).
    """

    scenario_id: str
    trial: int = 0
    tags: list[str] = Field(default_factory=list)
    passed: bool
    outcome: ActualOutcome
    expected_outcome: Literal["resolved", "escalated", "refused", "any"]
    checks: dict[str, bool] = Field(default_factory=dict)
    state_diff: dict[str, dict[str, Any]] = Field(default_factory=dict)
    missing_facts: list[str] = Field(default_factory=list)
    forbidden_calls: list[str] = Field(default_factory=list)
    violations: list[str] = Field(default_factory=list)
    tool_errors: int = 0
    turns: int = 0
    tool_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    turn_latencies_ms: list[float] = Field(default_factory=list)
    transcript: list[dict[str, str]] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None


class TagScore(BaseModel):
    """Accuracy of the trials of one tag."""

    trials: int
    passed: int
    accuracy: float


class RunSummary(BaseModel):
    """The figures of one run (the ``--json`` object is a subset, see :meth:`headline`).

    Attributes:
        run_id: The run.
        created_at: When it started.
        suite: What ran (the suite paths or ``taubench:<split>``).
        fingerprint: planner, model, prompt hash, policy pack version + hash, tool registry
            hash, code version.
        scenarios: Distinct scenarios.
        trials: Trials per scenario (K).
        accuracy: Share of trials that passed.
        accuracy_ci: 95% Wilson interval of ``accuracy``.
        pass_hat_k: τ-bench's pass^k for k = 1..K, keyed by ``str(k)``.
        per_tag: Accuracy per tag.
        violations: Writes without an allow decision, over all trials.
        escalation_precision: Of trials that ended escalated, the share expected to.
        escalation_recall: Of trials expected to end escalated, the share that did.
        tool_errors: Tool calls that returned an error, over all trials.
        median_turns: Median customer messages per trial.
        tokens_per_resolved: Model tokens per passed trial.
        cost_per_resolved: Model cost (USD) per passed trial.
        latency_p50_ms: Median trial wall time.
        failed: Scenarios with at least one failed trial.
    """

    run_id: str
    created_at: datetime
    suite: str = ""
    fingerprint: dict[str, Any] = Field(default_factory=dict)
    scenarios: int
    trials: int
    accuracy: float
    accuracy_ci: tuple[float, float]
    pass_hat_k: dict[str, float]
    per_tag: dict[str, TagScore] = Field(default_factory=dict)
    violations: int = 0
    escalation_precision: float | None = None
    escalation_recall: float | None = None
    tool_errors: int = 0
    median_turns: float = 0.0
    tokens_per_resolved: float = 0.0
    cost_per_resolved: float = 0.0
    latency_p50_ms: float = 0.0
    failed: list[str] = Field(default_factory=list)

    def headline(self) -> dict[str, Any]:
        """The one-line JSON object of ``resolve eval run --json``."""
        return {
            "run_id": self.run_id,
            "scenarios": self.scenarios,
            "trials": self.trials,
            "accuracy": round(self.accuracy, 4),
            "accuracy_ci": [round(self.accuracy_ci[0], 4), round(self.accuracy_ci[1], 4)],
            "pass_hat_k": {k: round(v, 4) for k, v in self.pass_hat_k.items()},
            "violations": self.violations,
            "escalation_precision": self.escalation_precision,
            "escalation_recall": self.escalation_recall,
            "tool_errors": self.tool_errors,
            "failed": self.failed,
        }
