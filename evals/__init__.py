"""The eval harness: scenarios, simulated customers, state-based scoring, runs, reports, drift.

Run a suite with :func:`run_eval` (or ``resolve eval run``); every trial is scored on the end
state of the business database against the replay of the scenario's expected actions.
"""

from evals._drift import (
    EmbeddingShift,
    InputDrift,
    IntentShift,
    MetricChange,
    RunComparison,
    compare_runs,
    embedding_shift,
    input_drift,
    intent_shift,
)
from evals._harness import EvalOutcome, planner_factory, run_eval
from evals._oracle import OraclePlanner
from evals._report import ReportFiles, write_report
from evals._results import RunSummary, TagScore, TrialResult
from evals._runner import EvalRunner
from evals._runs import RunStore
from evals._scenario import (
    Expectation,
    ExpectedAction,
    Facts,
    Scenario,
    UserSpec,
    load_scenarios,
)
from evals._stats import escalation_scores, pass_hat_k, proportion_test, wilson_interval
from evals._summary import summarize
from evals._users import AgentView, LlmUser, PersonaUser, ScriptedUser, SimulatedUser
from evals.errors import EvalConfigError, EvalError

__all__ = [
    "AgentView",
    "EmbeddingShift",
    "EvalConfigError",
    "EvalError",
    "EvalOutcome",
    "EvalRunner",
    "ExpectedAction",
    "Expectation",
    "Facts",
    "InputDrift",
    "IntentShift",
    "LlmUser",
    "MetricChange",
    "OraclePlanner",
    "PersonaUser",
    "ReportFiles",
    "RunComparison",
    "RunStore",
    "RunSummary",
    "Scenario",
    "ScriptedUser",
    "SimulatedUser",
    "TagScore",
    "TrialResult",
    "UserSpec",
    "compare_runs",
    "embedding_shift",
    "escalation_scores",
    "input_drift",
    "intent_shift",
    "load_scenarios",
    "pass_hat_k",
    "planner_factory",
    "proportion_test",
    "run_eval",
    "summarize",
    "wilson_interval",
    "write_report",
]
