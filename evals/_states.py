"""Expected end states of scenarios, and how far a trial's end state is from one.

The seed's state is read once per run. A scenario's expected state is its expected actions
replayed on a fresh copy, kept as the records that differ from the seed; a trial's end state
is read only for the tables its writes touched (every other table is still the seed's). So
a trial that wrote nothing costs no read at all, and one that did costs a read of the few
tables it wrote.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from evals._scenario import Scenario
from evals._sources import (
    SeedDatabases,
    StateDigest,
    StateRows,
    expected_state,
    read_state,
    rows_diff,
    state_digest,
    track_writes,
)
from tools import SqlBackend, ToolContext, ToolRegistry

__all__ = ["ExpectedState", "StateKeeper"]

_Records = dict[str, list[tuple[Any, ...]] | None]
"""Records of one table by id; ``None``: the record is absent."""


@dataclass(frozen=True)
class _SeedState:
    digest: StateDigest
    rows: StateRows


@dataclass(frozen=True)
class ExpectedState:
    """A scenario's expected end state.

    Attributes:
        digest: Every business table's digest.
        changes: Per table, the records that differ from the seed (``None``: deleted).
        customer_id: Whom the scenario's facts identify (the replay acts as them).
        errors: Expected actions that failed when replayed.
    """

    digest: StateDigest
    changes: dict[str, _Records] = field(default_factory=dict)
    customer_id: str | None = None
    errors: list[str] = field(default_factory=list)


def find_customer(backend: SqlBackend, registry: ToolRegistry, scenario: Scenario) -> str | None:
    """The customer the scenario's identity facts name, looked up as the agent would."""
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


def _changed(before: StateRows, after: StateRows) -> dict[str, _Records]:
    changes: dict[str, _Records] = {}
    for table, records in after.items():
        seed = before[table]
        differing: _Records = {
            key: records.get(key)
            for key in set(records) | set(seed)
            if records.get(key) != seed.get(key)
        }
        if differing:
            changes[table] = differing
    return changes


class StateKeeper:
    """Seed states and expected states for a run (thread-safe; each computed once).

    Args:
        seeds: The seed databases.
        registry: The domain's tools (the replay runs them).
    """

    def __init__(self, seeds: SeedDatabases, registry: ToolRegistry) -> None:
        self.seeds = seeds
        self.registry = registry
        self._writes = frozenset(registry.write_tools())
        self._seed_states: dict[str, _SeedState] = {}
        self._expected: dict[str, ExpectedState] = {}
        self._lock = threading.Lock()

    def _seed(self, seed: str) -> _SeedState:
        with self._lock:
            if seed not in self._seed_states:
                backend, discard = self.seeds.open_copy(seed)
                try:
                    self._seed_states[seed] = _SeedState(*read_state(backend))
                finally:
                    discard()
            return self._seed_states[seed]

    def expected(self, scenario: Scenario) -> ExpectedState:
        """The scenario's expected end state (replayed the first time, then kept)."""
        found = self._expected.get(scenario.id)
        if found is not None:
            return found
        seed = self._seed(scenario.seed)
        if not any(a.name in self._writes for a in scenario.expect.actions):
            found = ExpectedState(seed.digest)
        else:
            backend, discard = self.seeds.open_copy(scenario.seed)
            try:
                written = track_writes(backend)
                customer = find_customer(backend, self.registry, scenario)
                errors = expected_state(
                    backend,
                    scenario.expect.actions,
                    self.registry,
                    self.seeds.clock(scenario.seed),
                    customer,
                )
                digest, rows = read_state(backend, written & set(seed.digest))
            finally:
                discard()
            found = ExpectedState(
                {**seed.digest, **digest}, _changed(seed.rows, rows), customer, errors
            )
        self._expected[scenario.id] = found
        return found

    def diff(
        self, scenario: Scenario, backend: SqlBackend, written: set[str]
    ) -> dict[str, dict[str, Any]]:
        """Records in which ``backend`` differs from the expected state (empty: equal).

        Args:
            scenario: Whose expected state to compare with.
            backend: The trial's database.
            written: The tables written on it (see :func:`evals._sources.track_writes`).
        """
        seed = self._seed(scenario.seed)
        want = self.expected(scenario)
        touched = written & set(seed.digest)
        actual = {**seed.digest, **state_digest(backend, touched)} if touched else seed.digest
        if actual == want.digest:
            return {}
        tables = [t for t in seed.digest if actual[t] != want.digest[t]]
        read = read_state(backend, touched & set(tables))[1] if touched else {}
        expected_rows: StateRows = {}
        actual_rows: StateRows = {}
        for table in tables:
            merged = {**seed.rows[table], **want.changes.get(table, {})}
            expected_rows[table] = {k: v for k, v in merged.items() if v is not None}
            actual_rows[table] = read.get(table, seed.rows[table])
        return rows_diff(expected_rows, actual_rows)
