"""Retail tools on the public tau-bench data, on SQLite and PostgreSQL.

Every write is checked on the end state: the whole database is exported before and after the
call, and the export must equal the "before" state with exactly the expected change applied
(or no change at all when the tool refuses).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tools import SqlBackend, ToolContext, ToolError, ToolResult
from tools._provision import DatabaseCopies
from tools.retail import (
    TaubenchData,
    export_taubench,
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    retail_registry,
)
from tools.retail._read_tools import CalculationResult
from tools.retail._schema import retail_metadata
from tools.retail._shipping_tools import TrackingResult

REGISTRY = retail_registry()
THURSDAY = datetime(2024, 5, 9, 20, 0, tzinfo=UTC)
NEW_ADDRESS = {
    "address1": "1 Infinite Loop",
    "address2": "Suite 5",
    "city": "Cupertino",
    "state": "CA",
    "country": "USA",
    "zip": "95014",
}

Record = dict[str, Any]


# --- databases ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tau(taubench_retail_dir: Path) -> TaubenchData:
    return read_taubench_dir(taubench_retail_dir)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def template(
    request: pytest.FixtureRequest, tau: TaubenchData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseCopies]:
    """The tau-bench data loaded once per database kind; tests get copies of it."""
    if request.param == "postgres":
        base: str | Path = request.getfixturevalue("postgres").url
    else:
        base = tmp_path_factory.mktemp("retail-template")
    copies = DatabaseCopies(base, retail_metadata, prefix="retail_tools")
    copies.prepare(lambda backend: load_taubench(backend, tau))
    yield copies
    copies.close()


@pytest.fixture
def backend(template: DatabaseCopies) -> Iterator[SqlBackend]:
    url = template.copy()
    backend = open_retail_backend(url, create=False)
    yield backend
    backend.dispose()  # no pooled connection may outlive the copy
    template.discard(url)


# --- calling tools --------------------------------------------------------------------------


def invoke(
    backend: SqlBackend,
    name: str,
    clock: Callable[[], datetime] | None = None,
    **arguments: Any,
) -> ToolResult:
    ctx = ToolContext(backend) if clock is None else ToolContext(backend, clock=clock)
    return REGISTRY.invoke(name, arguments, ctx)


def succeed(backend: SqlBackend, name: str, **arguments: Any) -> Record:
    result = invoke(backend, name, **arguments)
    assert result.error is None, result.payload()
    payload: Record = result.payload()
    return payload


def refuse(backend: SqlBackend, name: str, code: str, **arguments: Any) -> ToolError:
    """Call a tool that must refuse with ``code`` and leave the database as it was."""
    before = export_taubench(backend).as_dict()
    result = invoke(backend, name, **arguments)
    assert result.error is not None, f"{name} succeeded: {result.payload()}"
    assert result.error.code == code, result.payload()
    assert result.error.message
    assert export_taubench(backend).as_dict() == before
    return result.error


def changed_state(backend: SqlBackend, call: Callable[[], Any]) -> tuple[Any, Record, Record]:
    """Run ``call``; return its value and the exported state before and after."""
    before = export_taubench(backend).as_dict()
    value = call()
    return value, before, export_taubench(backend).as_dict()


# --- finding suitable records in the tau-bench data -------------------------------------------


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def paid_with(order: Record) -> str:
    method: str = order["payment_history"][0]["payment_method_id"]
    return method


def orders_with(tau: TaubenchData, status: str) -> list[Record]:
    return [order for order in tau.orders.values() if order["status"] == status]


def methods_of(tau: TaubenchData, user_id: str, source: str) -> dict[str, Record]:
    methods = tau.users[user_id]["payment_methods"]
    return {key: method for key, method in methods.items() if method["source"] == source}


def other_users_method(tau: TaubenchData, user_id: str) -> str:
    other = next(uid for uid in tau.users if uid != user_id)
    method: str = next(iter(tau.users[other]["payment_methods"]))
    return method


def swaps(tau: TaubenchData, order: Record, *, available: bool = True) -> Iterator[Any]:
    """Yield ``(item, variant, price difference)`` for other variants of the order's items."""
    for item in order["items"]:
        variants = tau.products[item["product_id"]]["variants"]
        for variant in variants.values():
            if variant["item_id"] != item["item_id"] and variant["available"] == available:
                yield item, variant, money(variant["price"]) - money(item["price"])


def find(candidates: Iterator[Any], what: str) -> Any:
    found = next(candidates, None)
    if found is None:
        pytest.fail(f"no {what} in the tau-bench data")
    return found


# --- identification ---------------------------------------------------------------------------


def test_find_user_by_email_ignores_case_and_spaces(backend: SqlBackend, tau: TaubenchData) -> None:
    for user_id in list(tau.users)[:: len(tau.users) // 5]:
        email = tau.users[user_id]["email"]
        for spelled in (email, email.upper(), f"  {email.title()} "):
            assert succeed(backend, "find_user_id_by_email", email=spelled) == {"user_id": user_id}


def test_find_user_by_name_and_zip_tells_namesakes_apart(
    backend: SqlBackend, tau: TaubenchData
) -> None:
    namesakes = [
        uid
        for uid, user in tau.users.items()
        if user["name"] == {"first_name": "Ava", "last_name": "Nguyen"}
    ]
    assert len(namesakes) > 1
    for user_id in namesakes:
        zip_code = tau.users[user_id]["address"]["zip"]
        found = succeed(
            backend, "find_user_id_by_name_zip", first_name="ava", last_name="NGUYEN", zip=zip_code
        )
        assert found == {"user_id": user_id}


@pytest.mark.parametrize(
    ("name", "arguments", "field"),
    [
        ("find_user_id_by_email", {"email": "nobody@example.com"}, "email"),
        (
            "find_user_id_by_name_zip",
            {"first_name": "Ava", "last_name": "Nguyen", "zip": "00000"},
            "zip",
        ),
        ("get_user_details", {"user_id": "nobody_1234"}, "user_id"),
    ],
)
def test_unknown_customer_is_user_not_found(
    backend: SqlBackend, name: str, arguments: Record, field: str
) -> None:
    error = refuse(backend, name, "user_not_found", **arguments)

    assert error.field == field


# --- read tools -------------------------------------------------------------------------------


def test_get_details_equal_the_tau_bench_records(backend: SqlBackend, tau: TaubenchData) -> None:
    users = list(tau.users)[::10]
    orders = list(tau.orders)[::20] + [
        order["order_id"] for order in orders_with(tau, "cancelled")[:5]
    ]
    for user_id in users:
        assert succeed(backend, "get_user_details", user_id=user_id) == tau.users[user_id]
    for order_id in orders:
        assert succeed(backend, "get_order_details", order_id=order_id) == tau.orders[order_id]
    for product_id in tau.products:
        assert (
            succeed(backend, "get_product_details", product_id=product_id)
            == (tau.products[product_id])
        )


@pytest.mark.parametrize(
    ("name", "arguments", "code"),
    [
        ("get_order_details", {"order_id": "#W0000000"}, "order_not_found"),
        ("get_product_details", {"product_id": "0000000000"}, "product_not_found"),
        ("track_shipment", {"order_id": "#W0000000"}, "order_not_found"),
        ("get_refund_status", {"order_id": "#W0000000"}, "order_not_found"),
    ],
)
def test_unknown_records_are_not_found(
    backend: SqlBackend, name: str, arguments: Record, code: str
) -> None:
    error = refuse(backend, name, code, **arguments)

    assert error.field == next(iter(arguments))


def test_order_id_without_hash_gets_a_hint(backend: SqlBackend, tau: TaubenchData) -> None:
    order_id = next(iter(tau.orders))

    error = refuse(backend, "get_order_details", "order_not_found", order_id=order_id[1:])

    assert "'#'" in error.message


def test_product_id_given_an_item_id_is_not_found(backend: SqlBackend, tau: TaubenchData) -> None:
    item_id = next(iter(next(iter(tau.products.values()))["variants"]))

    error = refuse(backend, "get_product_details", "product_not_found", product_id=item_id)

    assert "item" in error.message


def test_list_all_product_types_is_sorted_by_name(backend: SqlBackend, tau: TaubenchData) -> None:
    listed = succeed(backend, "list_all_product_types")

    assert listed == {product["name"]: pid for pid, product in tau.products.items()}
    assert list(listed) == sorted(listed)
    assert len(listed) == len(tau.products)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0.1 + 0.2", "0.30"),
        ("(54.04 - 12.5) * 2", "83.08"),
        ("10 / 4", "2.50"),
        ("2 / 3", "0.67"),
        ("1 / 3 * 3", "1.00"),
        ("-(3 + 1.25)", "-4.25"),
        ("1000000.01 - 0.02", "999999.99"),
    ],
)
def test_calculate_is_exact(backend: SqlBackend, expression: str, expected: str) -> None:
    result = invoke(backend, "calculate", expression=expression)

    assert isinstance(result.output, CalculationResult)
    assert result.output.result == Decimal(expected)
    assert result.payload() == {"result": float(expected)}


@pytest.mark.parametrize(
    "expression",
    [
        "2 + x",
        "__import__('os')",
        "1e3",
        "2 ** 8",
        "1 / 0",
        "0 / 0",
        "(1 - 1) / (2 - 2)",
        "1 +",
        "()",
    ],
)
def test_calculate_refuses_anything_but_arithmetic(backend: SqlBackend, expression: str) -> None:
    result = invoke(backend, "calculate", expression=expression)

    assert result.error is not None
    assert result.error.code == "invalid_expression"


def test_calculate_keeps_long_literals_exact(backend: SqlBackend) -> None:
    result = invoke(backend, "calculate", expression="12345678901234567.89 + 0.01")

    assert isinstance(result.output, CalculationResult)
    assert result.output.result == Decimal("12345678901234567.90")


def test_transfer_to_human_agents_echoes_the_summary(backend: SqlBackend) -> None:
    summary = "Customer wants a refund to a closed card."

    assert succeed(backend, "transfer_to_human_agents", summary=summary) == {
        "status": "Transfer successful",
        "summary": summary,
    }


# --- cancel_pending_order ---------------------------------------------------------------------


@pytest.mark.parametrize("source", ["gift_card", "credit_card", "paypal"])
def test_cancel_refunds_every_payment(backend: SqlBackend, tau: TaubenchData, source: str) -> None:
    order = find(
        (o for o in orders_with(tau, "pending") if paid_with(o).startswith(source)),
        f"pending order paid by {source}",
    )
    order_id, user_id = order["order_id"], order["user_id"]

    payload, before, after = changed_state(
        backend,
        lambda: succeed(
            backend, "cancel_pending_order", order_id=order_id, reason="ordered by mistake"
        ),
    )

    expected = copy.deepcopy(before)
    cancelled = expected["orders"][order_id]
    cancelled["status"] = "cancelled"
    cancelled["cancel_reason"] = "ordered by mistake"
    cancelled["payment_history"] += [
        {**payment, "transaction_type": "refund"} for payment in order["payment_history"]
    ]
    if source == "gift_card":
        card = expected["users"][user_id]["payment_methods"][paid_with(order)]
        card["balance"] = float(
            money(card["balance"]) + money(order["payment_history"][0]["amount"])
        )
    assert after == expected
    assert payload == cancelled


@pytest.mark.parametrize("status", ["processed", "delivered", "cancelled"])
def test_cancel_refuses_an_order_that_is_not_pending(
    backend: SqlBackend, tau: TaubenchData, status: str
) -> None:
    order = orders_with(tau, status)[0]

    error = refuse(
        backend,
        "cancel_pending_order",
        "not_pending",
        order_id=order["order_id"],
        reason="no longer needed",
    )

    assert error.field == "order_id"


def test_cancel_refuses_another_reason(backend: SqlBackend, tau: TaubenchData) -> None:
    order = orders_with(tau, "pending")[0]

    error = refuse(
        backend,
        "cancel_pending_order",
        "invalid_reason",
        order_id=order["order_id"],
        reason="too slow",
    )

    assert error.field == "reason"


def test_cancel_refuses_an_unknown_order(backend: SqlBackend) -> None:
    refuse(
        backend,
        "cancel_pending_order",
        "order_not_found",
        order_id="#W0000000",
        reason="no longer needed",
    )


# --- modify_pending_order_address / modify_user_address --------------------------------------


def test_modify_pending_order_address_changes_only_the_order(
    backend: SqlBackend, tau: TaubenchData
) -> None:
    order_id = orders_with(tau, "pending")[0]["order_id"]

    payload, before, after = changed_state(
        backend,
        lambda: succeed(backend, "modify_pending_order_address", order_id=order_id, **NEW_ADDRESS),
    )

    expected = copy.deepcopy(before)
    expected["orders"][order_id]["address"] = NEW_ADDRESS
    assert after == expected
    assert payload == expected["orders"][order_id]


@pytest.mark.parametrize("status", ["processed", "delivered", "cancelled"])
def test_modify_address_refuses_an_order_that_is_not_pending(
    backend: SqlBackend, tau: TaubenchData, status: str
) -> None:
    order_id = orders_with(tau, status)[0]["order_id"]

    refuse(backend, "modify_pending_order_address", "not_pending", order_id=order_id, **NEW_ADDRESS)


def test_modify_user_address_changes_only_the_profile(
    backend: SqlBackend, tau: TaubenchData
) -> None:
    user_id = next(iter(tau.users))

    payload, before, after = changed_state(
        backend, lambda: succeed(backend, "modify_user_address", user_id=user_id, **NEW_ADDRESS)
    )

    expected = copy.deepcopy(before)
    expected["users"][user_id]["address"] = NEW_ADDRESS
    assert after == expected
    assert payload == expected["users"][user_id]


def test_modify_user_address_refuses_an_unknown_user(backend: SqlBackend) -> None:
    refuse(backend, "modify_user_address", "user_not_found", user_id="nobody_1234", **NEW_ADDRESS)


# --- modify_pending_order_payment -------------------------------------------------------------


def test_modify_payment_to_a_gift_card_debits_it(backend: SqlBackend, tau: TaubenchData) -> None:
    order, card_id = find(
        (
            (o, card_id)
            for o in orders_with(tau, "pending")
            for card_id, card in methods_of(tau, o["user_id"], "gift_card").items()
            if card_id != paid_with(o)
            and money(card["balance"]) >= money(o["payment_history"][0]["amount"])
        ),
        "pending order a second gift card can pay",
    )
    order_id, user_id, original = order["order_id"], order["user_id"], paid_with(order)
    amount = order["payment_history"][0]["amount"]

    payload, before, after = changed_state(
        backend,
        lambda: succeed(
            backend, "modify_pending_order_payment", order_id=order_id, payment_method_id=card_id
        ),
    )

    expected = copy.deepcopy(before)
    expected["orders"][order_id]["payment_history"] += [
        {"transaction_type": "payment", "amount": amount, "payment_method_id": card_id},
        {"transaction_type": "refund", "amount": amount, "payment_method_id": original},
    ]
    methods = expected["users"][user_id]["payment_methods"]
    methods[card_id]["balance"] = float(money(methods[card_id]["balance"]) - money(amount))
    if original.startswith("gift_card"):
        methods[original]["balance"] = float(money(methods[original]["balance"]) + money(amount))
    assert after == expected
    assert payload == expected["orders"][order_id]
    assert payload["status"] == "pending"


def test_modify_payment_away_from_a_gift_card_credits_it(
    backend: SqlBackend, tau: TaubenchData
) -> None:
    order, card_id = find(
        (
            (o, next(iter(methods_of(tau, o["user_id"], "credit_card"))))
            for o in orders_with(tau, "pending")
            if paid_with(o).startswith("gift_card") and methods_of(tau, o["user_id"], "credit_card")
        ),
        "pending gift card order of a customer with a credit card",
    )
    order_id, user_id, original = order["order_id"], order["user_id"], paid_with(order)
    amount = order["payment_history"][0]["amount"]

    _, before, after = changed_state(
        backend,
        lambda: succeed(
            backend, "modify_pending_order_payment", order_id=order_id, payment_method_id=card_id
        ),
    )

    expected = copy.deepcopy(before)
    expected["orders"][order_id]["payment_history"] += [
        {"transaction_type": "payment", "amount": amount, "payment_method_id": card_id},
        {"transaction_type": "refund", "amount": amount, "payment_method_id": original},
    ]
    gift_card = expected["users"][user_id]["payment_methods"][original]
    gift_card["balance"] = float(money(gift_card["balance"]) + money(amount))
    assert after == expected


def test_modify_payment_refusals(backend: SqlBackend, tau: TaubenchData) -> None:
    pending = orders_with(tau, "pending")
    order = find(
        (
            o
            for o in pending
            if paid_with(o).startswith("credit_card") and methods_of(tau, o["user_id"], "paypal")
        ),
        "pending credit card order of a customer with PayPal",
    )
    order_id, user_id = order["order_id"], order["user_id"]
    paypal = next(iter(methods_of(tau, user_id, "paypal")))
    short, card_id = find(
        (
            (o, card_id)
            for o in pending
            for card_id, card in methods_of(tau, o["user_id"], "gift_card").items()
            if card_id != paid_with(o)
            and money(card["balance"]) < money(o["payment_history"][0]["amount"])
        ),
        "pending order a gift card cannot cover",
    )

    refuse(
        backend,
        "modify_pending_order_payment",
        "not_pending",
        order_id=orders_with(tau, "delivered")[0]["order_id"],
        payment_method_id=paypal,
    )
    refuse(
        backend,
        "modify_pending_order_payment",
        "payment_method_not_found",
        order_id=order_id,
        payment_method_id=other_users_method(tau, user_id),
    )
    refuse(
        backend,
        "modify_pending_order_payment",
        "same_payment_method",
        order_id=order_id,
        payment_method_id=paid_with(order),
    )
    refuse(
        backend,
        "modify_pending_order_payment",
        "insufficient_gift_card_balance",
        order_id=short["order_id"],
        payment_method_id=card_id,
    )
    # Once changed, the order holds a payment and a refund: it cannot be changed again.
    succeed(backend, "modify_pending_order_payment", order_id=order_id, payment_method_id=paypal)
    refuse(
        backend,
        "modify_pending_order_payment",
        "multiple_payments",
        order_id=order_id,
        payment_method_id=paid_with(order),
    )


# --- modify_pending_order_items ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["payment", "refund"])
def test_modify_items_settles_the_difference_on_a_gift_card(
    backend: SqlBackend, tau: TaubenchData, kind: str
) -> None:
    order, item, variant, difference, card_id = find(
        (
            (o, item, variant, difference, card_id)
            for o in orders_with(tau, "pending")
            for card_id, card in methods_of(tau, o["user_id"], "gift_card").items()
            for item, variant, difference in swaps(tau, o)
            if (difference > 0) == (kind == "payment") and money(card["balance"]) >= difference
        ),
        f"pending order whose item change a gift card settles by {kind}",
    )
    order_id, user_id = order["order_id"], order["user_id"]

    payload, before, after = changed_state(
        backend,
        lambda: succeed(
            backend,
            "modify_pending_order_items",
            order_id=order_id,
            item_ids=[item["item_id"]],
            new_item_ids=[variant["item_id"]],
            payment_method_id=card_id,
        ),
    )

    expected = copy.deepcopy(before)
    modified = expected["orders"][order_id]
    modified["status"] = "pending (item modified)"
    line = next(i for i in modified["items"] if i["item_id"] == item["item_id"])
    line.update(item_id=variant["item_id"], price=variant["price"], options=variant["options"])
    modified["payment_history"].append(
        {"transaction_type": kind, "amount": float(abs(difference)), "payment_method_id": card_id}
    )
    card = expected["users"][user_id]["payment_methods"][card_id]
    card["balance"] = float(money(card["balance"]) - difference)
    assert after == expected
    assert payload == modified


def test_modify_items_charges_a_card_the_exact_difference(
    backend: SqlBackend, tau: TaubenchData
) -> None:
    order = find(
        (
            o
            for o in orders_with(tau, "pending")
            if paid_with(o).startswith("credit_card")
            and len({i["item_id"] for i in o["items"]}) == len(o["items"])
            and len({item["item_id"] for item, _, _ in swaps(tau, o)}) >= 2
        ),
        "pending credit card order with two distinct, changeable items",
    )
    order_id = order["order_id"]
    changes: dict[str, Record] = {}
    for item, variant, _ in swaps(tau, order):
        changes.setdefault(item["item_id"], variant)
    item_ids = list(changes)[:2]
    difference = sum(
        (
            money(changes[i]["price"])
            - money(next(x for x in order["items"] if x["item_id"] == i)["price"])
            for i in item_ids
        ),
        Decimal(0),
    )

    payload, before, after = changed_state(
        backend,
        lambda: succeed(
            backend,
            "modify_pending_order_items",
            order_id=order_id,
            item_ids=item_ids,
            new_item_ids=[changes[i]["item_id"] for i in item_ids],
            payment_method_id=paid_with(order),
        ),
    )

    expected = copy.deepcopy(before)
    modified = expected["orders"][order_id]
    modified["status"] = "pending (item modified)"
    for line in modified["items"]:
        if line["item_id"] in item_ids:
            new = changes[line["item_id"]]
            line.update(item_id=new["item_id"], price=new["price"], options=new["options"])
    modified["payment_history"].append(
        {
            "transaction_type": "payment" if difference > 0 else "refund",
            "amount": float(abs(difference)),
            "payment_method_id": paid_with(order),
        }
    )
    assert after == expected
    assert payload == modified
    # Only once per order: the status is no longer "pending".
    refuse(
        backend,
        "modify_pending_order_items",
        "not_pending",
        order_id=order_id,
        item_ids=[changes[item_ids[0]]["item_id"]],
        new_item_ids=[item_ids[0]],
        payment_method_id=paid_with(order),
    )


def test_modify_items_refusals(backend: SqlBackend, tau: TaubenchData) -> None:
    pending = orders_with(tau, "pending")
    order, item, variant, _ = find(
        ((o, i, v, d) for o in pending for i, v, d in swaps(tau, o)), "pending order with a swap"
    )
    order_id, method = order["order_id"], paid_with(order)
    held = sum(i["item_id"] == item["item_id"] for i in order["items"])
    _, _, unavailable, _ = find(
        ((o, i, v, d) for o in [order] for i, v, d in swaps(tau, o, available=False) if i is item),
        "unavailable variant of the item",
    )
    foreign_product = next(p for pid, p in tau.products.items() if pid != item["product_id"])
    foreign_variant = next(iter(foreign_product["variants"]))
    other_item = next(
        x["item_id"]
        for o in tau.orders.values()
        for x in o["items"]
        if x["item_id"] not in {i["item_id"] for i in order["items"]}
    )
    short = find(
        (
            (o, i, v, card_id)
            for o in pending
            for card_id, card in methods_of(tau, o["user_id"], "gift_card").items()
            for i, v, d in swaps(tau, o)
            if money(card["balance"]) < d
        ),
        "pending order whose item change a gift card cannot cover",
    )
    valid = {
        "order_id": order_id,
        "item_ids": [item["item_id"]],
        "new_item_ids": [variant["item_id"]],
        "payment_method_id": method,
    }
    cases = [
        ("not_pending", "order_id", {"order_id": orders_with(tau, "delivered")[0]["order_id"]}),
        ("item_not_found", "item_ids", {"item_ids": [other_item]}),
        (
            "item_not_found",
            "item_ids",
            {
                "item_ids": [item["item_id"]] * (held + 1),
                "new_item_ids": [variant["item_id"]] * (held + 1),
            },
        ),
        ("item_count_mismatch", "new_item_ids", {"new_item_ids": [variant["item_id"]] * 2}),
        ("variant_unavailable", "new_item_ids", {"new_item_ids": [unavailable["item_id"]]}),
        ("variant_unavailable", "new_item_ids", {"new_item_ids": [foreign_variant]}),
        ("variant_unavailable", "new_item_ids", {"new_item_ids": ["0000000000"]}),
        (
            "payment_method_not_found",
            "payment_method_id",
            {"payment_method_id": other_users_method(tau, order["user_id"])},
        ),
        (
            "insufficient_gift_card_balance",
            "payment_method_id",
            {
                "order_id": short[0]["order_id"],
                "item_ids": [short[1]["item_id"]],
                "new_item_ids": [short[2]["item_id"]],
                "payment_method_id": short[3],
            },
        ),
    ]
    for code, field, change in cases:
        error = refuse(backend, "modify_pending_order_items", code, **{**valid, **change})
        assert error.field == field, (code, change)


# --- return_delivered_order_items -------------------------------------------------------------


def test_return_records_the_items_sorted(backend: SqlBackend, tau: TaubenchData) -> None:
    order = find(
        (o for o in orders_with(tau, "delivered") if len({i["item_id"] for i in o["items"]}) >= 2),
        "delivered order with two items",
    )
    order_id = order["order_id"]
    item_ids = sorted({i["item_id"] for i in order["items"]}, reverse=True)[:2]

    payload, before, after = changed_state(
        backend,
        lambda: succeed(
            backend,
            "return_delivered_order_items",
            order_id=order_id,
            item_ids=item_ids,
            payment_method_id=paid_with(order),
        ),
    )

    expected = copy.deepcopy(before)
    returned = expected["orders"][order_id]
    returned.update(
        status="return requested",
        return_items=sorted(item_ids),
        return_payment_method_id=paid_with(order),
    )
    assert after == expected
    assert payload == returned


def test_return_refund_may_go_to_another_gift_card(backend: SqlBackend, tau: TaubenchData) -> None:
    order, card_id = find(
        (
            (o, card_id)
            for o in orders_with(tau, "delivered")
            for card_id in methods_of(tau, o["user_id"], "gift_card")
            if card_id != paid_with(o)
        ),
        "delivered order of a customer with another gift card",
    )

    payload = succeed(
        backend,
        "return_delivered_order_items",
        order_id=order["order_id"],
        item_ids=[order["items"][0]["item_id"]],
        payment_method_id=card_id,
    )

    assert payload["status"] == "return requested"
    assert payload["return_payment_method_id"] == card_id
    assert payload["payment_history"] == order["payment_history"]


def test_return_refusals(backend: SqlBackend, tau: TaubenchData) -> None:
    order, other_method = find(
        (
            (o, method_id)
            for o in orders_with(tau, "delivered")
            for method_id, method in tau.users[o["user_id"]]["payment_methods"].items()
            if method_id != paid_with(o) and method["source"] != "gift_card"
        ),
        "delivered order of a customer with a second card or PayPal",
    )
    item_id = order["items"][0]["item_id"]
    held = sum(i["item_id"] == item_id for i in order["items"])
    valid = {
        "order_id": order["order_id"],
        "item_ids": [item_id],
        "payment_method_id": paid_with(order),
    }
    cases = [
        ("not_delivered", {"order_id": orders_with(tau, "pending")[0]["order_id"]}),
        ("not_delivered", {"order_id": orders_with(tau, "processed")[0]["order_id"]}),
        (
            "payment_method_not_found",
            {"payment_method_id": other_users_method(tau, order["user_id"])},
        ),
        ("payment_method_not_allowed", {"payment_method_id": other_method}),
        ("item_not_found", {"item_ids": ["0000000000"]}),
        ("item_not_found", {"item_ids": [item_id] * (held + 1)}),
    ]
    for code, change in cases:
        refuse(backend, "return_delivered_order_items", code, **{**valid, **change})


# --- exchange_delivered_order_items -----------------------------------------------------------


def test_exchange_records_the_request_and_moves_no_money(
    backend: SqlBackend, tau: TaubenchData
) -> None:
    order = find(
        (
            o
            for o in orders_with(tau, "delivered")
            if len({item["item_id"] for item, _, _ in swaps(tau, o)}) >= 2
        ),
        "delivered order with two exchangeable items",
    )
    order_id = order["order_id"]
    changes: dict[str, tuple[Record, Decimal]] = {}
    for item, variant, difference in swaps(tau, order):
        changes.setdefault(item["item_id"], (variant, difference))
    item_ids = sorted(changes, reverse=True)[:2]
    new_item_ids = [changes[i][0]["item_id"] for i in item_ids]
    difference = sum((changes[i][1] for i in item_ids), Decimal(0))

    payload, before, after = changed_state(
        backend,
        lambda: succeed(
            backend,
            "exchange_delivered_order_items",
            order_id=order_id,
            item_ids=item_ids,
            new_item_ids=new_item_ids,
            payment_method_id=paid_with(order),
        ),
    )

    expected = copy.deepcopy(before)
    exchanged = expected["orders"][order_id]
    exchanged.update(
        status="exchange requested",
        exchange_items=sorted(item_ids),
        exchange_new_items=sorted(new_item_ids),
        exchange_payment_method_id=paid_with(order),
        exchange_price_difference=float(difference),
    )
    assert after == expected  # items, payments and balances untouched
    assert payload == exchanged


def test_exchange_refusals(backend: SqlBackend, tau: TaubenchData) -> None:
    delivered = orders_with(tau, "delivered")
    order, item, variant, _ = find(
        ((o, i, v, d) for o in delivered for i, v, d in swaps(tau, o)),
        "delivered order with a swap",
    )
    _, _, unavailable, _ = find(
        ((o, i, v, d) for o in [order] for i, v, d in swaps(tau, o, available=False) if i is item),
        "unavailable variant of the item",
    )
    short = find(
        (
            (o, i, v, card_id)
            for o in delivered
            for card_id, card in methods_of(tau, o["user_id"], "gift_card").items()
            for i, v, d in swaps(tau, o)
            if money(card["balance"]) < d
        ),
        "delivered order whose exchange a gift card cannot cover",
    )
    valid = {
        "order_id": order["order_id"],
        "item_ids": [item["item_id"]],
        "new_item_ids": [variant["item_id"]],
        "payment_method_id": paid_with(order),
    }
    cases = [
        ("not_delivered", {"order_id": orders_with(tau, "pending")[0]["order_id"]}),
        ("not_delivered", {"order_id": orders_with(tau, "cancelled")[0]["order_id"]}),
        ("item_not_found", {"item_ids": ["0000000000"]}),
        ("item_count_mismatch", {"new_item_ids": [variant["item_id"], variant["item_id"]]}),
        ("variant_unavailable", {"new_item_ids": [unavailable["item_id"]]}),
        (
            "payment_method_not_found",
            {"payment_method_id": other_users_method(tau, order["user_id"])},
        ),
        (
            "insufficient_gift_card_balance",
            {
                "order_id": short[0]["order_id"],
                "item_ids": [short[1]["item_id"]],
                "new_item_ids": [short[2]["item_id"]],
                "payment_method_id": short[3],
            },
        ),
    ]
    for code, change in cases:
        refuse(backend, "exchange_delivered_order_items", code, **{**valid, **change})
    # Only once per order.
    succeed(backend, "exchange_delivered_order_items", **valid)
    refuse(backend, "exchange_delivered_order_items", "not_delivered", **valid)


# --- shipments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "carrier_status"), [("processed", "in_transit"), ("delivered", "delivered")]
)
def test_track_shipment_reports_the_carrier_status(
    backend: SqlBackend, tau: TaubenchData, status: str, carrier_status: str
) -> None:
    order = orders_with(tau, status)[0]
    names = {i["item_id"]: i["name"] for i in order["items"]}

    tracking = succeed(backend, "track_shipment", order_id=order["order_id"])

    assert tracking["order_status"] == status
    [shipment] = tracking["shipments"]
    [fulfilment] = order["fulfillments"]
    assert shipment["status"] == carrier_status
    assert shipment["tracking_id"] == fulfilment["tracking_id"]
    assert shipment["items"] == [names[i] for i in fulfilment["item_ids"]]
    assert shipment["ship_to"] == order["address"]


def test_track_shipment_of_a_pending_order_has_no_shipment(
    backend: SqlBackend, tau: TaubenchData
) -> None:
    tracking = succeed(
        backend, "track_shipment", order_id=orders_with(tau, "pending")[0]["order_id"]
    )

    assert tracking["shipments"] == []
    assert tracking["note"] == "the order has not shipped yet"


@pytest.mark.parametrize("give_tracking_id", [False, True])
def test_reroute_sends_an_in_transit_shipment_elsewhere(
    backend: SqlBackend, tau: TaubenchData, give_tracking_id: bool
) -> None:
    order = orders_with(tau, "processed")[0]
    order_id = order["order_id"]
    tracking_ids = order["fulfillments"][0]["tracking_id"]
    extra = {"tracking_id": tracking_ids[0]} if give_tracking_id else {}

    result, before, after = changed_state(
        backend,
        lambda: invoke(
            backend,
            "reroute_shipment",
            clock=lambda: THURSDAY,
            order_id=order_id,
            **NEW_ADDRESS,
            **extra,
        ),
    )

    assert result.error is None, result.payload()
    assert result.payload() == {
        "order_id": order_id,
        "tracking_id": tracking_ids,
        "status": "in_transit",
        "ship_to": NEW_ADDRESS,
    }
    expected = copy.deepcopy(before)
    expected["orders"][order_id]["address"] = NEW_ADDRESS
    assert after == expected
    [shipment] = succeed(backend, "track_shipment", order_id=order_id)["shipments"]
    assert shipment["ship_to"] == NEW_ADDRESS
    assert shipment["status"] == "in_transit"
    assert [(e["status"], e["location"]) for e in shipment["events"]] == [
        ("reroute_requested", "Cupertino, CA")
    ]


@pytest.mark.parametrize(
    ("status", "code"),
    [("delivered", "not_in_transit"), ("cancelled", "not_in_transit"), ("pending", "no_shipment")],
)
def test_reroute_refuses_a_shipment_not_in_transit(
    backend: SqlBackend, tau: TaubenchData, status: str, code: str
) -> None:
    order_id = orders_with(tau, status)[0]["order_id"]

    refuse(backend, "reroute_shipment", code, order_id=order_id, **NEW_ADDRESS)


def test_reroute_refuses_an_unknown_tracking_id(backend: SqlBackend, tau: TaubenchData) -> None:
    order_id = orders_with(tau, "processed")[0]["order_id"]

    error = refuse(
        backend,
        "reroute_shipment",
        "shipment_not_found",
        order_id=order_id,
        tracking_id="000",
        **NEW_ADDRESS,
    )

    assert error.field == "tracking_id"


# --- refunds ----------------------------------------------------------------------------------


def test_refund_status_of_tau_bench_cancellations(backend: SqlBackend, tau: TaubenchData) -> None:
    cancelled = orders_with(tau, "cancelled")
    by_gift_card = next(o for o in cancelled if paid_with(o).startswith("gift_card"))
    by_paypal = next(o for o in cancelled if paid_with(o).startswith("paypal"))

    gift = succeed(backend, "get_refund_status", order_id=by_gift_card["order_id"])
    paypal = succeed(backend, "get_refund_status", order_id=by_paypal["order_id"])

    assert [(r["status"], r["method"]) for r in gift["refunds"]] == [("credited", "gift card")]
    assert gift["refunds"][0]["amount"] == by_gift_card["payment_history"][1]["amount"]
    # The tau-bench data carries no refund dates: issued, with no expected date.
    assert [(r["status"], r["method"]) for r in paypal["refunds"]] == [("issued", "PayPal")]
    assert "expected_by" not in paypal["refunds"][0]


def test_refund_status_of_a_card_follows_the_clock(backend: SqlBackend, tau: TaubenchData) -> None:
    order = next(o for o in orders_with(tau, "pending") if paid_with(o).startswith("credit_card"))
    order_id = order["order_id"]
    card = tau.users[order["user_id"]]["payment_methods"][paid_with(order)]
    before = succeed(backend, "get_refund_status", order_id=order_id)
    cancelled = invoke(
        backend,
        "cancel_pending_order",
        clock=lambda: THURSDAY,
        order_id=order_id,
        reason="no longer needed",
    )
    assert cancelled.ok

    def status_on(day: int) -> Record:
        moment = datetime(2024, 5, day, 12, 0, tzinfo=UTC)
        result = invoke(backend, "get_refund_status", clock=lambda: moment, order_id=order_id)
        assert result.error is None
        payload: Record = result.payload()
        return payload

    assert before["refunds"] == []
    assert before["note"] == "no refund has been issued for this order"
    # Thursday + 7 business days = the Monday after next.
    [line] = status_on(9)["refunds"]
    assert line.pop("method").endswith(card["last_four"])  # wording is free, the card is not
    assert line == {
        "amount": order["payment_history"][0]["amount"],
        "payment_method_id": paid_with(order),
        "status": "processing",
        "expected_by": "2024-05-20",
    }
    assert status_on(20)["refunds"][0]["status"] == "processing"
    assert status_on(21)["refunds"][0]["status"] == "completed"
    assert status_on(21)["order_status"] == "cancelled"


def test_refund_status_of_a_requested_return_awaits_the_items(
    backend: SqlBackend, tau: TaubenchData
) -> None:
    order = next(o for o in orders_with(tau, "delivered") if len(o["items"]) >= 2)
    returned = order["items"][:2]
    succeed(
        backend,
        "return_delivered_order_items",
        order_id=order["order_id"],
        item_ids=[i["item_id"] for i in returned],
        payment_method_id=paid_with(order),
    )

    status = succeed(backend, "get_refund_status", order_id=order["order_id"])

    assert status["order_status"] == "return requested"
    [line] = status["refunds"]
    assert line["status"] == "awaiting_return"
    assert line["payment_method_id"] == paid_with(order)
    assert line["amount"] == float(sum((money(i["price"]) for i in returned), Decimal(0)))


# --- time zones -------------------------------------------------------------------------------


@pytest.fixture
def local_timezone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


def test_shipment_events_keep_their_instant(
    request: pytest.FixtureRequest, backend: SqlBackend, tau: TaubenchData
) -> None:
    order_id = orders_with(tau, "processed")[0]["order_id"]
    assert invoke(
        backend, "reroute_shipment", clock=lambda: THURSDAY, order_id=order_id, **NEW_ADDRESS
    ).ok

    tracking = invoke(backend, "track_shipment", order_id=order_id)

    assert isinstance(tracking.output, TrackingResult)
    assert tracking.output.shipments[0].events[-1].at == THURSDAY


def test_refund_date_does_not_depend_on_the_server_time_zone(
    request: pytest.FixtureRequest,
    backend: SqlBackend,
    tau: TaubenchData,
    local_timezone: Callable[[str], None],
) -> None:
    local_timezone("America/Los_Angeles")
    order = next(o for o in orders_with(tau, "pending") if paid_with(o).startswith("credit_card"))
    order_id = order["order_id"]
    assert invoke(
        backend,
        "cancel_pending_order",
        clock=lambda: THURSDAY,
        order_id=order_id,
        reason="no longer needed",
    ).ok

    status = succeed(backend, "get_refund_status", order_id=order_id)

    # Refunded on Thursday (UTC), whatever the server's local zone: due the Monday after next.
    assert status["refunds"][0]["expected_by"] == "2024-05-20"
