"""Eval runs fanned out over worker processes: same results, failures reported, nothing lost."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from agents import FrameworkStore
from evals import EvalConfigError, Scenario, TrialResult, load_scenarios, run_eval
from evals._parallel import WorkerOptions, run_in_workers
from policies import PolicyLoadError

SUITE = Path(__file__).resolve().parent.parent / "evals" / "suites" / "retail"


def _some(count: int) -> list[Scenario]:
    """Scenarios of different intents and outcomes, in suite order."""
    scenarios = load_scenarios([SUITE])
    step = len(scenarios) // count
    return scenarios[::step][:count]


def _options(store: Path, **changes: Any) -> WorkerOptions:
    base: dict[str, Any] = {
        "planner": "oracle",
        "model": None,
        "store": str(store),
        "run_id": "parallel-test",
        "trials": 1,
        "concurrency": 2,
        "taubench_data": None,
        "pack": "retail",
        "reviewer": "none",
    }
    return WorkerOptions(**(base | changes))


def _essentials(results: list[TrialResult]) -> list[tuple[Any, ...]]:
    return [(r.scenario_id, r.trial, r.passed, r.outcome, r.state_diff) for r in results]


def test_two_workers_give_the_same_trials_in_the_same_order_as_one(tmp_path: Path) -> None:
    scenarios = _some(12)

    def run(workers: int, name: str) -> list[TrialResult]:
        outcome = asyncio.run(
            run_eval(
                scenarios,
                planner="oracle",
                suite="parallel",
                store=tmp_path / name,
                trials=2,
                concurrency=2,
                workers=workers,
            )
        )
        return outcome.trials

    here, fanned = run(1, "one.db"), run(2, "two.db")
    assert [(r.scenario_id, r.trial) for r in fanned] == [
        (s.id, n) for s in scenarios for n in range(2)
    ]
    assert _essentials(fanned) == _essentials(here)
    assert all(r.passed for r in fanned), [r.error for r in fanned if not r.passed]


def test_progress_is_reported_once_per_trial(tmp_path: Path) -> None:
    scenarios = _some(6)
    seen: list[tuple[str, int]] = []
    store = tmp_path / "runs.db"
    FrameworkStore(store).dispose()
    results = run_in_workers(
        scenarios,
        _options(store, trials=2),
        workers=2,
        on_trial=lambda r: seen.append((r.scenario_id, r.trial)),
    )
    assert sorted(seen) == sorted((r.scenario_id, r.trial) for r in results)
    assert len(seen) == 12


def test_a_worker_that_cannot_start_raises_its_error(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    FrameworkStore(store).dispose()
    with pytest.raises(PolicyLoadError, match="cannot read policy pack"):
        run_in_workers(_some(2), _options(store, pack=str(tmp_path / "nope.yaml")), workers=2)
    with pytest.raises(EvalConfigError, match="unknown planner"):
        run_in_workers(_some(2), _options(store, planner="telepathy"), workers=2)


def test_trials_of_workers_that_die_come_back_as_errors(tmp_path: Path) -> None:
    scenarios = _some(40)
    store = tmp_path / "runs.db"
    FrameworkStore(store).dispose()

    def kill_workers(result: TrialResult) -> None:
        for child in multiprocessing.active_children():
            os.kill(child.pid or 0, signal.SIGKILL)

    results = run_in_workers(scenarios, _options(store), workers=2, on_trial=kill_workers)
    assert [r.scenario_id for r in results] == [s.id for s in scenarios]
    lost = [r for r in results if r.outcome == "error"]
    assert lost, "killing every worker after the first trial must lose some trials"
    assert all("worker process ended early" in (r.error or "") for r in lost)
    assert all(not r.passed for r in lost)
    assert any(r.passed for r in results)
