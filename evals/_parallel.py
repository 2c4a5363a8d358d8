"""Fan an eval run out over worker processes (the agent's turns are CPU-bound in Python).

Each worker builds its own planner, seed databases and store connection once, then runs
chunks of scenarios; the parent collects the scored trials as chunks finish. Planners are
built by name in the worker, so only named planners (not custom factories) fan out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

from agents import FrameworkStore
from evals._results import TrialResult
from evals._runner import EvalRunner
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


_RUNNER: dict[str, EvalRunner] = {}
_LOOP: dict[str, asyncio.AbstractEventLoop] = {}


def _start(options: WorkerOptions) -> None:
    """Worker initializer: one runner and one event loop per process.

    The loop outlives the chunks: planners hold connections (an ``AsyncOpenAI`` client)
    that belong to the loop they were opened on.
    """
    from evals._harness import planner_factory
    from policies import load_pack
    from tools.retail import retail_registry

    registry = retail_registry()
    factory, _ = planner_factory(options.planner, model=options.model)
    _RUNNER["runner"] = EvalRunner(
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


def _run_chunk(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runner = _RUNNER["runner"]
    scenarios = [Scenario.model_validate(raw) for raw in chunk]
    loop = _LOOP.setdefault("loop", asyncio.new_event_loop())
    results = loop.run_until_complete(runner.run(scenarios))
    return [r.model_dump(mode="json") for r in results]


def run_in_workers(
    scenarios: Sequence[Scenario],
    options: WorkerOptions,
    *,
    workers: int,
    on_trial: Callable[[TrialResult], None] | None = None,
    chunk_size: int | None = None,
) -> list[TrialResult]:
    """Run every scenario's trials across ``workers`` processes; results in scenario order.

    A chunk holds twice as many scenarios as a worker runs at once (at least 4), so that
    every worker stays busy without waiting long for a chunk's slowest trial.
    """
    chunk_size = chunk_size or max(4, 2 * options.concurrency)
    chunks = [
        [s.model_dump(mode="json") for s in scenarios[i : i + chunk_size]]
        for i in range(0, len(scenarios), chunk_size)
    ]
    done: dict[int, list[TrialResult]] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start, initargs=(options,)
    ) as pool:
        pending: dict[Future[list[dict[str, Any]]], int] = {
            pool.submit(_run_chunk, chunk): number for number, chunk in enumerate(chunks)
        }
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                number = pending.pop(future)
                results = [TrialResult.model_validate(r) for r in future.result()]
                done[number] = results
                for result in results:
                    if on_trial is not None:
                        on_trial(result)
    return [trial for number in range(len(chunks)) for trial in done[number]]


def default_workers() -> int:
    """One worker per CPU, at most 8."""
    return max(1, min(8, multiprocessing.cpu_count()))
