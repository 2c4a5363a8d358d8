"""Deterministic demo data for the retail database: a catalogue, customers and their orders.

:func:`seed_demo` fills an empty store with data that looks like a real shop's and obeys the
same rules as the tools: a cancelled order carries its refunds, an exchange names other
variants of the same products, a shipment in transit has carrier scans up to where it is.
Everything comes from one ``random.Random(seed)`` and a fixed clock, so the same arguments
always give the same database.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, text

from tools._money import to_money
from tools._sql import SqlBackend
from tools.errors import ToolConfigError
from tools.retail._inputs import CANCEL_REASONS
from tools.retail._records import ORDER_STATUSES
from tools.retail._schema import (
    Fulfilment,
    Order,
    OrderItem,
    PaymentMethod,
    PaymentTransaction,
    Product,
    ShipmentEvent,
    User,
    Variant,
)
from tools.retail._seed_data import (
    _CARRIERS,
    _CATALOGUE,
    _CITIES,
    _DELIVERY_NOTES,
    _FIRST_NAMES,
    _GIFT_CARD_BANDS,
    _HUBS,
    _IN_FLIGHT,
    _LAST_NAMES,
    _ORDERED_FROM_STOCK,
    _PLACES,
    _SHIPPED,
    _STATUS_WEIGHTS,
    _STREETS,
    _WAREHOUSES,
)

__all__ = ["DEMO_NOW", "MAX_CUSTOMERS", "MAX_ORDERS", "SeedSummary", "seed_demo"]

DEMO_NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
"""The fixed "now" of the demo data: every generated timestamp lies before it."""

MAX_CUSTOMERS = 100_000
MAX_ORDERS = 1_000_000

Row = dict[str, Any]
# (payment or refund, amount, payment method id, seconds after the order was placed)
_Payment = tuple[str, Decimal, str, int]
# (when, status, "City, ST", what happened)
_Scan = tuple[datetime, str, str, str]

_HOUR = 3600
_DAY = 24 * _HOUR


@dataclass(frozen=True)
class SeedSummary:
    """What :func:`seed_demo` wrote.

    Attributes:
        seed: The random seed the data came from.
        users: Customers created.
        products: Product types in the catalogue.
        variants: Buyable items across all products.
        orders: Orders created.
        orders_by_status: Orders per status, for every status (zero included).
        gift_cards: Gift cards among the customers' payment methods.
    """

    seed: int
    users: int
    products: int
    variants: int
    orders: int
    orders_by_status: dict[str, int]
    gift_cards: int


@dataclass(frozen=True)
class _Variant:
    item_id: str
    product_id: str
    name: str
    options: dict[str, str]
    price: Decimal
    available: bool


@dataclass(frozen=True)
class _Product:
    variants: tuple[_Variant, ...]
    in_stock: tuple[_Variant, ...]


@dataclass(frozen=True)
class _Customer:
    user_id: str
    address: dict[str, str]
    methods: list[Row]


# (the item an order had, the variant of the same product it gets instead)
_Swap = tuple[_Variant, _Variant]


def _distance(a: str, b: str) -> float:
    """Rough distance in degrees between two places (longitude shrunk for US latitudes)."""
    (lat_a, lon_a), (lat_b, lon_b) = _PLACES[a], _PLACES[b]
    return math.hypot(lat_a - lat_b, (lon_a - lon_b) * 0.8)


def _difference(swaps: list[_Swap]) -> Decimal:
    return to_money(sum((new.price - old.price for old, new in swaps), Decimal(0)))


def _covering(customer: _Customer, difference: Decimal) -> list[str]:
    """The customer's payment methods that can pay ``difference`` (gift cards need the balance)."""
    return [
        m["id"]
        for m in customer.methods
        if m["source"] != "gift_card" or difference <= 0 or m["balance"] >= difference
    ]


def _cents(cents: int) -> Decimal:
    return to_money(Decimal(cents) / 100)


def _check(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ToolConfigError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def seed_demo(
    backend: SqlBackend,
    *,
    seed: int = 7,
    customers: int = 500,
    orders: int = 1000,
    now: datetime | None = None,
) -> SeedSummary:
    """Replace the database's contents with generated demo data.

    The tables are dropped and recreated, then every row goes in with bulk inserts in one
    transaction (500 customers and 1,000 orders take well under a second on SQLite).

    The catalogue is a fixed list of product types whose variants, prices and stock come from
    the seed; customers get names, US addresses and one to three payment methods; orders
    cover every status with payments, refunds, shipments and carrier scans that agree with
    what the tools would have written. The same arguments always give the same data: only
    ``random.Random(seed)`` and ``now`` are used, never the wall clock.

    Args:
        backend: The retail database (its tables are dropped and recreated).
        seed: Seed of the random generator.
        customers: How many customers to create (1 to 100,000).
        orders: How many orders to create (0 to 1,000,000); spread over random customers.
        now: The moment the data describes, timezone-aware; every timestamp lies before it.
            Defaults to :data:`DEMO_NOW`, never the wall clock.

    Returns:
        What was written.

    Raises:
        ToolConfigError: An argument is out of range or ``now`` has no timezone.
    """
    _check("customers", customers, 1, MAX_CUSTOMERS)
    _check("orders", orders, 0, MAX_ORDERS)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ToolConfigError(f"seed must be a whole number, got {seed!r}")
    anchor = DEMO_NOW if now is None else now
    if anchor.tzinfo is None:
        raise ToolConfigError("now must be timezone-aware, such as datetime(..., tzinfo=UTC)")
    builder = _Builder(random.Random(seed), anchor)
    builder.catalogue()
    builder.customers(customers)
    statuses = builder.orders(orders)
    backend.drop_schema()
    backend.create_schema()
    with backend.session() as session, session.begin():
        for model, rows in builder.tables():
            if rows:
                session.execute(insert(model), rows)
        if builder.fulfilments and backend.dialect == "postgresql":
            # Explicit ids leave the sequence behind; later inserts must not collide.
            session.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                {"table": Fulfilment.__tablename__, "last": len(builder.fulfilments)},
            )
    return SeedSummary(
        seed=seed,
        users=len(builder.users),
        products=len(builder.products),
        variants=len(builder.variants),
        orders=len(builder.order_rows),
        orders_by_status={status: statuses[status] for status in ORDER_STATUSES},
        gift_cards=sum(1 for m in builder.methods if m["source"] == "gift_card"),
    )


class _Builder:
    """Builds every table's rows from one random generator, in a fixed order."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self._taken: set[str] = set()
        self._gift_cards = 0
        self._shown_in_transit = False
        self.catalogue_by_id: dict[str, _Product] = {}
        self.catalogue_list: list[_Product] = []
        self.people: list[_Customer] = []
        self.users: list[Row] = []
        self.methods: list[Row] = []
        self.products: list[Row] = []
        self.variants: list[Row] = []
        self.order_rows: list[Row] = []
        self.items: list[Row] = []
        self.fulfilments: list[Row] = []
        self.events: list[Row] = []
        self.payments: list[Row] = []

    def tables(self) -> list[tuple[type[Any], list[Row]]]:
        """Every table's rows, parents first."""
        return [
            (User, self.users),
            (PaymentMethod, self.methods),
            (Product, self.products),
            (Variant, self.variants),
            (Order, self.order_rows),
            (OrderItem, self.items),
            (Fulfilment, self.fulfilments),
            (ShipmentEvent, self.events),
            (PaymentTransaction, self.payments),
        ]

    def _unique(self, prefix: str, digits: int, suffix: str = "") -> str:
        while True:
            number = self.rng.randint(10 ** (digits - 1), 10**digits - 1)
            candidate = f"{prefix}{number}{suffix}"
            if candidate not in self._taken:
                self._taken.add(candidate)
                return candidate

    # Catalogue ---------------------------------------------------------------------------

    def catalogue(self) -> None:
        """Create every product type with a random subset of its option combinations."""
        rng = self.rng
        for position, (name, base, dims) in enumerate(_CATALOGUE):
            product_id = self._unique("", 10)
            self.products.append({"id": product_id, "name": name, "position": position})
            combos = list(itertools.product(*(range(len(values)) for _, values, _ in dims)))
            count = min(len(combos), rng.randint(4, 15))
            chosen = sorted(rng.sample(range(len(combos)), count))
            stock = [rng.random() >= 0.15 for _ in chosen]
            sold_out = [index for index, available in enumerate(stock) if not available]
            for index in rng.sample(sold_out, max(0, 2 - sum(stock))):
                stock[index] = True  # every product keeps two variants to exchange between
            variants = []
            for variant_position, (combo_index, available) in enumerate(
                zip(chosen, stock, strict=True)
            ):
                combo = combos[combo_index]
                factor = 100 + sum(dim[2] * value for dim, value in zip(dims, combo, strict=True))
                cents = base * factor * (1000 + rng.randint(-40, 40)) // 100_000
                variant = _Variant(
                    item_id=self._unique("", 10),
                    product_id=product_id,
                    name=name,
                    options={dim[0]: dim[1][value] for dim, value in zip(dims, combo, strict=True)},
                    price=_cents(cents),
                    available=available,
                )
                variants.append(variant)
                self.variants.append(
                    {
                        "item_id": variant.item_id,
                        "product_id": product_id,
                        "options": variant.options,
                        "available": available,
                        "price": variant.price,
                        "position": variant_position,
                    }
                )
            product = _Product(tuple(variants), tuple(v for v in variants if v.available))
            self.catalogue_by_id[product_id] = product
            self.catalogue_list.append(product)

    # Customers ---------------------------------------------------------------------------

    def _address(self) -> dict[str, str]:
        rng = self.rng
        city, state, first_zip, last_zip = rng.choice(_CITIES)
        roll = rng.random()
        if roll < 0.45:
            address2 = f"Suite {rng.randint(100, 999)}"
        elif roll < 0.7:
            address2 = f"Apt {rng.randint(1, 40)}"
        else:
            address2 = ""
        return {
            "address1": f"{rng.randint(10, 9999)} {rng.choice(_STREETS)}",
            "address2": address2,
            "city": city,
            "state": state,
            "country": "USA",
            "zip": f"{rng.randint(first_zip, last_zip):05d}",
        }

    def customers(self, count: int) -> None:
        """Create ``count`` customers, each with an address and payment methods."""
        rng = self.rng
        seen: set[tuple[str, str, str]] = set()
        for position in range(count):
            while True:
                first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
                address = self._address()
                if (first, last, address["zip"]) not in seen:
                    seen.add((first, last, address["zip"]))
                    break
            user_id = self._unique(f"{first}_{last}_".lower(), 4)
            email = self._unique(f"{first}.{last}".lower(), 4, "@example.com")
            self.users.append(
                {
                    "id": user_id,
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "position": position,
                    **address,
                }
            )
            self.people.append(_Customer(user_id, address, self._payment_methods(user_id)))

    def _payment_methods(self, user_id: str) -> list[Row]:
        rng = self.rng
        limits = {"credit_card": 2, "paypal": 1, "gift_card": 1}
        wanted = rng.choices((1, 2, 3), weights=(50, 35, 15))[0]
        methods: list[Row] = []
        while len(methods) < wanted:
            source = rng.choices(tuple(limits), weights=(45, 30, 25))[0]
            if limits[source] == 0:
                continue
            limits[source] -= 1
            row: Row = {
                "id": self._unique(f"{source}_", 7),
                "user_id": user_id,
                "source": source,
                "brand": None,
                "last_four": None,
                "balance": None,
                "position": len(methods),
            }
            if source == "credit_card":
                row["brand"] = rng.choices(
                    ("visa", "mastercard", "amex", "discover"), weights=(40, 35, 15, 10)
                )[0]
                row["last_four"] = f"{rng.randint(0, 9999):04d}"
            elif source == "gift_card":
                row["balance"] = self._gift_card_balance()
            methods.append(row)
        self.methods.extend(methods)
        return methods

    def _gift_card_balance(self) -> Decimal:
        rng = self.rng
        if self._gift_cards < len(_GIFT_CARD_BANDS):
            low, high = _GIFT_CARD_BANDS[self._gift_cards]
        else:
            low, high = rng.choices(_GIFT_CARD_BANDS, weights=(30, 35, 35))[0]
        self._gift_cards += 1
        return _cents(rng.randint(low, high))

    # Orders ------------------------------------------------------------------------------

    def orders(self, count: int) -> Counter[str]:
        """Create ``count`` orders over random customers; return how many of each status."""
        rng = self.rng
        weights = [_STATUS_WEIGHTS[status] for status in ORDER_STATUSES]
        statuses = list(ORDER_STATUSES) if count >= len(ORDER_STATUSES) else []
        statuses += rng.choices(ORDER_STATUSES, weights=weights, k=count - len(statuses))
        rng.shuffle(statuses)
        placed: list[tuple[int, datetime, Row]] = []
        for status in statuses:
            owner = rng.randrange(len(self.people))
            row = self._order(status, self.people[owner])
            placed.append((owner, row["created_at"], row))
        # A customer's orders are listed oldest first, as they were placed.
        next_position: Counter[int] = Counter()
        for owner, _, row in sorted(placed, key=lambda entry: (entry[0], entry[1], entry[2]["id"])):
            row["user_position"] = next_position[owner]
            next_position[owner] += 1
        return Counter(statuses)

    def _pick_items(self, from_stock: bool) -> list[_Variant]:
        rng = self.rng
        wanted = rng.choices((1, 2, 3, 4, 5), weights=(30, 28, 20, 13, 9))[0]
        picked: list[_Variant] = []
        while len(picked) < wanted:
            product = rng.choice(self.catalogue_list)
            variant = rng.choice(product.in_stock if from_stock else product.variants)
            if all(variant.item_id != other.item_id for other in picked):
                picked.append(variant)
        return picked

    def _swap(self, items: list[_Variant]) -> list[_Swap]:
        """Choose one or two items and, for each, another in-stock variant of its product.

        New variants are never ones the order already holds, so item ids stay unique; the
        result is empty when the order holds every in-stock variant of its products.
        """
        rng = self.rng
        wanted = 1 if len(items) == 1 or rng.random() < 0.7 else 2
        taken = {item.item_id for item in items}
        swaps: list[_Swap] = []
        for old in rng.sample(items, len(items)):
            product = self.catalogue_by_id[old.product_id]
            options = [v for v in product.in_stock if v.item_id not in taken]
            if options and len(swaps) < wanted:
                swaps.append((old, rng.choice(options)))
                taken.add(swaps[-1][1].item_id)
        return swaps

    def _order(self, status: str, customer: _Customer) -> Row:
        rng = self.rng
        order_id = self._unique("#W", 7)
        address = customer.address if rng.random() < 0.9 else self._address()
        items = self._pick_items(from_stock=status in _ORDERED_FROM_STOCK)
        swaps: list[_Swap] = []
        if status in ("pending (item modified)", "exchange requested"):
            # Draw again until the items can be swapped and, for an exchange, someone can pay
            # the difference (a gift card must cover it, as the tool checks).
            while not (swaps := self._swap(items)) or (
                status == "exchange requested" and not _covering(customer, _difference(swaps))
            ):
                items = self._pick_items(from_stock=status in _ORDERED_FROM_STOCK)
        method = rng.choice(customer.methods)
        row: Row = {
            "id": order_id,
            "user_id": customer.user_id,
            "user_position": 0,
            "status": status,
            **address,
            "created_at": None,
            "cancel_reason": None,
            "return_items": None,
            "return_payment_method_id": None,
            "exchange_items": None,
            "exchange_new_items": None,
            "exchange_payment_method_id": None,
            "exchange_price_difference": None,
        }
        total = sum((item.price for item in items), Decimal(0))
        payments: list[_Payment] = [("payment", total, method["id"], 0)]
        if status in _SHIPPED:
            destination = f"{address['city']}, {address['state']}"
            row["created_at"] = self._ship(order_id, status, items, destination)
        elif status == "pending":
            row["created_at"] = self.now - timedelta(seconds=rng.randint(15 * 60, 4 * _DAY))
        elif status == "cancelled":
            age = rng.randint(_HOUR, 120 * _DAY)
            row["created_at"] = self.now - timedelta(seconds=age)
            row["cancel_reason"] = rng.choice(CANCEL_REASONS)
            payments.append(("refund", total, method["id"], rng.randint(300, min(age - 60, _DAY))))
        else:
            row["created_at"], change = self._modify_items(items, swaps, customer)
            payments.append(change)
        if status == "return requested":
            self._request_return(row, items, customer, method)
        elif status == "exchange requested":
            self._request_exchange(row, swaps, customer, method)
        self._add_lines(row, items, payments)
        return row

    def _modify_items(
        self, items: list[_Variant], swaps: list[_Swap], customer: _Customer
    ) -> tuple[datetime, _Payment]:
        """Swap items for other variants, as modify_pending_order_items does, in place."""
        rng = self.rng
        age = rng.randint(3 * _HOUR, 5 * _DAY)
        difference = _difference(swaps)
        for old, new in swaps:
            items[items.index(old)] = new
        kind = "payment" if difference > 0 else "refund"
        paid_by = rng.choice(customer.methods)["id"]
        change = (kind, abs(difference), paid_by, rng.randint(600, age - 60))
        return self.now - timedelta(seconds=age), change

    def _request_return(
        self, row: Row, items: list[_Variant], customer: _Customer, method: Row
    ) -> None:
        rng = self.rng
        returned = rng.sample(items, rng.randint(1, len(items)))
        row["return_items"] = sorted(item.item_id for item in returned)
        gift_cards = [m["id"] for m in customer.methods if m["source"] == "gift_card"]
        to_gift_card = bool(gift_cards) and method["source"] != "gift_card"
        to_gift_card = to_gift_card and rng.random() < 0.3
        row["return_payment_method_id"] = gift_cards[0] if to_gift_card else method["id"]

    def _request_exchange(
        self, row: Row, swaps: list[_Swap], customer: _Customer, method: Row
    ) -> None:
        difference = _difference(swaps)
        row["exchange_items"] = sorted(old.item_id for old, _ in swaps)
        row["exchange_new_items"] = sorted(new.item_id for _, new in swaps)
        row["exchange_price_difference"] = difference
        covering = _covering(customer, difference)
        if method["id"] in covering and self.rng.random() < 0.7:
            row["exchange_payment_method_id"] = method["id"]
        else:
            row["exchange_payment_method_id"] = self.rng.choice(covering)

    def _add_lines(self, row: Row, items: list[_Variant], payments: list[_Payment]) -> None:
        self.order_rows.append(row)
        for position, item in enumerate(items):
            self.items.append(
                {
                    "order_id": row["id"],
                    "position": position,
                    "item_id": item.item_id,
                    "product_id": item.product_id,
                    "name": item.name,
                    "price": item.price,
                    "options": dict(item.options),
                }
            )
        for position, (kind, amount, method_id, after) in enumerate(payments):
            self.payments.append(
                {
                    "order_id": row["id"],
                    "position": position,
                    "transaction_type": kind,
                    "amount": amount,
                    "payment_method_id": method_id,
                    "created_at": row["created_at"] + timedelta(seconds=after),
                }
            )

    # Shipments ---------------------------------------------------------------------------

    def _ship(
        self, order_id: str, status: str, items: list[_Variant], destination: str
    ) -> datetime:
        """Add the order's fulfilments and scans; return when the order was placed."""
        rng = self.rng
        if status == "processed":
            target = rng.choices(tuple(_IN_FLIGHT), weights=tuple(_IN_FLIGHT.values()))[0]
            if not self._shown_in_transit:
                target, self._shown_in_transit = "in_transit", True
            parts, days_ago = [items], 20
        else:
            target = "delivered"
            split = rng.randint(1, len(items) - 1) if len(items) > 1 and rng.random() < 0.25 else 0
            parts = [items[:split], items[split:]] if split else [items]
            days_ago = rng.randint(14, 180) if status == "delivered" else rng.randint(14, 40)
        placed = self.now - timedelta(days=days_ago, seconds=rng.randint(0, _DAY))
        timelines = []
        for index, part in enumerate(parts):
            carrier = rng.choice(_CARRIERS)
            ready = placed + timedelta(seconds=rng.randint(_DAY, 3 * _DAY) if index else 0)
            timelines.append((part, carrier, self._scans(carrier, destination, target, ready)))
        # Move the story by whole days (scans keep their time of day) so that it ends before
        # now, and for a shipment still under way, shortly before now.
        limit = self.now - timedelta(minutes=10)
        last = max(scans[-1][0] for _, _, scans in timelines)
        shift = timedelta(0)
        if status == "processed" or last > limit:
            shift = timedelta(days=(limit - last) // timedelta(days=1))
        for position, (part, carrier, scans) in enumerate(timelines):
            fulfilment_id = len(self.fulfilments) + 1
            self.fulfilments.append(
                {
                    "id": fulfilment_id,
                    "order_id": order_id,
                    "position": position,
                    "tracking_ids": [self._unique("", 12)],
                    "item_ids": [item.item_id for item in part],
                    "carrier": carrier,
                    "carrier_status": target,
                    "ship_to": None,
                }
            )
            for at, scan_status, location, description in scans:
                self.events.append(
                    {
                        "fulfilment_id": fulfilment_id,
                        "at": at + shift,
                        "status": scan_status,
                        "location": location,
                        "description": description,
                    }
                )
        return placed + shift

    def _route(self, carrier: str, destination: str) -> tuple[str, list[str]]:
        """A warehouse near ``destination`` and the carrier hubs on the way, in order."""
        rng = self.rng
        origin = rng.choice(sorted(_WAREHOUSES, key=lambda w: _distance(w, destination))[:2])
        direct = _distance(origin, destination)

        def detour(hub: str) -> float:
            return _distance(origin, hub) + _distance(hub, destination) - direct

        hubs = [hub for hub in _HUBS[carrier] if detour(hub) <= 0.25 * direct + 2]
        if not hubs:
            hubs = [min(_HUBS[carrier], key=detour)]
        chosen = rng.sample(hubs, rng.randint(1, min(3, len(hubs))))
        return origin, sorted(chosen, key=lambda hub: _distance(origin, hub))

    def _scans(self, carrier: str, destination: str, target: str, ready: datetime) -> list[_Scan]:
        """The carrier's scans from label to ``target``, starting once the order is ``ready``."""
        rng = self.rng
        origin, hubs = self._route(carrier, destination)
        at = ready + timedelta(seconds=rng.randint(2 * _HOUR, 30 * _HOUR))
        scans = [(at, "label_created", origin, f"Shipping label created, {carrier} awaiting item")]
        if target == "label_created":
            return scans
        at += timedelta(seconds=rng.randint(3 * _HOUR, 20 * _HOUR))
        scans.append((at, "picked_up", origin, f"Picked up by {carrier}"))
        for hub in hubs:
            at += timedelta(seconds=rng.randint(5 * _HOUR, 26 * _HOUR))
            scans.append((at, "in_transit", hub, f"Arrived at {carrier} facility"))
            at += timedelta(seconds=rng.randint(_HOUR, 6 * _HOUR))
            scans.append((at, "in_transit", hub, f"Departed {carrier} facility"))
        if target == "in_transit":
            return scans[: rng.randint(3, len(scans))]
        at += timedelta(seconds=rng.randint(4 * _HOUR, 20 * _HOUR))
        scans.append((at, "in_transit", destination, "Arrived at local delivery facility"))
        # Out for delivery in the destination's morning (UTC offset from its longitude).
        offset = timedelta(hours=round(_PLACES[destination][1] / 15))
        local = at + offset + timedelta(hours=1)
        morning = datetime(local.year, local.month, local.day, 7, 30, tzinfo=at.tzinfo)
        morning += timedelta(seconds=rng.randint(0, 3 * _HOUR))
        if morning < local:
            morning += timedelta(days=1)
        at = morning - offset
        scans.append((at, "out_for_delivery", destination, "Out for delivery"))
        if target == "out_for_delivery":
            return scans
        at += timedelta(seconds=rng.randint(_HOUR, 8 * _HOUR))
        scans.append((at, "delivered", destination, rng.choice(_DELIVERY_NOTES)))
        return scans
