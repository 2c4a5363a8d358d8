"""Starting data for scenarios, expected end states, and end-state comparison.

Each seed (``demo``: the generated shop; ``taubench``: the public τ-bench retail data) is
prepared once per run as a template database and copied per trial. The expected end state
of a scenario is its expected actions replayed on a fresh copy, with the same fixed clock the
agent runs on, so that both sides write the same timestamps.

Comparison covers every business table, record by record (rows of payments, items and
scans grouped under their order or shipment, so the order in which writes happened does not
matter). A digest settles the common case where the states are identical; only when it
differs are the records compared one by one for the diff shown.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, Table, event

from evals._scenario import ExpectedAction
from evals.errors import EvalConfigError
from evals.taubench._replay import REPLAY_CLOCK
from tools import SqlBackend, ToolContext, ToolRegistry
from tools._provision import DatabaseCopies
from tools.retail import (
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    seed_demo,
)
from tools.retail._schema import retail_metadata
from tools.retail._seed import DEMO_NOW

__all__ = [
    "SeedDatabases",
    "StateDigest",
    "StateRows",
    "expected_state",
    "read_state",
    "rows_diff",
    "state_diff",
    "state_digest",
    "state_rows",
    "track_writes",
]

StateDigest = dict[str, str]
"""Per business table, a SHA-256 of its rows grouped by record."""

StateRows = dict[str, dict[str, list[tuple[Any, ...]]]]
"""Per business table (``retail_`` dropped), each record's rows, sorted."""

_SKIP_TABLES = frozenset({"idempotency_records"})


def _layout(table: Table) -> tuple[list[Column[Any]], Column[Any]]:
    """The columns compared and the column that names the record a row belongs to.

    Rows with a surrogate integer key (payments, order items, fulfilments, scans) belong to
    their parent (the order, the fulfilment): their own ids depend on the order in which
    writes happened, which is not part of the state.
    """
    keys = list(table.primary_key.columns)
    surrogate = len(keys) == 1 and isinstance(keys[0].type, Integer) and table.foreign_keys
    if surrogate:
        parent = next(iter(table.foreign_keys)).parent
        return [c for c in table.columns if c is not keys[0]], parent
    return list(table.columns), keys[0]


_TableRows = tuple[str, int, list[tuple[Any, ...]]]
"""A business table's short name, the index of its record column, and its rows."""


def _read_tables(backend: SqlBackend, only: Collection[str] | None = None) -> list[_TableRows]:
    """Business tables' compared columns (every table, or those named in ``only``).

    Read through the driver's own cursor. Rows come sorted by the database: by key, or by
    every column for rows grouped under a parent, so that the order in which writes happened
    does not show.
    """

    def work(session: Any) -> list[_TableRows]:
        tables: list[_TableRows] = []
        cursor = session.connection().connection.cursor()
        try:
            for table in retail_metadata.sorted_tables:
                short = table.name.removeprefix("retail_")
                if table.name in _SKIP_TABLES or (only is not None and short not in only):
                    continue
                columns, key = _layout(table)
                names = ", ".join(f'"{c.name}"' for c in columns)
                grouped = key.name not in table.primary_key.columns
                order = names if grouped else f'"{key.name}"'
                cursor.execute(f'SELECT {names} FROM "{table.name}" ORDER BY {order}')
                rows = [tuple(row) for row in cursor.fetchall()]
                tables.append((short, columns.index(key), rows))
        finally:
            cursor.close()
        return tables

    result: list[_TableRows] = backend.read(work)
    return result


def read_state(
    backend: SqlBackend, only: Collection[str] | None = None
) -> tuple[StateDigest, StateRows]:
    """Business tables (all, or those in ``only``) as digests and as records, in one read.

    The records are the whole state of the business systems (shipment destinations and
    carrier scans included, which the τ-bench layout leaves out), keyed so that two databases
    that reached the same state by writes in a different order compare equal; the digests
    are equal exactly when the records are.
    """
    digest: StateDigest = {}
    state: StateRows = {}
    for name, index, rows in _read_tables(backend, only):
        digest[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
        records: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            records.setdefault(str(row[index]), []).append(row)
        state[name] = records
    return digest, state


def state_rows(backend: SqlBackend, only: Collection[str] | None = None) -> StateRows:
    """Business records per table (see :func:`read_state`)."""
    return read_state(backend, only)[1]


def state_digest(backend: SqlBackend, only: Collection[str] | None = None) -> StateDigest:
    """Business tables' digests: equal exactly when :func:`state_rows` is equal."""
    return {
        name: hashlib.sha256(repr(rows).encode()).hexdigest()
        for name, _, rows in _read_tables(backend, only)
    }


_WRITE = re.compile(
    r"^\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|REPLACE\s+INTO)"
    r"\s+\"?(\w+)\"?",
    re.IGNORECASE,
)


def track_writes(backend: SqlBackend) -> set[str]:
    """A live set of the business tables (``retail_`` dropped) written from now on.

    Every statement the backend's engine runs is looked at, so any write through the
    backend (the tools', an expected replay's) names its table; reading the state of only
    those tables then equals reading all of it.
    """
    written: set[str] = set()

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        found = _WRITE.match(statement)
        if found:
            written.add(found.group(1).removeprefix("retail_"))

    event.listen(backend.engine, "before_cursor_execute", note)
    return written


def _columns(table_name: str) -> list[str]:
    table = retail_metadata.tables[f"retail_{table_name}"]
    return [c.name for c in _layout(table)[0]]


def _readable(names: list[str], rows: list[tuple[Any, ...]] | None) -> Any:
    if rows is None:
        return None
    shown = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        for name, value in record.items():
            if isinstance(value, str) and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    record[name] = json.loads(value)
        shown.append(record)
    return shown[0] if len(shown) == 1 else shown


def state_diff(expected: SqlBackend, actual: SqlBackend) -> dict[str, dict[str, Any]]:
    """Records that differ between two databases' states (see :func:`rows_diff`)."""
    return rows_diff(state_rows(expected), state_rows(actual))


def rows_diff(want: StateRows, got: StateRows) -> dict[str, dict[str, Any]]:
    """Records that differ between two states: ``{table: {record id: {...}}}``.

    Each differing record maps to ``{"expected": ..., "actual": ...}`` (``None`` = absent),
    its rows as column -> value (money in cents, as stored). Empty: the states are equal.
    Tables only ``want`` holds are compared.
    """
    diff: dict[str, dict[str, Any]] = {}
    for table in want:
        before, after = want[table], got.get(table, {})
        names = _columns(table)
        changed = {
            key: {
                "expected": _readable(names, before.get(key)),
                "actual": _readable(names, after.get(key)),
            }
            for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key)
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
        self._lock = threading.Lock()  # trials open copies from threads: prepare each once

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
        with self._lock:
            return self._prepared(seed)

    def _prepared(self, seed: str) -> _Seed:
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
