"""Transient backend faults: what is retried, what is not, and what it leaves behind."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tools import RetryPolicy, SqlBackend, ToolContext, TransientBackendError
from tools._provision import DatabaseCopies
from tools.errors import BackendFailure
from tools.retail import (
    TaubenchData,
    export_taubench,
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    retail_registry,
)
from tools.retail._schema import retail_metadata

# No waiting between tries: the faults are injected, not real.
REGISTRY = retail_registry(retry=RetryPolicy(attempts=4, initial_wait=0, max_wait=0))

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
        base = tmp_path_factory.mktemp("retries-template")
    copies = DatabaseCopies(base, retail_metadata, prefix="retries")
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


def gift_card_cancel(tau: TaubenchData) -> tuple[Record, Record]:
    """A pending gift card order and the arguments that cancel it."""
    order = next(
        o
        for o in tau.orders.values()
        if o["status"] == "pending"
        and o["payment_history"][0]["payment_method_id"].startswith("gift_card")
    )
    return order, {"order_id": order["order_id"], "reason": "ordered by mistake"}


def test_a_read_is_retried_until_it_succeeds(backend: SqlBackend, tau: TaubenchData) -> None:
    order_id = next(iter(tau.orders))
    backend.inject_transient_faults(2)

    result = REGISTRY.invoke("get_order_details", {"order_id": order_id}, ToolContext(backend))

    assert result.ok
    assert result.attempts == 3
    assert backend.injected_faults == 2
    assert result.payload() == tau.orders[order_id]


def test_a_keyed_write_is_retried_and_applied_once(backend: SqlBackend, tau: TaubenchData) -> None:
    order, arguments = gift_card_cancel(tau)
    card_id = order["payment_history"][0]["payment_method_id"]
    before = export_taubench(backend).as_dict()
    backend.inject_transient_faults(2)

    result = REGISTRY.invoke(
        "cancel_pending_order", arguments, ToolContext(backend, idempotency_key="k")
    )

    assert result.ok, result.payload()
    assert (result.attempts, result.replayed) == (3, False)
    assert backend.injected_faults == 2
    after = export_taubench(backend).as_dict()
    history = after["orders"][order["order_id"]]["payment_history"]
    assert [p["transaction_type"] for p in history] == ["payment", "refund"]
    balance = Decimal(str(before["users"][order["user_id"]]["payment_methods"][card_id]["balance"]))
    amount = Decimal(str(order["payment_history"][0]["amount"]))
    assert after["users"][order["user_id"]]["payment_methods"][card_id]["balance"] == float(
        balance + amount
    )


def test_an_unkeyed_write_is_not_retried_and_rolls_back(
    backend: SqlBackend, tau: TaubenchData
) -> None:
    _, arguments = gift_card_cancel(tau)
    before = export_taubench(backend).as_dict()
    backend.inject_transient_faults(1)

    with pytest.raises(TransientBackendError) as raised:
        REGISTRY.invoke("cancel_pending_order", arguments, ToolContext(backend))

    # A run failure, not an error the model should see.
    assert isinstance(raised.value, BackendFailure)
    assert backend.injected_faults == 1
    assert export_taubench(backend).as_dict() == before
    # Nothing was half-applied: the same call now goes through.
    retried = REGISTRY.invoke("cancel_pending_order", arguments, ToolContext(backend))
    assert retried.ok
    assert retried.attempts == 1


def test_faults_beyond_the_attempts_are_a_run_failure(
    backend: SqlBackend, tau: TaubenchData
) -> None:
    order_id = next(iter(tau.orders))
    order, arguments = gift_card_cancel(tau)
    before = export_taubench(backend).as_dict()
    backend.inject_transient_faults(9)

    with pytest.raises(TransientBackendError, match="database is locked"):
        REGISTRY.invoke("get_order_details", {"order_id": order_id}, ToolContext(backend))
    assert backend.injected_faults == 4
    with pytest.raises(TransientBackendError):
        REGISTRY.invoke(
            "cancel_pending_order", arguments, ToolContext(backend, idempotency_key="k")
        )
    assert backend.injected_faults == 8
    assert export_taubench(backend).as_dict() == before

    # One fault is left: the keyed write now applies on its second try, once.
    result = REGISTRY.invoke(
        "cancel_pending_order", arguments, ToolContext(backend, idempotency_key="k")
    )
    assert result.ok
    assert (result.attempts, result.replayed) == (2, False)
    assert backend.injected_faults == 9
    history = export_taubench(backend).as_dict()["orders"][order["order_id"]]["payment_history"]
    assert [p["transaction_type"] for p in history] == ["payment", "refund"]


def test_a_tool_error_is_not_retried(backend: SqlBackend, tau: TaubenchData) -> None:
    delivered = next(o for o in tau.orders.values() if o["status"] == "delivered")
    backend.inject_transient_faults(1)

    result = REGISTRY.invoke(
        "cancel_pending_order",
        {"order_id": delivered["order_id"], "reason": "no longer needed"},
        ToolContext(backend, idempotency_key="k"),
    )

    assert result.error is not None
    assert result.error.code == "not_pending"
    assert result.attempts == 1
    # The refusal happened before commit, so the pending fault never fired.
    assert backend.injected_faults == 0
