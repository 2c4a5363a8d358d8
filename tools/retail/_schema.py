"""The retail company's own systems as tables: customers, catalogue, orders, shipments, money.

Amounts are integer cents in the database (:class:`~tools._money.Cents`), Decimal in Python.
Lists whose order matters (a customer's orders, an order's items and payments) carry an explicit
``position`` so that a round trip through the database preserves them exactly.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tools._money import Cents
from tools._sql import UTCDateTime

__all__ = [
    "Fulfilment",
    "Order",
    "OrderItem",
    "PaymentMethod",
    "PaymentTransaction",
    "Product",
    "RetailBase",
    "ShipmentEvent",
    "User",
    "Variant",
    "retail_metadata",
]

retail_metadata = MetaData()


class RetailBase(DeclarativeBase):
    """Declarative base of the retail tables."""

    metadata = retail_metadata
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class User(RetailBase):
    """A customer account with its default address."""

    __tablename__ = "retail_users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), index=True)
    address1: Mapped[str] = mapped_column(String(200))
    address2: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(100))
    zip: Mapped[str] = mapped_column(String(20), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    payment_methods: Mapped[list[PaymentMethod]] = relationship(
        order_by="PaymentMethod.position", cascade="all, delete-orphan", lazy="selectin"
    )


class PaymentMethod(RetailBase):
    """A saved payment method: credit card (brand, last four), PayPal, or gift card (balance)."""

    __tablename__ = "retail_payment_methods"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("retail_users.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    brand: Mapped[str | None] = mapped_column(String(40))
    last_four: Mapped[str | None] = mapped_column(String(4))
    balance: Mapped[Decimal | None] = mapped_column(Cents)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Product(RetailBase):
    """A product type (``T-Shirt``) whose variants are the items one can buy."""

    __tablename__ = "retail_products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    variants: Mapped[list[Variant]] = relationship(
        order_by="Variant.position", cascade="all, delete-orphan", lazy="selectin"
    )


class Variant(RetailBase):
    """One buyable item of a product, defined by its option values."""

    __tablename__ = "retail_variants"

    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("retail_products.id"), index=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    available: Mapped[bool] = mapped_column(Boolean)
    price: Mapped[Decimal] = mapped_column(Cents)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Order(RetailBase):
    """An order: where it ships, what it holds, its status and the money that moved."""

    __tablename__ = "retail_orders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("retail_users.id"), index=True)
    user_position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(40), index=True)
    address1: Mapped[str] = mapped_column(String(200))
    address2: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(100))
    zip: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(100))
    return_items: Mapped[list[str] | None] = mapped_column(JSON)
    return_payment_method_id: Mapped[str | None] = mapped_column(String(64))
    exchange_items: Mapped[list[str] | None] = mapped_column(JSON)
    exchange_new_items: Mapped[list[str] | None] = mapped_column(JSON)
    exchange_payment_method_id: Mapped[str | None] = mapped_column(String(64))
    exchange_price_difference: Mapped[Decimal | None] = mapped_column(Cents)

    items: Mapped[list[OrderItem]] = relationship(
        order_by="OrderItem.position", cascade="all, delete-orphan", lazy="selectin"
    )
    fulfilments: Mapped[list[Fulfilment]] = relationship(
        order_by="Fulfilment.position", cascade="all, delete-orphan", lazy="selectin"
    )
    payments: Mapped[list[PaymentTransaction]] = relationship(
        order_by="PaymentTransaction.position", cascade="all, delete-orphan", lazy="selectin"
    )


class OrderItem(RetailBase):
    """A line of an order: a snapshot of the variant bought, at the price paid."""

    __tablename__ = "retail_order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("retail_orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Cents)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)


class Fulfilment(RetailBase):
    """A shipment of some of an order's items, with its carrier tracking."""

    __tablename__ = "retail_fulfilments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("retail_orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    tracking_ids: Mapped[list[str]] = mapped_column(JSON)
    item_ids: Mapped[list[str]] = mapped_column(JSON)
    carrier: Mapped[str] = mapped_column(String(40), default="UPS")
    carrier_status: Mapped[str] = mapped_column(String(40))
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    events: Mapped[list[ShipmentEvent]] = relationship(
        order_by="ShipmentEvent.at", cascade="all, delete-orphan", lazy="selectin"
    )


class ShipmentEvent(RetailBase):
    """A carrier scan: when, where, what happened."""

    __tablename__ = "retail_shipment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fulfilment_id: Mapped[int] = mapped_column(ForeignKey("retail_fulfilments.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(40))
    location: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)


class PaymentTransaction(RetailBase):
    """Money that moved for an order: a payment from, or a refund to, a payment method."""

    __tablename__ = "retail_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("retail_orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    transaction_type: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Cents)
    payment_method_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
