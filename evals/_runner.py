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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import select

from agents import FrameworkStore, Planner, PlannerInput, Reply, ResolutionAgent, Step
from evals._results import ActualOutcome, TrialResult
from evals._scenario import Scenario
from evals._scoring import TrialRecord, score_trial
from evals._sources import SeedDatabases, StateDigest, expected_state, state_diff, state_digest
from evals._users import AgentView, make_user, same_call
from policies import CompiledPack
from tools import SqlBackend, ToolContext, ToolRegistry
from tools._sql import IdempotencyRecord

__all__ = ["EvalRunner", "MeteredPlanner", "PlannerFactory"]

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


@dataclass
class _Expected:
    digest: StateDigest
    customer_id: str | None
    errors: list[str] = field(default_factory=list)


def _find_customer(backend: SqlBackend, registry: ToolRegistry, scenario: Scenario) -> str | None:
    facts = scenario.user.facts
    ctx = ToolContext(backend=backend)
    if facts.email:
        found = registry.invoke("find_user_id_by_email", {"email": facts.email}, ctx)
    elif facts.first_name and facts.last_name and facts.zip:
        args = {"first_name": facts.first_name, "last_name": facts.last_name, "zip": facts.zip}
        found = registry.invoke("find_user_id_by_name_zip", args, ctx)
    else:
        return None
    return str(found.payload()["user_id"]) if found.ok else None


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
        concurrency: Trials in flight at once.
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
        self._expected: dict[str, _Expected] = {}
        self._seed_digests: dict[str, StateDigest] = {}
        self._untouched_diffs: dict[str, dict[str, dict[str, Any]]] = {}
        # One in-memory checkpointer for the run (each trial is its own thread, deleted when
        # the trial ends), so the compiled graph is shared too.
        self._checkpoints = InMemorySaver()
        self._writes = frozenset(registry.write_tools())

    # -- expected states ---------------------------------------------------------------------
    def _replay(self, scenario: Scenario) -> tuple[SqlBackend, Callable[[], None], _Expected]:
        backend, discard = self.seeds.open_copy(scenario.seed)
        customer = _find_customer(backend, self.registry, scenario)
        errors = expected_state(
            backend,
            scenario.expect.actions,
            self.registry,
            self.seeds.clock(scenario.seed),
            customer,
        )
        return backend, discard, _Expected(state_digest(backend), customer, errors)

    def _seed_digest(self, seed: str) -> StateDigest:
        if seed not in self._seed_digests:
            backend, discard = self.seeds.open_copy(seed)
            try:
                self._seed_digests[seed] = state_digest(backend)
            finally:
                discard()
        return self._seed_digests[seed]

    def expected(self, scenario: Scenario) -> _Expected:
        """The scenario's expected end state (replayed once, then cached)."""
        if scenario.id not in self._expected and not any(
            a.name in self._writes for a in scenario.expect.actions
        ):
            self._expected[scenario.id] = _Expected(self._seed_digest(scenario.seed), None)
        if scenario.id not in self._expected:
            _, discard, found = self._replay(scenario)
            discard()
            self._expected[scenario.id] = found
        return self._expected[scenario.id]

    # -- trials ------------------------------------------------------------------------------
    async def run(self, scenarios: Sequence[Scenario]) -> list[TrialResult]:
        """Run every scenario ``trials`` times; results in scenario then trial order."""
        gate = asyncio.Semaphore(self.concurrency)

        async def bounded(scenario: Scenario, number: int) -> TrialResult:
            async with gate:
                result = await self.run_trial(scenario, number)
            if self.on_trial is not None:
                self.on_trial(result)
            return result

        jobs = [bounded(s, n) for s in scenarios for n in range(self.trials)]
        return list(await asyncio.gather(*jobs))

    async def run_trial(self, scenario: Scenario, number: int) -> TrialResult:
        """One conversation, scored; a crash becomes an ``error`` trial, never an exception.

        Copying the seed and comparing states run in a thread, so that other trials' turns
        (and their model calls) go on meanwhile.
        """
        began = time.perf_counter()
        backend, discard = await asyncio.to_thread(self.seeds.open_copy, scenario.seed)
        try:
            record = await self._converse(scenario, number, backend)
            await asyncio.to_thread(self._score_state, scenario, backend, record)
            record.latency_ms = (time.perf_counter() - began) * 1000
            return score_trial(scenario, number, record)
        except Exception as error:  # a broken trial is a result, not a crash
            return TrialResult(
                scenario_id=scenario.id,
                trial=number,
                tags=list(scenario.tags),
                passed=False,
                outcome="error",
                expected_outcome=scenario.expect.outcome,
                error=f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=4)}",
                latency_ms=(time.perf_counter() - began) * 1000,
            )
        finally:
            self._checkpoints.delete_thread(f"eval:{self.run_id}:{scenario.id}:{number}")
            await asyncio.to_thread(discard)

    def _score_state(self, scenario: Scenario, backend: SqlBackend, record: TrialRecord) -> None:
        """Fill in the state diff, setup errors and violations of a finished conversation."""
        expected = self.expected(scenario)
        wrote = any(a["ok"] and a["name"] in self._writes for a in record.actions)
        # Only writes change the copy: without one it is still the seed's state, and the
        # diff against the expected state is the same for every such trial of the scenario.
        actual = state_digest(backend) if wrote else self._seed_digest(scenario.seed)
        if actual != expected.digest:
            cached = None if wrote else self._untouched_diffs.get(scenario.id)
            if cached is None:
                want, drop, _ = self._replay(scenario)
                try:
                    cached = state_diff(want, backend)
                finally:
                    drop()
                if not wrote:
                    self._untouched_diffs[scenario.id] = cached
            record.state_diff = cached
        # τ-bench's ground truth holds calls that fail by design (state unchanged).
        record.setup_errors = expected.errors if scenario.seed != "taubench" else []
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
