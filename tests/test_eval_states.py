"""Expected states and trial diffs read only what writes touched, and agree with a full read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evals import ExpectedAction, Scenario, load_scenarios
from evals._sources import SeedDatabases, expected_state, state_diff, track_writes
from evals._states import StateKeeper, find_customer
from tools import ToolContext
from tools.retail import retail_registry

SUITE = Path(__file__).resolve().parent.parent / "evals" / "suites" / "retail"
REGISTRY = retail_registry()
ELSEWHERE = {
    "address1": "1 Elsewhere Rd", "address2": "", "city": "Nowhere",
    "state": "NV", "country": "USA", "zip": "89001",
}  # fmt: skip


@pytest.fixture()
def seeds() -> Iterator[SeedDatabases]:
    databases = SeedDatabases()
    yield databases
    databases.close()


def _with_write(name: str) -> Scenario:
    for scenario in load_scenarios([SUITE]):
        if [a.name for a in scenario.expect.actions if a.name == name]:
            return scenario
    raise AssertionError(f"no scenario expects {name}")


def _replayed(seeds: SeedDatabases, scenario: Scenario, actions: list[ExpectedAction]) -> tuple:
    backend, discard = seeds.open_copy(scenario.seed)
    written = track_writes(backend)
    customer = find_customer(backend, REGISTRY, scenario)
    errors = expected_state(backend, actions, REGISTRY, seeds.clock(scenario.seed), customer)
    assert not errors
    return backend, discard, written


def test_track_writes_names_the_tables_a_write_touches_and_nothing_for_reads(
    seeds: SeedDatabases,
) -> None:
    scenario = _with_write("cancel_pending_order")
    backend, discard = seeds.open_copy(scenario.seed)
    try:
        written = track_writes(backend)
        customer = find_customer(backend, REGISTRY, scenario)
        order = scenario.expect.actions[-1].kwargs["order_id"]
        REGISTRY.invoke("get_order_details", {"order_id": order}, ToolContext(backend=backend))
        assert written == set()
        expected_state(backend, scenario.expect.actions, REGISTRY, seeds.clock("demo"), customer)
        assert "orders" in written
        assert "users" not in written
    finally:
        discard()


@pytest.mark.parametrize(
    "tool", ["cancel_pending_order", "modify_pending_order_address", "return_delivered_order_items"]
)
def test_the_keeper_s_diff_equals_a_full_comparison(seeds: SeedDatabases, tool: str) -> None:
    scenario = _with_write(tool)
    keeper = StateKeeper(seeds, REGISTRY)
    want, drop_want, _ = _replayed(seeds, scenario, list(scenario.expect.actions))
    untouched, drop_untouched = seeds.open_copy(scenario.seed)
    same, drop_same, same_written = _replayed(seeds, scenario, list(scenario.expect.actions))
    # A different write: a default-address change the scenario never asked for.
    other, drop_other, other_written = _replayed(
        seeds,
        scenario,
        [
            ExpectedAction(
                name="modify_user_address",
                kwargs={"user_id": keeper.expected(scenario).customer_id, **ELSEWHERE},
            )
        ],
    )
    try:
        assert keeper.diff(scenario, same, same_written) == {}
        full_untouched = state_diff(want, untouched)
        assert full_untouched, "the expected write changes the state"
        assert keeper.diff(scenario, untouched, set()) == full_untouched
        full_other = state_diff(want, other)
        assert "users" in full_other
        assert full_other != full_untouched
        assert keeper.diff(scenario, other, other_written) == full_other
    finally:
        for drop in (drop_want, drop_untouched, drop_same, drop_other):
            drop()
