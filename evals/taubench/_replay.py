"""Replay tau-bench ground-truth actions through our adapters, one fresh database per task.

The replay is the external yardstick for the tool layer: the benchmark's own semantics say
which actions fail (a lookup by an unknown email, a refund to a forbidden method...) and what
final state the rest produce. We run each task's actions in order, on a pristine copy of the
benchmark data, and report the errors, a hash of the final state and, on request, the records
that changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evals.taubench._tasks import TaubenchTask
from policies import CompiledPack, ConversationFacts, FactLoader, PolicyEngine, ProposedCall
from tools import ToolContext, ToolRegistry
from tools._provision import DatabaseCopies
from tools.retail import (
    TaubenchData,
    export_taubench,
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    retail_registry,
    state_hash,
)
from tools.retail._schema import retail_metadata
from tools.retail._taubench import canonical_state

__all__ = [
    "REPLAY_CLOCK",
    "ActionError",
    "PolicyHold",
    "ReplayReport",
    "TaskOutcome",
    "TaubenchReplayer",
    "changed_records",
]

REPLAY_CLOCK = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)
"""A fixed "now" for replays, so that timestamps the tools write are deterministic."""


class ActionError(BaseModel):
    """A ground-truth action that our adapter refused."""

    index: int
    step: int
    action: str
    error: str
    code: str


class PolicyHold(BaseModel):
    """A ground-truth action the policy pack did not allow outright."""

    index: int
    step: int
    action: str
    effect: str
    rules: list[str]


class ReplayReport(BaseModel):
    """The result of replaying a list of tasks (what ``--json`` prints).

    ``denied`` and ``approvals`` are present only when a policy pack was applied: ``denied``
    lists the actions that succeed as tool calls yet the pack did not allow (deny, escalate,
    confirm), ``approvals`` those it sends to a reviewer (approve, a business extra).
    """

    split: str
    tasks: int
    replayed: int
    errors: list[ActionError] = Field(default_factory=list)
    state_hashes: dict[str, str] = Field(default_factory=dict)
    denied: list[PolicyHold] | None = None
    approvals: list[PolicyHold] | None = None


@dataclass
class TaskOutcome:
    """One task's replay: its errors, final state hash and the records that changed."""

    index: int
    state_hash: str
    errors: list[ActionError]
    final_state: TaubenchData
    results: list[Any] = field(default_factory=list)
    denied: list[PolicyHold] = field(default_factory=list)
    approvals: list[PolicyHold] = field(default_factory=list)


def changed_records(initial: TaubenchData, final: TaubenchData) -> dict[str, dict[str, Any]]:
    """Return the records of ``final`` that differ from ``initial`` (None for a removed one).

    Records are compared as canonical values (numbers rounded to cents), so that ``51`` and
    ``51.0`` are the same.
    """
    diff: dict[str, dict[str, Any]] = {}
    for table, before in initial.as_dict().items():
        after = final.as_dict()[table]
        changed: dict[str, Any] = {}
        for key in sorted(set(before) | set(after)):
            old, new = before.get(key), after.get(key)
            if canonical_state(old) != canonical_state(new):
                changed[key] = new
        diff[table] = changed
    return diff


class TaubenchReplayer:
    """Replays tau-bench tasks on fresh copies of the benchmark data.

    Args:
        data_dir: The tau-bench retail folder (users.json, orders.json, products.json).
        db_base: Where the copies live: a folder for SQLite files (default: a temporary
            folder) or a ``postgresql://`` server URL.
        registry: The tools to replay through (default: every retail tool).
        policy: A policy pack to evaluate every action with before it runs, in the state the
            replay has reached: the customer authenticated as the task's user, the customer's
            confirmation given. The action runs whatever the decision (the ground truth is
            replayed as is); decisions other than allow are reported.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        db_base: str | Path | None = None,
        registry: ToolRegistry | None = None,
        policy: CompiledPack | None = None,
    ) -> None:
        self.initial = read_taubench_dir(data_dir)
        self.registry = registry or retail_registry()
        self.policy = (
            PolicyEngine(policy, {t.name: t.effect for t in self.registry}) if policy else None
        )
        self._copies = DatabaseCopies(db_base, retail_metadata, prefix="taubench")
        self._copies.prepare(lambda backend: load_taubench(backend, self.initial))

    def close(self) -> None:
        """Delete every database the replayer made."""
        self._copies.close()

    def __enter__(self) -> TaubenchReplayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def replay_task(self, index: int, task: TaubenchTask, *, split: str = "test") -> TaskOutcome:
        """Replay one task's actions in order on a fresh database."""
        url = self._copies.copy()
        backend = open_retail_backend(url, create=False, clock=lambda: REPLAY_CLOCK)
        try:
            ctx = ToolContext(backend=backend, customer_id=task.user_id, clock=lambda: REPLAY_CLOCK)
            errors: list[ActionError] = []
            results: list[Any] = []
            holds: dict[str, list[PolicyHold]] = {"denied": [], "approvals": []}
            taken: list[str] = []
            # Who the conversation has authenticated: the task's user until a lookup in the
            # ground truth finds someone (one tau task names the wrong user_id).
            customer = task.user_id
            for step, action in enumerate(task.actions):
                key = f"taubench:{split}:{index}:{step}"
                if self.policy is not None:
                    hold = self._check(
                        ctx, customer, index, step, action.name, action.kwargs, taken
                    )
                    if hold is not None:
                        holds["approvals" if hold.effect == "approve" else "denied"].append(hold)
                result = self.registry.invoke(action.name, action.kwargs, ctx.with_key(key))
                if result.ok and result.effect == "write":
                    taken.append(action.name)
                if result.ok and action.name.startswith("find_user_id"):
                    customer = result.payload()["user_id"]
                results.append(result.payload())
                if result.error is not None:
                    errors.append(
                        ActionError(
                            index=index,
                            step=step,
                            action=action.name,
                            error=result.error.message,
                            code=result.error.code,
                        )
                    )
            final = export_taubench(backend)
            failed = {(e.index, e.step) for e in errors}
        finally:
            backend.dispose()
            self._copies.discard(url)
        return TaskOutcome(
            index=index,
            state_hash=state_hash(final),
            errors=errors,
            final_state=final,
            results=results,
            denied=[h for h in holds["denied"] if (h.index, h.step) not in failed],
            approvals=holds["approvals"],
        )

    def _check(
        self,
        ctx: ToolContext,
        customer: str,
        index: int,
        step: int,
        name: str,
        kwargs: dict[str, Any],
        taken: list[str],
    ) -> PolicyHold | None:
        assert self.policy is not None
        call = ProposedCall(tool=name, args=kwargs)
        conversation = ConversationFacts(
            id=f"taubench-{index}",
            turn=step + 1,
            confirmed=True,
            actions_taken=list(taken),
            customers_seen=[customer],
        )
        context = FactLoader(self.registry, ctx).build(
            call,
            customer_id=customer,
            conversation=conversation,
            params=self.policy.pack.pack.params,
            now=REPLAY_CLOCK,
        )
        decision = self.policy.evaluate(call, context)
        if decision.allowed:
            return None
        return PolicyHold(
            index=index, step=step, action=name, effect=decision.effect, rules=decision.rule_ids
        )

    def replay(
        self,
        tasks: Sequence[TaubenchTask],
        *,
        split: str,
        export_states: str | Path | None = None,
        on_task: Callable[[TaskOutcome], None] | None = None,
    ) -> ReplayReport:
        """Replay every task; optionally write each task's changed records to a folder.

        Args:
            tasks: The tasks, replayed in order; their list index is the task index.
            split: The split's name, used in the report and the exported file names.
            export_states: Folder for ``<split>-<index>.json`` files of changed records.
            on_task: Called after each task (progress display).
        """
        report = ReplayReport(split=split, tasks=len(tasks), replayed=0)
        if self.policy is not None:
            report.denied, report.approvals = [], []
        folder = Path(export_states) if export_states is not None else None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        for index, task in enumerate(tasks):
            outcome = self.replay_task(index, task, split=split)
            report.replayed += 1
            report.errors.extend(outcome.errors)
            report.state_hashes[str(index)] = outcome.state_hash
            if self.policy is not None:
                report.denied = [*(report.denied or []), *outcome.denied]
                report.approvals = [*(report.approvals or []), *outcome.approvals]
            if folder is not None:
                diff = changed_records(self.initial, outcome.final_state)
                path = folder / f"{split}-{index}.json"
                path.write_text(json.dumps(diff, indent=2, sort_keys=True) + "\n")
            if on_task is not None:
                on_task(outcome)
        return report
