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


class ReplayReport(BaseModel):
    """The result of replaying a list of tasks (what ``--json`` prints)."""

    split: str
    tasks: int
    replayed: int
    errors: list[ActionError] = Field(default_factory=list)
    state_hashes: dict[str, str] = Field(default_factory=dict)


@dataclass
class TaskOutcome:
    """One task's replay: its errors, final state hash and the records that changed."""

    index: int
    state_hash: str
    errors: list[ActionError]
    final_state: TaubenchData
    results: list[Any] = field(default_factory=list)


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
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        db_base: str | Path | None = None,
        registry: ToolRegistry | None = None,
    ) -> None:
        self.initial = read_taubench_dir(data_dir)
        self.registry = registry or retail_registry()
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
            for step, action in enumerate(task.actions):
                key = f"taubench:{split}:{index}:{step}"
                result = self.registry.invoke(action.name, action.kwargs, ctx.with_key(key))
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
        finally:
            backend.dispose()
            self._copies.discard(url)
        return TaskOutcome(
            index=index,
            state_hash=state_hash(final),
            errors=errors,
            final_state=final,
            results=results,
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
        folder = Path(export_states) if export_states is not None else None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        for index, task in enumerate(tasks):
            outcome = self.replay_task(index, task, split=split)
            report.replayed += 1
            report.errors.extend(outcome.errors)
            report.state_hashes[str(index)] = outcome.state_hash
            if folder is not None:
                diff = changed_records(self.initial, outcome.final_state)
                path = folder / f"{split}-{index}.json"
                path.write_text(json.dumps(diff, indent=2, sort_keys=True) + "\n")
            if on_task is not None:
                on_task(outcome)
        return report
