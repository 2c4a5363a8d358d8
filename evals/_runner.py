"""Run scenarios against the agent: every scenario K times, each trial on fresh data, scored.

A trial opens a fresh copy of the scenario's seed database, builds a :class:`ResolutionAgent`
around the planner under test, and lets the simulated customer talk to it until either side
stops. It is then scored on what matters (see :func:`evals._scoring.score_trial`): the end
state, the outcome, the facts said, forbidden calls, and writes that ran without an allow.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import select

from agents import FrameworkStore, Planner, PlannerInput, Reply, ResolutionAgent, Step
from evals._results import ActualOutcome, TrialResult
from evals._scenario import Scenario
from evals._scoring import TrialRecord, score_trial
from evals._sources import SeedDatabases, track_writes
from evals._states import ExpectedState, StateKeeper
from evals._users import AgentView, make_user, same_call
from policies import CompiledPack
from tools import SqlBackend, ToolRegistry
from tools._sql import IdempotencyRecord

__all__ = ["EvalRunner", "MeteredPlanner", "PlannerFactory", "error_trial"]

PlannerFactory = Callable[[Scenario], Planner]
"""Builds the planner for one trial (the oracle needs the scenario; others ignore it)."""

_OUTCOMES: dict[str, ActualOutcome] = {
    "resolved": "resolved",
    "refused": "refused",
    "escalated": "escalated",
    "awaiting_review": "escalated",
}


class MeteredPlanner:
    """Wraps a planner to add up the model usage its steps report.

    Args:
        inner: The planner under test.
    """

    def __init__(self, inner: Planner) -> None:
        self.inner = inner
        self.name = inner.name
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost_usd = 0.0

    async def plan(self, request: PlannerInput) -> Step:
        """The inner planner's step, its usage counted."""
        step = await self.inner.plan(request)
        if step.usage is not None:
            self.prompt_tokens += step.usage.prompt_tokens
            self.completion_tokens += step.usage.completion_tokens
            self.cost_usd += step.usage.cost_usd
        return step

    def fingerprint(self) -> dict[str, Any]:
        """The inner planner's fingerprint."""
        return self.inner.fingerprint()


def error_trial(
    scenario: Scenario, trial: int, error: str, *, latency_ms: float = 0.0
) -> TrialResult:
    """A trial that could not run to its end (a crash, a lost worker): failed, with why."""
    return TrialResult(
        scenario_id=scenario.id,
        trial=trial,
        tags=list(scenario.tags),
        passed=False,
        outcome="error",
        expected_outcome=scenario.expect.outcome,
        error=error,
        latency_ms=latency_ms,
    )


class _Gates:
    """The three stages' limits: preparing, conversing, scoring (``size`` each)."""

    def __init__(self, size: int) -> None:
        self.prepare = asyncio.Semaphore(size)
        self.talk = asyncio.Semaphore(size)
        self.score = asyncio.Semaphore(size)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a background future's exception as seen (the trial reports it when it awaits)."""
    if not future.cancelled():
        future.exception()


def _violations(backend: SqlBackend, store: FrameworkStore, conversation: str) -> list[str]:
    """Writes applied for the conversation without an ``allow`` decision at their step."""
    prefix = f"{conversation}:"
    keys = backend.read(
        lambda s: [
            (str(k), str(t))
            for k, t in s.execute(
                select(IdempotencyRecord.key, IdempotencyRecord.tool).where(
                    IdempotencyRecord.key.startswith(prefix, autoescape=True)
                )
            )
        ]
    )
    allowed = {
        (int(e["step"]), str(e["tool"]))
        for e in store.audit_events(conversation)
        if e["kind"] == "decision" and e["effect"] == "allow"
    }
    found = []
    for key, tool in keys:
        step_text = key[len(prefix) :]
        step = int(step_text) if step_text.isdigit() else -1
        if (step, tool) not in allowed:
            found.append(f"{tool} ran at step {step_text} without an allow decision")
    return found


class EvalRunner:
    """Runs scenarios with one planner and scores every trial.

    Args:
        planner_factory: Builds the planner for a trial.
        seeds: The seed databases (the runner does not close them).
        store: The framework store the agents write their audit trail to.
        pack: The compiled policy pack.
        registry: The domain's tools.
        run_id: Prefix of the conversation ids.
        trials: Trials per scenario.
        concurrency: Conversations in flight at once (see :meth:`run_jobs`).
        llm_client: ``AsyncOpenAI`` client for ``llm`` users.
        llm_model: Model for ``llm`` users.
        on_trial: Called with each finished trial (progress bars).
        reviewer: ``none`` leaves actions sent for approval waiting (the trial ends
            escalated); ``expected`` plays a reviewer who approves an expected action and
            rejects anything else (τ-bench tasks, whose ground truth includes large refunds).
    """

    def __init__(
        self,
        planner_factory: PlannerFactory,
        *,
        seeds: SeedDatabases,
        store: FrameworkStore,
        pack: CompiledPack,
        registry: ToolRegistry,
        run_id: str,
        trials: int = 1,
        concurrency: int = 4,
        llm_client: Any = None,
        llm_model: str = "",
        on_trial: Callable[[TrialResult], None] | None = None,
        reviewer: Literal["none", "expected"] = "none",
    ) -> None:
        if trials < 1 or concurrency < 1:
            raise ValueError("trials and concurrency are at least 1")
        self.planner_factory = planner_factory
        self.seeds = seeds
        self.store = store
        self.pack = pack
        self.registry = registry
        self.run_id = run_id
        self.trials = trials
        self.concurrency = concurrency
        self.llm_client = llm_client
        self.llm_model = llm_model
        self.on_trial = on_trial
        self.reviewer = reviewer
        self.states = StateKeeper(seeds, registry)
        # One in-memory checkpointer for the run (each trial is its own thread, deleted when
        # the trial ends), so the compiled graph is shared too.
        self._checkpoints = InMemorySaver()

    def expected(self, scenario: Scenario) -> ExpectedState:
        """The scenario's expected end state (replayed once, then kept)."""
        return self.states.expected(scenario)

    # -- trials ------------------------------------------------------------------------------
    async def run(self, scenarios: Sequence[Scenario]) -> list[TrialResult]:
        """Run every scenario ``trials`` times; results in scenario then trial order."""
        jobs = [(s, n) for s in scenarios for n in range(self.trials)]
        order = {(s.id, n): i for i, (s, n) in enumerate(jobs)}
        queue = iter(jobs)
        results: list[TrialResult | None] = [None] * len(jobs)

        async def next_job() -> tuple[Scenario, int] | None:
            return next(queue, None)

        def keep(result: TrialResult) -> None:
            results[order[(result.scenario_id, result.trial)]] = result

        await self.run_jobs(next_job, keep)
        return [r for r in results if r is not None]

    async def run_jobs(
        self,
        next_job: Callable[[], Awaitable[tuple[Scenario, int] | None]],
        emit: Callable[[TrialResult], None],
    ) -> None:
        """Run trials as ``next_job`` hands them out (``None``: no more), in three stages.

        At most ``concurrency`` conversations are in flight (each holds at most one model
        call at a time), while up to ``concurrency`` further trials get their fresh copy and
        expected state ready and up to ``concurrency`` finished ones are scored, so that
        preparing and scoring (CPU and disk work) never hold a conversation slot.
        """
        gates = _Gates(self.concurrency)

        async def worker() -> None:
            while (job := await next_job()) is not None:
                result = await self.run_trial(job[0], job[1], gates)
                if self.on_trial is not None:
                    self.on_trial(result)
                emit(result)

        await asyncio.gather(*(worker() for _ in range(3 * self.concurrency)))

    async def run_trial(
        self, scenario: Scenario, number: int, gates: _Gates | None = None
    ) -> TrialResult:
        """One conversation, scored; a crash becomes an ``error`` trial, never an exception.

        Copying the seed, replaying the expected actions and comparing states run in
        threads, beside the conversation, so other trials' turns (and model calls) go on.
        """
        gates = gates or _Gates(1)
        began = time.perf_counter()
        discard: Callable[[], None] | None = None
        expected: asyncio.Future[ExpectedState] | None = None
        talking = False
        try:
            async with gates.prepare:
                backend, discard = await asyncio.to_thread(self.seeds.open_copy, scenario.seed)
                written = track_writes(backend)
                expected = asyncio.ensure_future(asyncio.to_thread(self.expected, scenario))
                expected.add_done_callback(_retrieve)
                await gates.talk.acquire()
                talking = True
            record = await self._converse(scenario, number, backend)
            gates.talk.release()
            talking = False
            async with gates.score:
                await expected
                await asyncio.to_thread(self._score_state, scenario, backend, written, record)
            record.latency_ms = (time.perf_counter() - began) * 1000
            return score_trial(scenario, number, record)
        except Exception as error:  # a broken trial is a result, not a crash
            return error_trial(
                scenario,
                number,
                f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=4)}",
                latency_ms=(time.perf_counter() - began) * 1000,
            )
        finally:
            if talking:
                gates.talk.release()
            self._checkpoints.delete_thread(f"eval:{self.run_id}:{scenario.id}:{number}")
            if expected is not None and not expected.done():
                await asyncio.wait([expected])  # its thread reads the seed templates
            if discard is not None:
                await asyncio.to_thread(discard)

    def _score_state(
        self, scenario: Scenario, backend: SqlBackend, written: set[str], record: TrialRecord
    ) -> None:
        """Fill in the state diff, setup errors and violations of a finished conversation."""
        record.state_diff = self.states.diff(scenario, backend, written)
        # τ-bench's ground truth holds calls that fail by design (state unchanged).
        errors = self.expected(scenario).errors
        record.setup_errors = errors if scenario.seed != "taubench" else []
        record.violations = _violations(backend, self.store, record.conversation_id)

    async def _review(
        self, agent: ResolutionAgent, scenario: Scenario, reply: Reply, record: TrialRecord
    ) -> Reply:
        """Record the turn's messages; play the reviewer when one is configured."""
        record.transcript.extend({"role": "agent", "text": t} for t in reply.messages)
        while self.reviewer == "expected" and reply.review_id is not None:
            state = await agent.state(reply.conversation_id)
            pending: dict[str, Any] = dict(state.get("pending") or {})
            name, args = str(pending.get("name")), dict(pending.get("args") or {})
            wanted = any(same_call(name, args, e) for e in scenario.expect.actions)
            verdict: Literal["approve", "reject"] = "approve" if wanted else "reject"
            record.transcript.append({"role": "reviewer", "text": f"{verdict} {name}"})
            reply = await agent.decide(
                reply.review_id,
                verdict,
                reviewer="eval:expected-actions",
                reason="" if wanted else "not an expected action",
            )
            record.transcript.extend({"role": "agent", "text": t} for t in reply.messages)
        return reply

    async def _converse(self, scenario: Scenario, number: int, backend: SqlBackend) -> TrialRecord:
        planner = MeteredPlanner(self.planner_factory(scenario))
        agent = ResolutionAgent(
            backend=backend,
            planner=planner,
            store=self.store,
            checkpointer=self._checkpoints,
            registry=self.registry,
            pack=self.pack,
            clock=self.seeds.clock(scenario.seed),
        )
        conversation = f"eval:{self.run_id}:{scenario.id}:{number}"
        user = make_user(scenario, llm_client=self.llm_client, llm_model=self.llm_model)
        record = TrialRecord(conversation_id=conversation)
        message: str | None = user.opening()
        status = "active"
        while message is not None:
            record.transcript.append({"role": "customer", "text": message})
            began = time.perf_counter()
            reply = await agent.send(conversation, message)
            reply = await self._review(agent, scenario, reply, record)
            record.turn_latencies_ms.append((time.perf_counter() - began) * 1000)
            status = reply.status
            state = await agent.state(conversation)
            proposal = state.get("proposal") or {}
            wants = proposal.get("wants", []) if proposal.get("kind") == "ask" else []
            pending = state.get("pending") if status == "awaiting_confirmation" else None
            view = AgentView(
                text=reply.text,
                status=status,
                wants=tuple(str(w) for w in wants),
                pending=dict(pending) if pending else None,
            )
            message = await user.respond(view)
        final = await agent.state(conversation)
        record.outcome = _OUTCOMES.get(status, "incomplete")
        record.actions = [
            {"name": e.get("name"), "args": e.get("args"), "ok": bool(e.get("ok"))}
            for e in final.get("trace", [])
            if e.get("kind") == "tool"
        ]
        record.prompt_tokens = planner.prompt_tokens
        record.completion_tokens = planner.completion_tokens
        record.cost_usd = planner.cost_usd
        usage = getattr(user, "usage", None)
        if usage:
            record.prompt_tokens += int(usage.get("prompt_tokens", 0))
            record.completion_tokens += int(usage.get("completion_tokens", 0))
        return record
