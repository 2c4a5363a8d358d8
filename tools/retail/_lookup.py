"""Lookups shared by the retail tools; each raises a :class:`ToolError` when nothing is found."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tools.errors import ToolError
from tools.retail._schema import Order, PaymentMethod, Product, User

__all__ = ["load_order", "load_payment_method", "load_product", "load_user", "user_order_ids"]


def load_user(session: Session, user_id: str) -> User:
    """Return the user ``user_id``."""
    user = session.get(User, user_id)
    if user is None:
        raise ToolError(f"user {user_id!r} not found", code="user_not_found", field="user_id")
    return user


def load_order(session: Session, order_id: str, *, for_update: bool = False) -> Order:
    """Return the order ``order_id``, locked for the transaction when ``for_update``."""
    order = session.get(Order, order_id, with_for_update=for_update or None)
    if order is None:
        hint = "" if order_id.startswith("#") else " (order ids start with '#', like '#W0000000')"
        raise ToolError(
            f"order {order_id!r} not found{hint}", code="order_not_found", field="order_id"
        )
    return order


def load_product(session: Session, product_id: str) -> Product:
    """Return the product ``product_id``."""
    product = session.get(Product, product_id)
    if product is None:
        raise ToolError(
            f"product {product_id!r} not found (product ids differ from item ids)",
            code="product_not_found",
            field="product_id",
        )
    return product


def load_payment_method(
    session: Session, user_id: str, payment_method_id: str, *, for_update: bool = False
) -> PaymentMethod:
    """Return the payment method ``payment_method_id`` of the user ``user_id``."""
    method = session.get(PaymentMethod, payment_method_id, with_for_update=for_update or None)
    if method is None or method.user_id != user_id:
        raise ToolError(
            f"payment method {payment_method_id!r} not found on the customer's account",
            code="payment_method_not_found",
            field="payment_method_id",
        )
    return method


def user_order_ids(session: Session, user_id: str) -> list[str]:
    """Return the ids of the user's orders in account order."""
    rows = session.scalars(
        select(Order.id).where(Order.user_id == user_id).order_by(Order.user_position, Order.id)
    )
    return list(rows)
