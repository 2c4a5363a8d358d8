"""One eval run end to end: scenarios in, trials scored, summary stored.

The CLI (``resolve eval run`` / ``resolve eval taubench``) and the benchmarks call
:func:`run_eval`; everything it needs is an argument, so tests drive it the same way.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from agents import FrameworkStore, HandoffPlanner, Planner
from evals._oracle import OraclePlanner
from evals._parallel import WorkerOptions, run_in_workers
from evals._results import RunSummary, TrialResult
from evals._runner import EvalRunner, PlannerFactory
from evals._runs import RunStore
from evals._scenario import Scenario
from evals._sources import SeedDatabases
from evals._summary import summarize
from evals.errors import EvalConfigError
from policies import CompiledPack, load_pack
from tools import ToolRegistry
from tools.retail import retail_registry

__all__ = ["EvalOutcome", "PlannerName", "code_version", "planner_factory", "run_eval"]

PlannerName = Literal["offline", "openai", "oracle", "handoff"]


def code_version() -> str:
    """The package version, plus the git commit (and ``-dirty``) when run from a checkout."""
    try:
        version = metadata.version("resolve-agents")
    except metadata.PackageNotFoundError:
        version = "unknown"
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+{commit}" if commit else version


def fingerprint(
    planner: dict[str, Any], pack: CompiledPack, registry: ToolRegistry
) -> dict[str, Any]:
    """What a run's results depend on: planner, model, prompt, policy, tools, code."""
    return {
        "planner": planner.get("planner", ""),
        "model": planner.get("model"),
        "prompt_hash": planner.get("prompt_hash"),
        "planner_details": planner,
        "policy_pack": pack.label,
        "policy_hash": pack.digest[:16],
        "tools_hash": registry.fingerprint()[:16],
        "code_version": code_version(),
    }


def planner_factory(
    name: str, *, model: str | None = None
) -> tuple[PlannerFactory, dict[str, Any]]:
    """A planner factory by name, and the planner's fingerprint.

    Args:
        name: ``offline`` (the embedded default), ``openai`` (``OPENAI_BASE_URL`` etc.),
            ``oracle`` (the scenario's expected actions: the harness's self-test) or
            ``handoff`` (escalates everything: a floor).
        model: Model name for ``openai``.

    Raises:
        EvalConfigError: Unknown name, or a planner that cannot be built here.
    """
    if name == "oracle":
        return OraclePlanner, {"planner": "oracle"}
    shared: Planner
    if name == "handoff":
        shared = HandoffPlanner()
    elif name == "offline":
        try:
            from agents.planners.offline import OfflinePlanner
        except ImportError as error:
            raise EvalConfigError(f"the offline planner is not available: {error}") from None
        shared = OfflinePlanner()
    elif name == "openai":
        from agents.planners._openai import OpenAIPlanner

        shared = OpenAIPlanner.from_env(model)
    else:
        raise EvalConfigError(f"unknown planner {name!r} (offline, openai, oracle, handoff)")

    def factory(_: Scenario) -> Planner:
        return shared

    return factory, shared.fingerprint()


async def _run_here(scenarios: Sequence[Scenario], runner: EvalRunner) -> list[TrialResult]:
    try:
        return await runner.run(scenarios)
    finally:
        runner.seeds.close()
        runner.store.dispose()


@dataclass
class EvalOutcome:
    """A finished run: its summary and every trial."""

    summary: RunSummary
    trials: list[TrialResult]


async def run_eval(
    scenarios: Sequence[Scenario],
    *,
    planner: str,
    suite: str,
    store: str | Path,
    trials: int = 1,
    concurrency: int = 4,
    model: str | None = None,
    taubench_data: str | Path | None = None,
    db_base: str | Path | None = None,
    pack: str | Path = "retail",
    factory: tuple[PlannerFactory, dict[str, Any]] | None = None,
    llm_client: Any = None,
    llm_model: str = "",
    on_trial: Callable[[TrialResult], None] | None = None,
    save: bool = True,
    reviewer: Literal["none", "expected"] = "none",
    workers: int = 1,
) -> EvalOutcome:
    """Run every scenario ``trials`` times with a planner; score, summarise and store.

    Args:
        scenarios: What to run.
        planner: The planner's name (see :func:`planner_factory`).
        suite: A label for the run (the suite paths).
        store: The framework store (runs and the agents' audit trail go there).
        trials: Trials per scenario.
        concurrency: Conversations in flight at once (per worker process).
        model: Model for the ``openai`` planner.
        taubench_data: τ-bench retail folder for ``seed: taubench`` scenarios.
        db_base: Where trial databases live (folder or ``postgresql://`` URL).
        pack: Policy pack name or YAML path.
        factory: A ready planner factory and fingerprint (instead of ``planner``'s).
        llm_client: ``AsyncOpenAI`` client for ``llm`` users.
        llm_model: Model for ``llm`` users.
        on_trial: Called after each trial (progress).
        save: Store the run in the runs store.
        reviewer: ``expected`` approves expected actions sent for approval (see
            :class:`EvalRunner`).
        workers: Processes to spread the trials over (named planners only; ``1`` runs
            in this process).

    Raises:
        EvalConfigError: No scenarios, or a planner/data problem.
    """
    if not scenarios:
        raise EvalConfigError("no scenarios to run")
    registry = retail_registry()
    compiled = load_pack(pack, known_tools={t.name: t.effect for t in registry})
    make, planner_print = factory or planner_factory(planner, model=model)
    run_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    created = datetime.now(UTC)
    if workers > 1 and factory is None and llm_client is None and db_base is None:
        options = WorkerOptions(
            planner=planner,
            model=model,
            store=str(store),
            run_id=run_id,
            trials=trials,
            concurrency=concurrency,
            taubench_data=str(taubench_data) if taubench_data else None,
            pack=str(pack),
            reviewer=reviewer,
        )
        FrameworkStore(store).dispose()  # create the tables once, before the workers race
        results = run_in_workers(scenarios, options, workers=workers, on_trial=on_trial)
    else:
        results = await _run_here(
            scenarios,
            EvalRunner(
                make,
                seeds=SeedDatabases(db_base, taubench_data),
                store=FrameworkStore(store),
                pack=compiled,
                registry=registry,
                run_id=run_id,
                trials=trials,
                concurrency=concurrency,
                llm_client=llm_client,
                llm_model=llm_model,
                on_trial=on_trial,
                reviewer=reviewer,
            ),
        )
    summary = summarize(
        results,
        run_id=run_id,
        created_at=created,
        suite=suite,
        fingerprint=fingerprint(planner_print, compiled, registry),
    )
    if save:
        runs = RunStore(store)
        try:
            runs.save(summary, results)
        finally:
            runs.dispose()
    return EvalOutcome(summary, results)
