"""The public tau-bench retail JSON layout: load it into the database, export it back out.

``users.json``, ``orders.json`` and ``products.json`` map ids to records. Loading then
exporting with nothing in between gives the same data back (amounts as numbers with cents),
so that our final state can be compared with the benchmark's own.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from tools._money import to_money
from tools._sql import SqlBackend
from tools.errors import ToolConfigError
from tools.retail._schema import (
    Fulfilment,
    Order,
    OrderItem,
    PaymentMethod,
    PaymentTransaction,
    Product,
    User,
    Variant,
)

__all__ = [
    "TAUBENCH_FILES",
    "TaubenchData",
    "canonical_state",
    "export_taubench",
    "load_taubench",
    "read_taubench_dir",
    "state_hash",
    "write_taubench_dir",
]

TAUBENCH_FILES = ("users", "orders", "products")
_ORDER_EXTRAS = (
    "cancel_reason",
    "return_items",
    "return_payment_method_id",
    "exchange_items",
    "exchange_new_items",
    "exchange_payment_method_id",
)
_CARRIER_STATUS_BY_ORDER_STATUS = {
    "processed": "in_transit",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "return requested": "delivered",
    "exchange requested": "delivered",
}

Records = dict[str, dict[str, Any]]


@dataclass
class TaubenchData:
    """The three tau-bench retail tables as parsed JSON (id -> record)."""

    users: Records
    orders: Records
    products: Records

    def as_dict(self) -> dict[str, Records]:
        """Return ``{"users": ..., "orders": ..., "products": ...}``."""
        return {"users": self.users, "orders": self.orders, "products": self.products}


def read_taubench_dir(path: str | Path) -> TaubenchData:
    """Read ``users.json``, ``orders.json`` and ``products.json`` from ``path``.

    A tau2-bench ``db.json`` (the same three tables in one file) is accepted too.

    Raises:
        ToolConfigError: The folder or a file is missing or is not the expected JSON.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ToolConfigError(f"{folder} is not a folder: give the tau-bench retail data folder")
    combined = folder / "db.json"
    if not (folder / "users.json").exists() and combined.exists():
        tables = _read_json(combined)
        return TaubenchData(*(_table(tables, name, combined) for name in TAUBENCH_FILES))
    missing = [f"{name}.json" for name in TAUBENCH_FILES if not (folder / f"{name}.json").exists()]
    if missing:
        raise ToolConfigError(
            f"{folder} lacks {', '.join(missing)}: expected tau-bench's retail users.json, "
            "orders.json and products.json"
        )
    return TaubenchData(*(_read_json(folder / f"{name}.json") for name in TAUBENCH_FILES))


def _read_json(path: Path) -> Records:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ToolConfigError(f"cannot read {path}: {error}") from error
    if not isinstance(value, dict):
        raise ToolConfigError(f"{path} must hold a JSON object of records by id")
    return value


def _table(tables: dict[str, Any], name: str, source: Path) -> Records:
    value = tables.get(name)
    if not isinstance(value, dict):
        raise ToolConfigError(f"{source} has no {name!r} table")
    return value


def _money(value: Any) -> Decimal:
    return to_money(value)


def _address(record: dict[str, Any]) -> dict[str, str]:
    address = record["address"]
    return {key: str(address.get(key, "")) for key in _ADDRESS_KEYS}


_ADDRESS_KEYS = ("address1", "address2", "city", "country", "state", "zip")


def load_taubench(backend: SqlBackend, data: TaubenchData) -> None:
    """Replace the database's contents with ``data`` (one transaction).

    Raises:
        ToolConfigError: A record lacks a key the layout requires.
    """
    try:
        rows = _rows(data)
    except (KeyError, TypeError, AttributeError) as error:
        raise ToolConfigError(f"tau-bench data is not in the expected layout: {error!r}") from error
    backend.drop_schema()
    backend.create_schema()
    with backend.session() as session, session.begin():
        for model, table_rows in rows:
            if table_rows:
                session.execute(insert(model), table_rows)


def _rows(data: TaubenchData) -> list[tuple[type[Any], list[dict[str, Any]]]]:
    users, methods, products, variants = [], [], [], []
    orders, items, fulfilments, payments = [], [], [], []
    user_position: dict[str, int] = {}
    for position, (user_id, user) in enumerate(data.users.items()):
        users.append(
            {
                "id": user_id,
                "first_name": user["name"]["first_name"],
                "last_name": user["name"]["last_name"],
                "email": user["email"],
                "position": position,
                **_address(user),
            }
        )
        for method_position, (method_id, method) in enumerate(user["payment_methods"].items()):
            methods.append(
                {
                    "id": method_id,
                    "user_id": user_id,
                    "source": method["source"],
                    "brand": method.get("brand"),
                    "last_four": method.get("last_four"),
                    "balance": _money(method["balance"]) if "balance" in method else None,
                    "position": method_position,
                }
            )
        for order_position, order_id in enumerate(user.get("orders", [])):
            user_position[order_id] = order_position
    for position, (product_id, product) in enumerate(data.products.items()):
        products.append({"id": product_id, "name": product["name"], "position": position})
        for variant_position, (item_id, variant) in enumerate(product["variants"].items()):
            variants.append(
                {
                    "item_id": item_id,
                    "product_id": product_id,
                    "options": variant["options"],
                    "available": bool(variant["available"]),
                    "price": _money(variant["price"]),
                    "position": variant_position,
                }
            )
    for order_id, order in data.orders.items():
        extras = {key: order.get(key) for key in _ORDER_EXTRAS}
        difference = order.get("exchange_price_difference")
        orders.append(
            {
                "id": order_id,
                "user_id": order["user_id"],
                "user_position": user_position.get(order_id, 0),
                "status": order["status"],
                "exchange_price_difference": None if difference is None else _money(difference),
                **extras,
                **_address(order),
            }
        )
        for position, item in enumerate(order["items"]):
            items.append(
                {
                    "order_id": order_id,
                    "position": position,
                    "item_id": item["item_id"],
                    "product_id": item["product_id"],
                    "name": item["name"],
                    "price": _money(item["price"]),
                    "options": item["options"],
                }
            )
        carrier_status = _CARRIER_STATUS_BY_ORDER_STATUS.get(order["status"], "label_created")
        for position, fulfilment in enumerate(order["fulfillments"]):
            fulfilments.append(
                {
                    "order_id": order_id,
                    "position": position,
                    "tracking_ids": list(fulfilment["tracking_id"]),
                    "item_ids": list(fulfilment["item_ids"]),
                    "carrier": "UPS",
                    "carrier_status": carrier_status,
                }
            )
        for position, payment in enumerate(order["payment_history"]):
            payments.append(
                {
                    "order_id": order_id,
                    "position": position,
                    "transaction_type": payment["transaction_type"],
                    "amount": _money(payment["amount"]),
                    "payment_method_id": payment["payment_method_id"],
                }
            )
    return [
        (User, users),
        (PaymentMethod, methods),
        (Product, products),
        (Variant, variants),
        (Order, orders),
        (OrderItem, items),
        (Fulfilment, fulfilments),
        (PaymentTransaction, payments),
    ]


def _number(value: Decimal) -> float:
    return float(to_money(value))


def export_taubench(backend: SqlBackend) -> TaubenchData:
    """Return the database's current state in the tau-bench layout."""
    with backend.session() as session:
        methods: dict[str, dict[str, Any]] = defaultdict(dict)
        for m in session.execute(
            select(PaymentMethod.__table__).order_by(PaymentMethod.position)
        ).mappings():
            record: dict[str, Any] = {"source": m["source"]}
            if m["brand"] is not None:
                record["brand"] = m["brand"]
            if m["last_four"] is not None:
                record["last_four"] = m["last_four"]
            if m["balance"] is not None:
                record["balance"] = _number(m["balance"])
            record["id"] = m["id"]
            methods[m["user_id"]][m["id"]] = record
        order_ids: dict[str, list[str]] = defaultdict(list)
        for user_id, order_id in session.execute(
            select(Order.user_id, Order.id).order_by(Order.user_position, Order.id)
        ):
            order_ids[user_id].append(order_id)
        users = {
            u["id"]: {
                "name": {"first_name": u["first_name"], "last_name": u["last_name"]},
                "address": {key: u[key] for key in _ADDRESS_KEYS},
                "email": u["email"],
                "payment_methods": methods.get(u["id"], {}),
                "orders": order_ids.get(u["id"], []),
            }
            for u in session.execute(select(User.__table__).order_by(User.position)).mappings()
        }
        variants: dict[str, dict[str, Any]] = defaultdict(dict)
        for v in session.execute(select(Variant.__table__).order_by(Variant.position)).mappings():
            variants[v["product_id"]][v["item_id"]] = {
                "item_id": v["item_id"],
                "options": v["options"],
                "available": v["available"],
                "price": _number(v["price"]),
            }
        products = {
            p["id"]: {
                "name": p["name"],
                "product_id": p["id"],
                "variants": variants.get(p["id"], {}),
            }
            for p in session.execute(
                select(Product.__table__).order_by(Product.position)
            ).mappings()
        }
        orders = _export_orders(session)
    return TaubenchData(users=users, orders=orders, products=products)


def _export_orders(session: Any) -> Records:
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in session.execute(
        select(OrderItem.__table__).order_by(OrderItem.order_id, OrderItem.position)
    ).mappings():
        items[i["order_id"]].append(
            {
                "name": i["name"],
                "product_id": i["product_id"],
                "item_id": i["item_id"],
                "price": _number(i["price"]),
                "options": i["options"],
            }
        )
    fulfilments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in session.execute(
        select(Fulfilment.__table__).order_by(Fulfilment.order_id, Fulfilment.position)
    ).mappings():
        fulfilments[f["order_id"]].append(
            {"tracking_id": list(f["tracking_ids"]), "item_ids": list(f["item_ids"])}
        )
    payments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in session.execute(
        select(PaymentTransaction.__table__).order_by(
            PaymentTransaction.order_id, PaymentTransaction.position
        )
    ).mappings():
        payments[p["order_id"]].append(
            {
                "transaction_type": p["transaction_type"],
                "amount": _number(p["amount"]),
                "payment_method_id": p["payment_method_id"],
            }
        )
    orders: Records = {}
    for o in session.execute(select(Order.__table__).order_by(Order.id)).mappings():
        record: dict[str, Any] = {
            "order_id": o["id"],
            "user_id": o["user_id"],
            "address": {key: o[key] for key in _ADDRESS_KEYS},
            "items": items.get(o["id"], []),
            "fulfillments": fulfilments.get(o["id"], []),
            "status": o["status"],
            "payment_history": payments.get(o["id"], []),
        }
        for key in _ORDER_EXTRAS:
            if o[key] is not None:
                record[key] = o[key]
        if o["exchange_price_difference"] is not None:
            record["exchange_price_difference"] = _number(o["exchange_price_difference"])
        orders[o["id"]] = record
    return orders


def canonical_state(value: Any) -> Any:
    """Return ``value`` as plain JSON data with every number a float (so ``51 == 51.0``)."""
    return json.loads(json.dumps(value, default=str), parse_int=float)


def state_hash(data: TaubenchData) -> str:
    """Return a SHA-256 of the canonical state: key order ignored, every number a float."""
    canonical = json.dumps(canonical_state(data.as_dict()), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def write_taubench_dir(data: TaubenchData, out_dir: str | Path) -> list[Path]:
    """Write ``users.json``, ``orders.json`` and ``products.json`` into ``out_dir``."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in data.as_dict().items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(table, indent=4) + "\n", encoding="utf-8")
        written.append(path)
    return written
