"""tau-bench retail: every task's ground truth replays through our adapters.

Checked against an independent in-memory reading of the benchmark's semantics
(``tests/taubench_reference.py``): same failing actions with the same kind of error, same
final state, for all 635 tasks. The test split's failing actions are also pinned by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.taubench import TaubenchReplayer, changed_records, load_tasks
from tests import taubench_reference as reference
from tools.retail import (
    TaubenchData,
    export_taubench,
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    state_hash,
)

CHUNK = 50
SPLIT_SIZES = {"test": 115, "train": 500, "dev": 20}

# (task index, action position, action, error kind) of every ground-truth action of the test
# split that fails in the benchmark by design (the task then goes on with a corrected call or
# another way to the goal).
TEST_SPLIT_FAILURES = [
    (2, 1, "get_product_details", "product_not_found"),  # an item id given as a product id
    (3, 1, "get_product_details", "product_not_found"),
    (4, 1, "get_product_details", "product_not_found"),
    (
        12,
        4,
        "return_delivered_order_items",
        "payment_method_not_allowed",
    ),  # refund to a card not on the order
    (13, 4, "return_delivered_order_items", "payment_method_not_allowed"),
    (21, 5, "get_product_details", "product_not_found"),
    (21, 6, "get_product_details", "product_not_found"),
    (21, 8, "get_product_details", "product_not_found"),
    (35, 0, "find_user_id_by_email", "user_not_found"),  # an email that is not on file
    (36, 0, "find_user_id_by_email", "user_not_found"),
    (37, 0, "find_user_id_by_email", "user_not_found"),
    (38, 0, "find_user_id_by_email", "user_not_found"),
    (39, 0, "find_user_id_by_name_zip", "user_not_found"),  # a zip that is not on file
    (46, 1, "get_order_details", "order_not_found"),  # an order id without its "W"
    (46, 2, "get_order_details", "order_not_found"),
    (47, 1, "get_order_details", "order_not_found"),
    (47, 2, "get_order_details", "order_not_found"),
    (54, 0, "find_user_id_by_email", "user_not_found"),
    (55, 0, "find_user_id_by_email", "user_not_found"),
    (64, 6, "exchange_delivered_order_items", "not_delivered"),  # an exchange on a pending order
    (67, 0, "find_user_id_by_name_zip", "user_not_found"),
    (67, 1, "find_user_id_by_name_zip", "user_not_found"),
    (68, 0, "find_user_id_by_name_zip", "user_not_found"),
    (106, 0, "exchange_delivered_order_items", "insufficient_gift_card_balance"),
]


def _rounded(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return round(float(value), 2)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return [_rounded(item) for item in value]


@pytest.fixture(scope="module")
def replayer(taubench_retail_dir: Path):
    with TaubenchReplayer(taubench_retail_dir) as instance:
        yield instance


@pytest.fixture(scope="module")
def pristine(taubench_retail_dir: Path) -> str:
    return json.dumps(read_taubench_dir(taubench_retail_dir).as_dict())


def _chunks() -> list[tuple[str, int]]:
    return [
        (split, start) for split, size in SPLIT_SIZES.items() for start in range(0, size, CHUNK)
    ]


@pytest.mark.parametrize(("split", "start"), _chunks(), ids=lambda v: str(v))
def test_every_task_replays_like_the_benchmark(
    split: str, start: int, replayer: TaubenchReplayer, pristine: str, taubench_retail_dir: Path
) -> None:
    tasks = load_tasks(taubench_retail_dir / f"tasks_{split}.json")
    assert len(tasks) == SPLIT_SIZES[split]
    for index in range(start, min(start + CHUNK, len(tasks))):
        task = tasks[index]
        outcome = replayer.replay_task(index, task, split=split)
        expected_state, expected_errors = reference.replay(
            pristine, [a.model_dump() for a in task.actions]
        )
        ours = [(e.step, e.action, e.code) for e in outcome.errors]
        assert ours == expected_errors, f"{split} task {index}: errors differ"
        assert _rounded(outcome.final_state.as_dict()) == _rounded(expected_state), (
            f"{split} task {index}: final state differs from the benchmark's semantics"
        )


def test_test_split_failures_are_exactly_the_designed_ones(
    replayer: TaubenchReplayer, taubench_retail_dir: Path
) -> None:
    tasks = load_tasks(taubench_retail_dir / "tasks_test.json")
    report = replayer.replay(tasks, split="test")
    failures = [(e.index, e.step, e.action, e.code) for e in report.errors]
    assert failures == TEST_SPLIT_FAILURES
    assert report.replayed == report.tasks == 115
    print(f"\nreplayed {report.replayed} test tasks; {len(failures)} designed failures matched")


def test_replay_is_deterministic(replayer: TaubenchReplayer, taubench_retail_dir: Path) -> None:
    tasks = load_tasks(taubench_retail_dir / "tasks_test.json")
    for index in (0, 12, 64, 106):
        first = replayer.replay_task(index, tasks[index])
        second = replayer.replay_task(index, tasks[index])
        assert first.state_hash == second.state_hash
    assert replayer.replay_task(0, tasks[0]).state_hash != state_hash(replayer.initial)


def test_export_states_writes_only_changed_records(
    replayer: TaubenchReplayer, taubench_retail_dir: Path, tmp_path: Path
) -> None:
    tasks = load_tasks(taubench_retail_dir / "tasks_test.json")[:3]
    replayer.replay(tasks, split="test", export_states=tmp_path)
    first = json.loads((tmp_path / "test-0.json").read_text())
    assert set(first) == {"users", "orders", "products"}
    # task 0 exchanges two items of one order: exactly that order changes
    assert list(first["orders"]) == ["#W2378156"]
    assert first["orders"]["#W2378156"]["status"] == "exchange requested"
    assert first["users"] == {} and first["products"] == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "test-0.json",
        "test-1.json",
        "test-2.json",
    ]


def test_changed_records_marks_removed_records_as_null() -> None:
    before = TaubenchData(users={"a": {"x": 1}}, orders={"o": {"y": 2}}, products={})
    after = TaubenchData(users={"a": {"x": 1.0}}, orders={}, products={"p": {"z": 3}})
    assert changed_records(before, after) == {
        "users": {},
        "orders": {"o": None},
        "products": {"p": {"z": 3}},
    }


def test_load_then_export_reproduces_the_input(
    taubench_retail_dir: Path, empty_db_url: str, tmp_path: Path
) -> None:
    data = read_taubench_dir(taubench_retail_dir)
    backend = open_retail_backend(empty_db_url)
    try:
        load_taubench(backend, data)
        exported = export_taubench(backend)
    finally:
        backend.dispose()
    assert exported.users == data.users
    assert exported.orders == data.orders
    assert exported.products == data.products
    assert state_hash(exported) == state_hash(data)


def test_replay_on_postgres_matches_sqlite(
    replayer: TaubenchReplayer, taubench_retail_dir: Path, postgres
) -> None:
    tasks = load_tasks(taubench_retail_dir / "tasks_test.json")[:12]
    with TaubenchReplayer(taubench_retail_dir, db_base=postgres.url) as on_postgres:
        report = on_postgres.replay(tasks, split="test")
    expected = replayer.replay(tasks, split="test")
    assert report.state_hashes == expected.state_hashes
    assert [(e.index, e.step, e.code) for e in report.errors] == [
        (e.index, e.step, e.code) for e in expected.errors
    ]
