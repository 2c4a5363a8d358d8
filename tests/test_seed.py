"""The demo data generator: deterministic, consistent with the tools' rules, usable by the tools.

Seeded databases are checked on their end state (every order's money, shipments and extra
fields against what the write tools would have produced), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests._postgres import PostgresServer
from tools import SqlBackend, ToolConfigError, ToolContext
from tools.retail import (
    CANCEL_REASONS,
    ORDER_STATUSES,
    SeedSummary,
    export_taubench,
    open_retail_backend,
    retail_counts,
    retail_registry,
    seed_demo,
)
from tools.retail._schema import Fulfilment, Order, PaymentMethod, Product, User
from tools.retail._seed import DEMO_NOW

SMALL = {"customers": 60, "orders": 200}
REGISTRY = retail_registry()
IN_FLIGHT = ("label_created", "in_transit", "out_for_delivery")
SCAN_ORDER = ("label_created", "picked_up", "in_transit", "out_for_delivery", "delivered")
CENT = Decimal("0.01")


@pytest.fixture
def backend(empty_db_url: str) -> Iterator[SqlBackend]:
    opened = open_retail_backend(empty_db_url)
    yield opened
    opened.dispose()


@pytest.fixture
def other_db_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second empty database of the same kind as ``empty_db_url``."""
    if db_kind == "sqlite":
        yield str(tmp_path / "other.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


def _aware(value: datetime) -> datetime:
    # SQLite hands timestamps back without their (UTC) zone.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _snapshot(backend: SqlBackend) -> str:
    """A digest of the whole database: the tau-bench export plus what it leaves out."""
    with backend.session() as session:
        orders = session.scalars(select(Order).order_by(Order.id)).all()
        extra = {
            o.id: {
                "created_at": o.created_at.isoformat() if o.created_at else None,
                "user_position": o.user_position,
                "payments": [
                    p.created_at.isoformat() if p.created_at else None for p in o.payments
                ],
                "shipments": [
                    {
                        "id": f.id,
                        "carrier": f.carrier,
                        "status": f.carrier_status,
                        "events": [
                            [e.at.isoformat(), e.status, e.location, e.description]
                            for e in f.events
                        ],
                    }
                    for f in o.fulfilments
                ],
            }
            for o in orders
        }
    text = json.dumps({"export": export_taubench(backend).as_dict(), "extra": extra})
    return hashlib.sha256(text.encode()).hexdigest()


def _check_consistency(backend: SqlBackend, now: datetime = DEMO_NOW) -> None:
    """Assert every rule the generator promises, on the stored data."""
    with backend.session() as session:
        users = session.scalars(select(User)).all()
        products = session.scalars(select(Product)).all()
        orders = session.scalars(select(Order)).all()
        _check_catalogue(products)
        methods = _check_customers(users)
        variants = {v.item_id: v for p in products for v in p.variants}
        names = {p.id: p.name for p in products}
        positions: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
        tracking: list[str] = []
        for order in orders:
            positions[order.user_id].append((order.user_position, _aware(order.created_at)))
            _check_order(order, methods, variants, names, now)
            tracking += [t for f in order.fulfilments for t in f.tracking_ids]
    assert len(tracking) == len(set(tracking))
    for listed in positions.values():
        listed.sort()
        assert [position for position, _ in listed] == list(range(len(listed)))
        assert [at for _, at in listed] == sorted(at for _, at in listed)  # oldest first


def _check_catalogue(products: Any) -> None:
    assert len(products) >= 40
    ids = [p.id for p in products] + [v.item_id for p in products for v in p.variants]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[1-9]\d{9}", i) for i in ids)
    for product in products:
        assert 4 <= len(product.variants) <= 15
        dimensions = {tuple(v.options) for v in product.variants}
        assert len(dimensions) == 1 and 2 <= len(dimensions.pop()) <= 4
        combos = {tuple(sorted(v.options.items())) for v in product.variants}
        assert len(combos) == len(product.variants)
        assert sum(v.available for v in product.variants) >= 2
        prices = [v.price for v in product.variants]
        assert all(isinstance(p, Decimal) and p > 0 and p == p.quantize(CENT) for p in prices)
        assert len(set(prices)) > 1


def _check_customers(users: Any) -> dict[str, PaymentMethod]:
    emails = [u.email for u in users]
    assert len(set(emails)) == len(emails)
    assert len({(u.first_name, u.last_name, u.zip) for u in users}) == len(users)
    methods: dict[str, PaymentMethod] = {}
    for user in users:
        slug = f"{user.first_name}_{user.last_name}".lower()
        assert re.fullmatch(rf"{slug}_\d{{4}}", user.id)
        assert re.fullmatch(rf"{slug.replace('_', '.')}\d{{4}}@example\.com", user.email)
        assert re.fullmatch(r"\d{5}", user.zip) and user.country == "USA"
        assert 1 <= len(user.payment_methods) <= 3
        for method in user.payment_methods:
            assert re.fullmatch(rf"{method.source}_\d{{7}}", method.id)
            assert method.id not in methods
            methods[method.id] = method
            if method.source == "gift_card":
                assert isinstance(method.balance, Decimal)
                assert method.balance >= 0 and method.balance == method.balance.quantize(CENT)
                assert method.balance <= 400
            elif method.source == "credit_card":
                assert method.brand in ("visa", "mastercard", "amex", "discover")
                assert method.last_four and re.fullmatch(r"\d{4}", method.last_four)
                assert method.balance is None
    return methods


def _check_order(
    order: Order,
    methods: dict[str, PaymentMethod],
    variants: dict[str, Any],
    names: dict[str, str],
    now: datetime,
) -> None:
    assert re.fullmatch(r"#W\d{7}", order.id)
    assert 1 <= len(order.items) <= 5
    created = _aware(order.created_at)
    assert created < now
    item_ids = [item.item_id for item in order.items]
    assert len(set(item_ids)) == len(item_ids)
    for item in order.items:
        variant = variants[item.item_id]
        assert (item.product_id, item.price, item.options) == (
            variant.product_id,
            variant.price,
            variant.options,
        )
        assert item.name == names[item.product_id]
    total = sum((item.price for item in order.items), Decimal(0))
    first = order.payments[0]
    assert first.transaction_type == "payment"
    for payment in order.payments:
        assert methods[payment.payment_method_id].user_id == order.user_id
        assert created <= _aware(payment.created_at) < now
    net = sum(p.amount if p.transaction_type == "payment" else -p.amount for p in order.payments)
    status = order.status
    if status == "pending (item modified)":
        assert len(order.payments) == 2 and net == total
        assert all(variants[i].available for i in item_ids)
    else:
        assert first.amount == total
    if status == "cancelled":
        assert order.cancel_reason in CANCEL_REASONS
        refunds = [p for p in order.payments if p.transaction_type == "refund"]
        paid = [p for p in order.payments if p.transaction_type == "payment"]
        assert [(r.amount, r.payment_method_id) for r in refunds] == [
            (p.amount, p.payment_method_id) for p in paid
        ]
    else:
        assert order.cancel_reason is None
    if status in ("pending", "processed", "delivered", "return requested", "exchange requested"):
        assert len(order.payments) == 1
    _check_shipments(order, created, now)
    _check_requests(order, methods, variants)


def _check_shipments(order: Order, created: datetime, now: datetime) -> None:
    fulfilments = order.fulfilments
    if order.status in ("pending", "pending (item modified)", "cancelled"):
        assert fulfilments == []
        return
    if order.status == "processed":
        assert len(fulfilments) == 1 and fulfilments[0].carrier_status in IN_FLIGHT
    else:
        assert 1 <= len(fulfilments) <= 2
        assert all(f.carrier_status == "delivered" for f in fulfilments)
    shipped = [item_id for f in fulfilments for item_id in f.item_ids]
    assert sorted(shipped) == sorted(item.item_id for item in order.items)
    for fulfilment in fulfilments:
        assert len(fulfilment.tracking_ids) == 1
        assert re.fullmatch(r"\d{12}", fulfilment.tracking_ids[0])
        assert fulfilment.carrier in ("UPS", "FedEx", "USPS")
        times = [_aware(e.at) for e in fulfilment.events]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert created < times[0] and times[-1] < now
        steps = [SCAN_ORDER.index(e.status) for e in fulfilment.events]
        assert steps == sorted(steps) and steps[0] == 0
        assert fulfilment.events[-1].status == fulfilment.carrier_status
        destination = f"{order.city}, {order.state}"
        if fulfilment.carrier_status in ("out_for_delivery", "delivered"):
            assert fulfilment.events[-1].location == destination


def _check_requests(
    order: Order, methods: dict[str, PaymentMethod], variants: dict[str, Any]
) -> None:
    item_ids = [item.item_id for item in order.items]
    if order.status == "return requested":
        assert order.return_items and order.return_items == sorted(order.return_items)
        assert set(order.return_items) <= set(item_ids)
        refund_to = order.return_payment_method_id
        assert refund_to == order.payments[0].payment_method_id or (
            refund_to is not None
            and methods[refund_to].source == "gift_card"
            and methods[refund_to].user_id == order.user_id
        )
    else:
        assert order.return_items is None and order.return_payment_method_id is None
    if order.status == "exchange requested":
        old, new = order.exchange_items or [], order.exchange_new_items or []
        assert old and old == sorted(old) and new == sorted(new) and len(new) == len(old)
        assert set(old) <= set(item_ids) and not set(old) & set(new)
        assert all(variants[i].available for i in new)
        assert Counter(variants[i].product_id for i in old) == Counter(
            variants[i].product_id for i in new
        )
        difference = sum(variants[i].price for i in new) - sum(variants[i].price for i in old)
        assert order.exchange_price_difference == difference
        payer = methods[order.exchange_payment_method_id or ""]
        assert payer.user_id == order.user_id
        if payer.source == "gift_card" and difference > 0:
            assert payer.balance is not None and payer.balance >= difference
    else:
        assert order.exchange_items is None and order.exchange_new_items is None
        assert order.exchange_payment_method_id is None
        assert order.exchange_price_difference is None


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_gives_identical_data(backend: SqlBackend, other_db_url: str) -> None:
    other = open_retail_backend(other_db_url)
    try:
        first = seed_demo(backend, seed=11, **SMALL)
        second = seed_demo(other, seed=11, **SMALL)
        assert first == second
        assert _snapshot(backend) == _snapshot(other)
        seed_demo(other, seed=12, **SMALL)
        changed = export_taubench(other).as_dict()
        assert changed != export_taubench(backend).as_dict()
        assert set(changed["users"]) != set(export_taubench(backend).users)
    finally:
        other.dispose()


def test_reseeding_replaces_everything(backend: SqlBackend) -> None:
    seed_demo(backend, seed=1, customers=30, orders=80)
    before = _snapshot(backend)
    seed_demo(backend, seed=2, customers=10, orders=15)
    assert retail_counts(backend)["users"] == 10
    seed_demo(backend, seed=1, customers=30, orders=80)
    assert _snapshot(backend) == before


# --- shape and consistency ------------------------------------------------------------------


def test_summary_matches_the_database(backend: SqlBackend) -> None:
    summary = seed_demo(backend, seed=3, **SMALL)
    counts = retail_counts(backend)
    assert isinstance(summary, SeedSummary) and summary.seed == 3
    assert (summary.users, summary.orders, summary.products) == (
        counts["users"],
        counts["orders"],
        counts["products"],
    )
    assert (summary.users, summary.orders) == (60, 200)
    assert list(summary.orders_by_status) == list(ORDER_STATUSES)
    assert all(count >= 1 for count in summary.orders_by_status.values())
    with backend.session() as session:
        statuses = Counter(session.scalars(select(Order.status)))
        products = session.scalars(select(Product)).all()
        gift_cards = session.scalars(
            select(PaymentMethod).where(PaymentMethod.source == "gift_card")
        ).all()
    assert {s: statuses[s] for s in ORDER_STATUSES} == summary.orders_by_status
    assert summary.variants == sum(len(p.variants) for p in products)
    assert summary.gift_cards == len(gift_cards) > 0


def test_new_shipments_get_fresh_ids(backend: SqlBackend) -> None:
    summary = seed_demo(backend, seed=8, customers=20, orders=60)
    with backend.session() as session, session.begin():
        order_id = session.scalars(select(Order.id).order_by(Order.id)).first()
        taken = set(session.scalars(select(Fulfilment.id)))
        shipment = Fulfilment(
            order_id=order_id,
            position=9,
            tracking_ids=["000000000001"],
            item_ids=[],
            carrier="UPS",
            carrier_status="label_created",
        )
        session.add(shipment)
        session.flush()
        assert shipment.id not in taken
    assert summary.orders == 60


def test_seeded_data_is_consistent(backend: SqlBackend) -> None:
    seed_demo(backend, seed=4, **SMALL)
    _check_consistency(backend)


def test_full_size_demo(tmp_path: Path) -> None:
    backend = open_retail_backend(tmp_path / "demo.db")
    try:
        summary = seed_demo(backend)
        assert (summary.users, summary.orders) == (500, 1000)
        assert summary.products >= 40
        shares = {s: n / summary.orders for s, n in summary.orders_by_status.items()}
        assert min(summary.orders_by_status.values()) >= 1
        assert 0.2 < shares["pending"] < 0.4 and 0.25 < shares["delivered"] < 0.45
        _check_consistency(backend)
        with backend.session() as session:
            orders = session.scalars(select(Order)).all()
            balances = session.scalars(
                select(PaymentMethod.balance).where(PaymentMethod.source == "gift_card")
            ).all()
            in_flight = Counter(
                session.scalars(
                    select(Fulfilment.carrier_status).join(Order).where(Order.status == "processed")
                )
            )
            stock = Counter(
                v.available for p in session.scalars(select(Product)) for v in p.variants
            )
            # The per-record ranges checked in _check_consistency are all used, not just allowed.
            methods_per_user = {len(u.payment_methods) for u in session.scalars(select(User))}
            items_per_order = {len(o.items) for o in orders}
            shipments_per_delivery = {len(o.fulfilments) for o in orders if o.status == "delivered"}
        typical = statistics.median(sum(i.price for i in o.items) for o in orders)
        assert any(b is not None and b >= typical for b in balances)
        assert any(b is not None and b < typical for b in balances)
        assert set(in_flight) == set(IN_FLIGHT)
        assert in_flight.most_common(1)[0][0] == "in_transit"
        assert 0.05 < stock[False] / (stock[False] + stock[True]) < 0.3
        assert len({o.user_id for o in orders}) > 250
        assert methods_per_user == {1, 2, 3}
        assert items_per_order == {1, 2, 3, 4, 5}
        assert shipments_per_delivery == {1, 2}
    finally:
        backend.dispose()


def test_tiny_and_empty_order_books(tmp_path: Path) -> None:
    backend = open_retail_backend(tmp_path / "tiny.db")
    try:
        summary = seed_demo(backend, customers=1, orders=0)
        assert summary.orders == 0 and set(summary.orders_by_status.values()) == {0}
        assert retail_counts(backend) == {"users": 1, "products": summary.products, "orders": 0}
        summary = seed_demo(backend, seed=9, customers=3, orders=10)
        assert min(summary.orders_by_status.values()) >= 1
        _check_consistency(backend)
    finally:
        backend.dispose()


def test_now_anchors_every_timestamp(tmp_path: Path) -> None:
    backend = open_retail_backend(tmp_path / "past.db")
    past = datetime(2024, 3, 15, 9, 30, tzinfo=UTC)
    try:
        seed_demo(backend, seed=5, customers=20, orders=60, now=past)
        _check_consistency(backend, now=past)
        with backend.session() as session:
            newest = max(_aware(at) for at in session.scalars(select(Order.created_at)))
        assert past.replace(day=1) < newest < past
    finally:
        backend.dispose()


@pytest.mark.parametrize(
    "arguments",
    [
        {"customers": 0},
        {"customers": -5},
        {"customers": 100_001},
        {"orders": -1},
        {"orders": 1_000_001},
        {"customers": 2.5},
        {"orders": True},
        {"seed": "seven"},
        {"now": datetime(2026, 1, 1)},
    ],
)
def test_bad_arguments_are_refused_before_anything_changes(
    tmp_path: Path, arguments: dict[str, Any]
) -> None:
    backend = open_retail_backend(tmp_path / "kept.db")
    try:
        seed_demo(backend, customers=5, orders=8)
        before = _snapshot(backend)
        with pytest.raises(ToolConfigError):
            seed_demo(backend, **arguments)
        assert _snapshot(backend) == before
    finally:
        backend.dispose()


# --- the tools on seeded data ---------------------------------------------------------------


def test_tools_work_on_seeded_data(backend: SqlBackend) -> None:
    seed_demo(backend, seed=6, **SMALL)
    ctx = ToolContext(backend=backend)
    with backend.session() as session:
        user = session.scalars(select(User).order_by(User.position)).first()
        assert user is not None
        pending = session.scalars(
            select(Order).where(Order.status == "pending").order_by(Order.id)
        ).all()
        moving = session.scalars(
            select(Fulfilment)
            .where(Fulfilment.carrier_status == "in_transit")
            .order_by(Fulfilment.id)
        ).first()
        assert moving is not None
        delivered = session.scalars(
            select(Order).where(Order.status == "delivered").order_by(Order.id)
        ).first()
        assert delivered is not None
        email, name_zip = user.email, (user.first_name, user.last_name, user.zip)
        in_transit_id, delivered_id = moving.order_id, delivered.id
        returned_item = delivered.items[0].item_id
        refund_to = delivered.payments[0].payment_method_id

    found = REGISTRY.invoke("find_user_id_by_email", {"email": email.upper()}, ctx)
    assert found.ok and found.payload() == {"user_id": user.id}
    first, last, zip_code = name_zip
    found = REGISTRY.invoke(
        "find_user_id_by_name_zip", {"first_name": first, "last_name": last, "zip": zip_code}, ctx
    )
    assert found.ok and found.payload() == {"user_id": user.id}
    details = REGISTRY.invoke("get_user_details", {"user_id": user.id}, ctx)
    assert details.ok and details.payload()["email"] == email

    tracked = REGISTRY.invoke("track_shipment", {"order_id": in_transit_id}, ctx)
    assert tracked.ok, tracked.error
    shipment = tracked.payload()["shipments"][0]
    assert tracked.payload()["order_status"] == "processed"
    assert shipment["status"] == "in_transit" and len(shipment["events"]) >= 3
    assert shipment["events"][-1]["status"] == "in_transit"

    target = pending[0]
    paid = [
        (p["amount"], p["payment_method_id"]) for p in _details(ctx, target.id)["payment_history"]
    ]
    cancelled = REGISTRY.invoke(
        "cancel_pending_order", {"order_id": target.id, "reason": "no longer needed"}, ctx
    )
    assert cancelled.ok, cancelled.error
    record = cancelled.payload()
    assert record["status"] == "cancelled" and record["cancel_reason"] == "no longer needed"
    assert [(p["amount"], p["payment_method_id"]) for p in record["payment_history"][1:]] == paid

    returned = REGISTRY.invoke(
        "return_delivered_order_items",
        {"order_id": delivered_id, "item_ids": [returned_item], "payment_method_id": refund_to},
        ctx,
    )
    assert returned.ok, returned.error
    assert returned.payload()["status"] == "return requested"

    order_id, old_item, new_item = _cheaper_swap(ctx, [o.id for o in pending[1:]])
    payer = _details(ctx, order_id)["payment_history"][0]["payment_method_id"]
    modified = REGISTRY.invoke(
        "modify_pending_order_items",
        {
            "order_id": order_id,
            "item_ids": [old_item],
            "new_item_ids": [new_item],
            "payment_method_id": payer,
        },
        ctx,
    )
    assert modified.ok, modified.error
    assert modified.payload()["status"] == "pending (item modified)"


def _details(ctx: ToolContext, order_id: str) -> dict[str, Any]:
    result = REGISTRY.invoke("get_order_details", {"order_id": order_id}, ctx)
    assert result.ok, result.error
    payload: dict[str, Any] = result.payload()
    return payload


def _cheaper_swap(ctx: ToolContext, order_ids: list[str]) -> tuple[str, str, str]:
    """A pending order's item and an available variant of the same product at most as dear."""
    for order_id in order_ids:
        for item in _details(ctx, order_id)["items"]:
            product = REGISTRY.invoke(
                "get_product_details", {"product_id": item["product_id"]}, ctx
            )
            for variant in product.payload()["variants"].values():
                cheaper = variant["price"] <= item["price"]
                if variant["available"] and variant["item_id"] != item["item_id"] and cheaper:
                    return order_id, item["item_id"], variant["item_id"]
    raise AssertionError("no pending order has a cheaper variant to switch to")
