"""Scoring one trial on what the conversation achieved, not on its wording."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evals._results import ActualOutcome, TrialResult
from evals._scenario import Scenario

__all__ = ["TrialRecord", "score_trial"]


@dataclass
class TrialRecord:
    """What a trial's conversation left behind, before scoring.

    Attributes:
        conversation_id: The agent conversation.
        outcome: How it ended.
        transcript: Customer and agent messages.
        actions: Tool calls as run (``name``, ``args``, ``ok``).
        state_diff: Records that differ from the expected end state (empty: equal).
        setup_errors: Expected actions that failed to replay (a broken scenario).
        violations: Writes without an allow decision.
        turn_latencies_ms: Wall time per agent turn.
        latency_ms: Wall time of the trial.
        prompt_tokens: Model tokens in.
        completion_tokens: Model tokens out.
        cost_usd: Estimated model cost.
    """

    conversation_id: str
    outcome: ActualOutcome = "incomplete"
    transcript: list[dict[str, str]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    state_diff: dict[str, dict[str, Any]] = field(default_factory=dict)
    setup_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    turn_latencies_ms: list[float] = field(default_factory=list)
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


def score_trial(scenario: Scenario, number: int, record: TrialRecord) -> TrialResult:
    """Check a trial against its scenario's expectations.

    Checks: ``state`` (the end state equals the expected actions' replay), ``outcome``,
    ``must_say`` (each fact in some agent reply, case-insensitive), ``must_not_call`` (no
    forbidden tool ran) and ``policy`` (no write without an allow decision: a hard failure).
    A scenario whose expected actions do not replay cleanly fails with that as its error.
    """
    expect = scenario.expect
    said = "\n".join(m["text"] for m in record.transcript if m["role"] == "agent").lower()
    missing = [fact for fact in expect.must_say if fact.lower() not in said]
    ran = [str(a["name"]) for a in record.actions]
    forbidden = [name for name in expect.must_not_call if name in ran]
    checks = {
        "state": not record.state_diff and not record.setup_errors,
        "outcome": record.outcome == expect.outcome
        or (expect.outcome == "any" and record.outcome != "error"),
        "must_say": not missing,
        "must_not_call": not forbidden,
        "policy": not record.violations,
    }
    error = None
    if record.setup_errors:
        error = "the expected actions do not replay: " + "; ".join(record.setup_errors)
    return TrialResult(
        scenario_id=scenario.id,
        trial=number,
        tags=list(scenario.tags),
        passed=all(checks.values()),
        outcome=record.outcome,
        expected_outcome=expect.outcome,
        checks=checks,
        state_diff=record.state_diff,
        missing_facts=missing,
        forbidden_calls=forbidden,
        violations=record.violations,
        tool_errors=sum(1 for a in record.actions if not a["ok"]),
        turns=sum(1 for m in record.transcript if m["role"] == "customer"),
        tool_calls=len(record.actions),
        prompt_tokens=record.prompt_tokens,
        completion_tokens=record.completion_tokens,
        cost_usd=record.cost_usd,
        latency_ms=record.latency_ms,
        turn_latencies_ms=record.turn_latencies_ms,
        transcript=record.transcript,
        actions=record.actions,
        error=error,
    )
