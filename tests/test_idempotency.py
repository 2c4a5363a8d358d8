"""Idempotent writes: a repeated keyed call is a replay, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tools import SqlBackend, ToolContext, ToolResult
from tools._provision import DatabaseCopies
from tools.retail import (
    TaubenchData,
    export_taubench,
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    retail_registry,
)
from tools.retail._schema import retail_metadata

REGISTRY = retail_registry()
KEY = "conversation-7:step-3"

Record = dict[str, Any]


@pytest.fixture(scope="module")
def tau(taubench_retail_dir: Path) -> TaubenchData:
    return read_taubench_dir(taubench_retail_dir)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def template(
    request: pytest.FixtureRequest, tau: TaubenchData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseCopies]:
    if request.param == "postgres":
        base: str | Path = request.getfixturevalue("postgres").url
    else:
        base = tmp_path_factory.mktemp("idempotency-template")
    copies = DatabaseCopies(base, retail_metadata, prefix="idempotency")
    copies.prepare(lambda backend: load_taubench(backend, tau))
    yield copies
    copies.close()


@pytest.fixture
def backend(template: DatabaseCopies) -> Iterator[SqlBackend]:
    url = template.copy()
    backend = open_retail_backend(url, create=False)
    yield backend
    backend.dispose()
    template.discard(url)


def pending_gift_card_order(tau: TaubenchData) -> Record:
    return next(
        order
        for order in tau.orders.values()
        if order["status"] == "pending"
        and order["payment_history"][0]["payment_method_id"].startswith("gift_card")
    )


def write_calls(tau: TaubenchData) -> dict[str, Record]:
    """One valid call of several write tools, by tool name."""
    order = pending_gift_card_order(tau)
    other_method = next(
        method_id
        for method_id in tau.users[order["user_id"]]["payment_methods"]
        if method_id != order["payment_history"][0]["payment_method_id"]
    )
    address = {
        "address1": "10 Downing St",
        "address2": "",
        "city": "London",
        "state": "LDN",
        "country": "UK",
        "zip": "SW1A",
    }
    return {
        "cancel_pending_order": {"order_id": order["order_id"], "reason": "no longer needed"},
        "modify_pending_order_payment": {
            "order_id": order["order_id"],
            "payment_method_id": other_method,
        },
        "modify_user_address": {"user_id": order["user_id"], **address},
    }


def keyed(backend: SqlBackend, key: str | None = KEY) -> ToolContext:
    return ToolContext(backend, idempotency_key=key)


@pytest.mark.parametrize(
    "name", ["cancel_pending_order", "modify_pending_order_payment", "modify_user_address"]
)
def test_same_key_twice_applies_once(backend: SqlBackend, tau: TaubenchData, name: str) -> None:
    arguments = write_calls(tau)[name]
    before = export_taubench(backend).as_dict()

    first = REGISTRY.invoke(name, arguments, keyed(backend))
    after_first = export_taubench(backend).as_dict()
    second = REGISTRY.invoke(name, arguments, keyed(backend))

    assert first.ok and second.ok, (first.payload(), second.payload())
    assert after_first != before
    assert export_taubench(backend).as_dict() == after_first
    assert (first.replayed, second.replayed) == (False, True)
    assert second.payload() == first.payload()
    assert second.output == first.output


def test_replay_survives_reopening_the_database(backend: SqlBackend, tau: TaubenchData) -> None:
    arguments = write_calls(tau)["cancel_pending_order"]
    first = REGISTRY.invoke("cancel_pending_order", arguments, keyed(backend))
    state = export_taubench(backend).as_dict()

    reopened = open_retail_backend(backend.url, create=False)
    try:
        again = REGISTRY.invoke("cancel_pending_order", arguments, keyed(reopened))
    finally:
        reopened.dispose()

    assert again.replayed
    assert again.payload() == first.payload()
    assert export_taubench(backend).as_dict() == state


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("cancel_pending_order", {"reason": "ordered by mistake"}),
        ("modify_user_address", {}),
    ],
    ids=["other-arguments", "other-tool"],
)
def test_same_key_for_another_request_is_a_conflict(
    backend: SqlBackend, tau: TaubenchData, name: str, change: Record
) -> None:
    calls = write_calls(tau)
    assert REGISTRY.invoke("cancel_pending_order", calls["cancel_pending_order"], keyed(backend)).ok
    state = export_taubench(backend).as_dict()

    result = REGISTRY.invoke(name, {**calls[name], **change}, keyed(backend))

    assert result.error is not None
    assert result.error.code == "idempotency_key_conflict"
    assert KEY in result.error.message
    assert export_taubench(backend).as_dict() == state


def test_another_key_is_a_new_request(backend: SqlBackend, tau: TaubenchData) -> None:
    arguments = write_calls(tau)["cancel_pending_order"]
    assert REGISTRY.invoke("cancel_pending_order", arguments, keyed(backend, "step-1")).ok
    state = export_taubench(backend).as_dict()

    second = REGISTRY.invoke("cancel_pending_order", arguments, keyed(backend, "step-2"))
    unkeyed = REGISTRY.invoke("cancel_pending_order", arguments, keyed(backend, None))

    for result in (second, unkeyed):
        assert result.error is not None
        assert result.error.code == "not_pending"
        assert not result.replayed
    assert export_taubench(backend).as_dict() == state


def test_a_refused_keyed_write_stores_no_key(backend: SqlBackend, tau: TaubenchData) -> None:
    arguments = write_calls(tau)["cancel_pending_order"]
    state = export_taubench(backend).as_dict()

    refused = REGISTRY.invoke(
        "cancel_pending_order", {**arguments, "reason": "changed my mind"}, keyed(backend)
    )
    assert refused.error is not None
    assert refused.error.code == "invalid_reason"
    assert export_taubench(backend).as_dict() == state

    # Had the refusal stored the key, this would be a conflict.
    accepted = REGISTRY.invoke("cancel_pending_order", arguments, keyed(backend))
    assert accepted.ok, accepted.payload()
    assert not accepted.replayed
    assert accepted.payload()["status"] == "cancelled"


def _wait_for_lock_waiters(url: str, count: int) -> None:
    """Wait until ``count`` sessions of the database wait on a lock (PostgreSQL)."""
    engine = create_engine(url)
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    pause = threading.Event()
    try:
        for _ in range(3000):
            with engine.connect() as conn:
                if conn.execute(query).scalar_one() >= count:
                    return
            pause.wait(0.01)
        pytest.fail(f"{count} sessions never waited on the order's lock")
    finally:
        engine.dispose()


def test_concurrent_identical_keyed_writes_apply_once(
    request: pytest.FixtureRequest, backend: SqlBackend, tau: TaubenchData
) -> None:
    order = pending_gift_card_order(tau)
    order_id, user_id = order["order_id"], order["user_id"]
    card_id = order["payment_history"][0]["payment_method_id"]
    arguments = {"order_id": order_id, "reason": "no longer needed"}
    postgres = backend.dialect == "postgresql"
    start = threading.Barrier(2)

    def call() -> ToolResult:
        start.wait()
        return REGISTRY.invoke("cancel_pending_order", arguments, keyed(backend))

    with ThreadPoolExecutor(max_workers=2) as pool:
        if postgres:
            # Hold the order's row lock until both calls are inside their transactions, so
            # they really overlap instead of running one after the other.
            blocker = create_engine(backend.url)
            with blocker.connect() as conn, conn.begin():
                conn.execute(
                    text("SELECT id FROM retail_orders WHERE id = :id FOR UPDATE"), {"id": order_id}
                )
                futures = [pool.submit(call) for _ in range(2)]
                _wait_for_lock_waiters(backend.url, 2)
            blocker.dispose()
        else:
            futures = [pool.submit(call) for _ in range(2)]
        results = [future.result(timeout=60) for future in futures]

    assert all(result.ok for result in results), [r.payload() for r in results]
    assert sorted(result.replayed for result in results) == [False, True]
    assert results[0].payload() == results[1].payload()
    final = export_taubench(backend).as_dict()
    assert final["orders"][order_id]["payment_history"] == [
        *order["payment_history"],
        {**order["payment_history"][0], "transaction_type": "refund"},
    ]
    balance = tau.users[user_id]["payment_methods"][card_id]["balance"]
    amount = order["payment_history"][0]["amount"]
    credited = Decimal(str(balance)) + Decimal(str(amount))
    assert final["users"][user_id]["payment_methods"][card_id]["balance"] == float(credited)
