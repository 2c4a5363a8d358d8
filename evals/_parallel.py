"""Fan an eval run out over worker processes (the agent's turns are CPU-bound in Python).

Each worker builds its own planner, seed databases and store connection once, then takes
trials one at a time from a shared queue and sends each scored trial back as it finishes.
Planners are built by name in the worker, so only named planners (not custom factories)
fan out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Any, Literal

from agents import FrameworkStore
from evals._results import TrialResult
from evals._runner import EvalRunner, error_trial
from evals._scenario import Scenario
from evals._sources import SeedDatabases

__all__ = ["WorkerOptions", "default_workers", "run_in_workers"]


@dataclass(frozen=True)
class WorkerOptions:
    """What every worker needs to build its own runner (all picklable)."""

    planner: str
    model: str | None
    store: str
    run_id: str
    trials: int
    concurrency: int
    taubench_data: str | None
    pack: str
    reviewer: Literal["none", "expected"]


def _build_runner(options: WorkerOptions) -> EvalRunner:
    from evals._harness import planner_factory
    from policies import load_pack
    from tools.retail import retail_registry

    registry = retail_registry()
    factory, _ = planner_factory(options.planner, model=options.model)
    return EvalRunner(
        factory,
        seeds=SeedDatabases(None, options.taubench_data),
        store=FrameworkStore(options.store),
        pack=load_pack(options.pack, known_tools={t.name: t.effect for t in registry}),
        registry=registry,
        run_id=options.run_id,
        trials=options.trials,
        concurrency=options.concurrency,
        reviewer=options.reviewer,
    )


def _worker(
    options: WorkerOptions, raw: list[dict[str, Any]], jobs: Queue[Any], results: Queue[Any]
) -> None:
    """A worker process: build a runner, run the jobs it takes, send back each trial.

    Jobs are ``(scenario index, trial)`` pairs taken one at a time from the shared queue
    (``None``: no more), so a worker that finishes early takes more work and no worker waits
    on another's slow trial. A failure to start is sent back as ``("failed", error)``.
    """
    try:
        runner = _build_runner(options)
        scenarios = [Scenario.model_validate(r) for r in raw]
    except Exception as error:
        results.put(("failed", _picklable(error)))
        return
    reader = ThreadPoolExecutor(max_workers=1)  # the only thread that blocks on the queue

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def next_job() -> tuple[Scenario, int] | None:
            job = await loop.run_in_executor(reader, jobs.get)
            return None if job is None else (scenarios[job[0]], job[1])

        def emit(result: TrialResult) -> None:
            results.put(("trial", result.model_dump(mode="json")))

        await runner.run_jobs(next_job, emit)

    try:
        asyncio.run(main())
    finally:
        reader.shutdown(wait=False)
        runner.seeds.close()
        runner.store.dispose()


def _picklable(error: Exception) -> Exception:
    try:
        pickle.dumps(error)
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def run_in_workers(
    scenarios: Sequence[Scenario],
    options: WorkerOptions,
    *,
    workers: int,
    on_trial: Callable[[TrialResult], None] | None = None,
) -> list[TrialResult]:
    """Run every scenario's trials across ``workers`` processes; results in scenario order.

    Every trial is one job on a shared queue; each worker keeps ``3 * concurrency`` trials
    going (see :meth:`EvalRunner.run_jobs`) and sends each back as it finishes, so progress
    is per trial. A worker that dies takes its unfinished trials with it: they come back
    as ``error`` trials naming the exit code, and the run goes on.

    Raises:
        Exception: What a worker raised while starting (a bad pack, missing data).
    """
    context = multiprocessing.get_context("spawn")
    jobs: Queue[Any] = context.Queue()
    results: Queue[Any] = context.Queue()
    order = [(s, n) for s in scenarios for n in range(options.trials)]
    index = {s.id: i for i, s in enumerate(scenarios)}
    for scenario, trial in order:
        jobs.put((index[scenario.id], trial))
    pullers = 3 * options.concurrency
    for _ in range(workers * pullers):
        jobs.put(None)
    raw = [s.model_dump(mode="json") for s in scenarios]
    processes = [
        context.Process(target=_worker, args=(options, raw, jobs, results), daemon=True)
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    done: dict[tuple[str, int], TrialResult] = {}
    try:
        while len(done) < len(order):
            try:
                kind, payload = results.get(timeout=0.5)
            except queue.Empty:
                if any(p.is_alive() for p in processes):
                    continue
                break  # every worker is gone: what is missing is lost
            if kind == "failed":
                raise payload
            result = TrialResult.model_validate(payload)
            done[(result.scenario_id, result.trial)] = result
            if on_trial is not None:
                on_trial(result)
    finally:
        jobs.cancel_join_thread()  # jobs left behind (a failed start) must not hold us up
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
    codes = ", ".join(str(p.exitcode) for p in processes)
    return [
        done.get((s.id, n))
        or error_trial(s, n, f"a worker process ended early (exit codes {codes})")
        for s, n in order
    ]


def default_workers() -> int:
    """One worker per CPU, at most 8."""
    return max(1, min(8, multiprocessing.cpu_count()))
