"""Pydantic records of the retail systems, in the public tau-bench JSON layout.

These are what the tools return and what ``export-taubench`` writes: same keys, same nesting,
optional keys left out when unset (``model_dump(mode="json", exclude_none=True)``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from tools._money import Money
from tools.retail._schema import Order, PaymentMethod, Product, User

__all__ = [
    "ORDER_STATUSES",
    "AddressRecord",
    "FulfilmentRecord",
    "NameRecord",
    "OrderItemRecord",
    "OrderRecord",
    "PaymentMethodRecord",
    "PaymentRecord",
    "ProductRecord",
    "UserRecord",
    "VariantRecord",
    "order_record",
    "product_record",
    "user_record",
]

OrderStatus = Literal[
    "pending",
    "processed",
    "delivered",
    "cancelled",
    "pending (item modified)",
    "return requested",
    "exchange requested",
]
ORDER_STATUSES: tuple[str, ...] = get_args(OrderStatus)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NameRecord(_Record):
    """A customer's name."""

    first_name: str
    last_name: str


class AddressRecord(_Record):
    """A postal address."""

    address1: str
    address2: str
    city: str
    country: str
    state: str
    zip: str


class PaymentMethodRecord(_Record):
    """A saved payment method."""

    source: Literal["credit_card", "paypal", "gift_card"]
    brand: str | None = None
    last_four: str | None = None
    balance: Money | None = None
    id: str


class UserRecord(_Record):
    """A customer profile (tau-bench's ``users.json`` value)."""

    name: NameRecord
    address: AddressRecord
    email: str
    payment_methods: dict[str, PaymentMethodRecord]
    orders: list[str]


class VariantRecord(_Record):
    """A product variant."""

    item_id: str
    options: dict[str, str]
    available: bool
    price: Money


class ProductRecord(_Record):
    """A product with its variants by item id (tau-bench's ``products.json`` value)."""

    name: str
    product_id: str
    variants: dict[str, VariantRecord]


class OrderItemRecord(_Record):
    """An item of an order, as bought."""

    name: str
    product_id: str
    item_id: str
    price: Money
    options: dict[str, str]


class FulfilmentRecord(_Record):
    """A shipment: tracking ids and the items it carries."""

    tracking_id: list[str]
    item_ids: list[str]


class PaymentRecord(_Record):
    """A payment or refund of an order."""

    transaction_type: Literal["payment", "refund"]
    amount: Money
    payment_method_id: str


class OrderRecord(_Record):
    """An order (tau-bench's ``orders.json`` value), with the keys actions add when set."""

    order_id: str
    user_id: str
    address: AddressRecord
    items: list[OrderItemRecord]
    fulfillments: list[FulfilmentRecord]
    status: OrderStatus
    payment_history: list[PaymentRecord]
    cancel_reason: str | None = None
    return_items: list[str] | None = None
    return_payment_method_id: str | None = None
    exchange_items: list[str] | None = None
    exchange_new_items: list[str] | None = None
    exchange_payment_method_id: str | None = None
    exchange_price_difference: Money | None = None
    created_at: datetime | None = None


def _address(row: User | Order) -> AddressRecord:
    return AddressRecord(
        address1=row.address1,
        address2=row.address2,
        city=row.city,
        country=row.country,
        state=row.state,
        zip=row.zip,
    )


def _payment_method(method: PaymentMethod) -> PaymentMethodRecord:
    return PaymentMethodRecord(
        source=method.source,
        brand=method.brand,
        last_four=method.last_four,
        balance=method.balance,
        id=method.id,
    )


def user_record(user: User, order_ids: list[str]) -> UserRecord:
    """Build the profile record of ``user`` whose orders are ``order_ids`` (in order)."""
    return UserRecord(
        name=NameRecord(first_name=user.first_name, last_name=user.last_name),
        address=_address(user),
        email=user.email,
        payment_methods={m.id: _payment_method(m) for m in user.payment_methods},
        orders=order_ids,
    )


def product_record(product: Product) -> ProductRecord:
    """Build the record of ``product`` with all its variants."""
    return ProductRecord(
        name=product.name,
        product_id=product.id,
        variants={
            v.item_id: VariantRecord(
                item_id=v.item_id, options=v.options, available=v.available, price=v.price
            )
            for v in product.variants
        },
    )


def order_record(order: Order) -> OrderRecord:
    """Build the record of ``order`` with items, fulfilments and payment history."""
    return OrderRecord(
        order_id=order.id,
        user_id=order.user_id,
        address=_address(order),
        items=[
            OrderItemRecord(
                name=i.name,
                product_id=i.product_id,
                item_id=i.item_id,
                price=i.price,
                options=i.options,
            )
            for i in order.items
        ],
        fulfillments=[
            FulfilmentRecord(tracking_id=list(f.tracking_ids), item_ids=list(f.item_ids))
            for f in order.fulfilments
        ],
        status=order.status,
        payment_history=[
            PaymentRecord(
                transaction_type=p.transaction_type,
                amount=p.amount,
                payment_method_id=p.payment_method_id,
            )
            for p in order.payments
        ],
        cancel_reason=order.cancel_reason,
        return_items=order.return_items,
        return_payment_method_id=order.return_payment_method_id,
        exchange_items=order.exchange_items,
        exchange_new_items=order.exchange_new_items,
        exchange_payment_method_id=order.exchange_payment_method_id,
        exchange_price_difference=order.exchange_price_difference,
        created_at=order.created_at,
    )
