"""Starting data for scenarios, expected end states, and end-state comparison.

Each seed (``demo``: the generated shop; ``taubench``: the public τ-bench retail data) is
prepared once per run as a template database and copied per trial. The expected end state
of a scenario is its expected actions replayed on a fresh copy, with the same fixed clock the
agent runs on, so that both sides write the same timestamps.

Comparison is two-speed: a digest of every business table (primary-key order) settles the
common case where the states are identical; only when a digest differs is the τ-layout
export compared record by record, which is both the verdict and the diff shown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from evals._scenario import ExpectedAction
from evals.errors import EvalConfigError
from evals.taubench._replay import REPLAY_CLOCK
from tools import SqlBackend, ToolContext, ToolRegistry
from tools._provision import DatabaseCopies
from tools.retail import (
    export_taubench,
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    seed_demo,
)
from tools.retail._schema import retail_metadata
from tools.retail._seed import DEMO_NOW
from tools.retail._taubench import canonical_state

__all__ = ["SeedDatabases", "StateDigest", "expected_state", "state_diff", "state_digest"]

StateDigest = dict[str, str]
"""Per business table, a SHA-256 of its rows in primary-key order."""

_SKIP_TABLES = frozenset({"idempotency_records"})


def state_digest(backend: SqlBackend) -> StateDigest:
    """Digest every business table (the idempotency records are bookkeeping, not state).

    Rows are read through the driver's own cursor, as the database stores them: no type
    conversion, so that digesting a thousand orders takes milliseconds.
    """

    def work(session: Any) -> StateDigest:
        digests: StateDigest = {}
        cursor = session.connection().connection.cursor()
        try:
            for table in retail_metadata.sorted_tables:
                if table.name in _SKIP_TABLES:
                    continue
                keys = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
                cursor.execute(f'SELECT * FROM "{table.name}" ORDER BY {keys}')
                rows = cursor.fetchall()
                digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
        finally:
            cursor.close()
        return digests

    result: StateDigest = backend.read(work)
    return result


def state_diff(expected: SqlBackend, actual: SqlBackend) -> dict[str, dict[str, Any]]:
    """Records that differ between two states, in the τ layout: ``{table: {id: {...}}}``.

    Each differing record maps to ``{"expected": ..., "actual": ...}`` (``None`` = absent).
    Numbers compare as cents, so an empty result means the states are equal.
    """
    want, got = export_taubench(expected).as_dict(), export_taubench(actual).as_dict()
    diff: dict[str, dict[str, Any]] = {}
    for table in want:
        before, after = want[table], got.get(table, {})
        changed = {
            key: {"expected": before.get(key), "actual": after.get(key)}
            for key in sorted(set(before) | set(after))
            if canonical_state(before.get(key)) != canonical_state(after.get(key))
        }
        if changed:
            diff[table] = changed
    return diff


@dataclass
class _Seed:
    copies: DatabaseCopies
    clock: Callable[[], datetime]


class SeedDatabases:
    """Template databases per seed, copied fresh for every trial.

    Args:
        base: Where copies live (a folder, default temporary; or a ``postgresql://`` URL).
        taubench_data: The τ-bench retail folder, for scenarios with ``seed: taubench``.
    """

    def __init__(self, base: str | Path | None = None, taubench_data: str | Path | None = None):
        self._base = base
        self._taubench = Path(taubench_data) if taubench_data else None
        self._seeds: dict[str, _Seed] = {}

    def _fill(self, seed: str) -> Callable[[SqlBackend], None]:
        if seed == "demo":

            def fill(backend: SqlBackend) -> None:
                seed_demo(backend)

            return fill
        if seed == "taubench":
            if self._taubench is None:
                raise EvalConfigError("scenarios with seed: taubench need --taubench-data DIR")
            data = read_taubench_dir(self._taubench)
            return lambda backend: load_taubench(backend, data)
        raise EvalConfigError(f"unknown seed {seed!r}")

    def _seed(self, seed: str) -> _Seed:
        if seed not in self._seeds:
            copies = DatabaseCopies(self._base, retail_metadata, prefix=f"eval_{seed}")
            copies.prepare(self._fill(seed))
            clock = DEMO_NOW if seed == "demo" else REPLAY_CLOCK
            self._seeds[seed] = _Seed(copies, lambda: clock)
        return self._seeds[seed]

    def clock(self, seed: str) -> Callable[[], datetime]:
        """The fixed "now" of a seed's data (the agent and the replay both use it)."""
        return self._seed(seed).clock

    def open_copy(self, seed: str) -> tuple[SqlBackend, Callable[[], None]]:
        """A fresh copy of the seed's database and a function that disposes and deletes it."""
        entry = self._seed(seed)
        url = entry.copies.copy()
        backend = open_retail_backend(url, clock=entry.clock, create=False)

        def discard() -> None:
            backend.dispose()
            entry.copies.discard(url)

        return backend, discard

    def close(self) -> None:
        """Delete every template and copy."""
        for entry in self._seeds.values():
            entry.copies.close()
        self._seeds.clear()


def expected_state(
    backend: SqlBackend,
    actions: Sequence[ExpectedAction],
    registry: ToolRegistry,
    clock: Callable[[], datetime],
    customer_id: str | None,
) -> list[str]:
    """Replay the expected actions on ``backend``; return the errors (empty when all ran).

    Reads are skipped (they change nothing). Each write carries a key of its own, as the
    agent's would, so a repeated expected action is applied twice, as intended.
    """
    errors: list[str] = []
    for number, action in enumerate(actions):
        if action.name not in registry:
            errors.append(f"action {number + 1}: unknown tool {action.name!r}")
            continue
        if registry.get(action.name).effect != "write":
            continue
        ctx = ToolContext(
            backend=backend,
            customer_id=customer_id,
            idempotency_key=f"expected:{number}",
            clock=clock,
        )
        result = registry.invoke(action.name, dict(action.kwargs), ctx)
        if not result.ok:
            errors.append(f"action {number + 1} ({action.name}): {result.content()}")
    return errors
