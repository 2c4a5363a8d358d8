"""Retail write tools with tau-bench semantics: cancel, modify, return, exchange, address.

Each check runs in the order tau-bench runs it, so an invalid call fails at the same check
with the same kind of error (``ToolError.code``). Every write runs in one transaction (see
:meth:`tools.SqlBackend.write`); a :class:`ToolError` leaves the database untouched.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from sqlalchemy.orm import Session

from tools._context import ToolContext
from tools._money import to_money
from tools._tool import tool
from tools.errors import ToolError
from tools.retail._inputs import (
    CANCEL_REASONS,
    AddressChange,
    CancelPendingOrderInput,
    ExchangeDeliveredOrderItemsInput,
    ModifyPendingOrderAddressInput,
    ModifyPendingOrderItemsInput,
    ModifyPendingOrderPaymentInput,
    ModifyUserAddressInput,
    ReturnDeliveredOrderItemsInput,
)
from tools.retail._lookup import (
    load_order,
    load_payment_method,
    load_user,
    user_order_ids,
)
from tools.retail._records import OrderRecord, UserRecord, order_record, user_record
from tools.retail._schema import Order, OrderItem, PaymentMethod, PaymentTransaction, Variant

__all__ = [
    "cancel_pending_order",
    "exchange_delivered_order_items",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
    "return_delivered_order_items",
]


def _require_status(order: Order, status: str, action: str) -> None:
    if order.status != status:
        raise ToolError(
            f"order {order.id} is {order.status}, not {status}: only {status} orders can be "
            f"{action}",
            code=f"not_{status}",
            field="order_id",
        )


def _require_items(order: Order, item_ids: list[str], *, message: str | None = None) -> None:
    held = Counter(item.item_id for item in order.items)
    for item_id, wanted in Counter(item_ids).items():
        if wanted > held[item_id]:
            raise ToolError(
                message or f"item {item_id} is not in order {order.id} (or not that many times)",
                code="item_not_found",
                field="item_ids",
            )


def _first_item(order: Order, item_id: str) -> OrderItem:
    return next(item for item in order.items if item.item_id == item_id)


def _price_difference(
    session: Session, order: Order, item_ids: list[str], new_item_ids: list[str]
) -> Decimal:
    if len(item_ids) != len(new_item_ids):
        raise ToolError(
            "item_ids and new_item_ids must have the same length",
            code="item_count_mismatch",
            field="new_item_ids",
        )
    difference = Decimal(0)
    for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
        item = _first_item(order, item_id)
        variant = session.get(Variant, new_item_id)
        if variant is None or variant.product_id != item.product_id or not variant.available:
            raise ToolError(
                f"new item {new_item_id} is not an available variant of {item.name} "
                f"(product {item.product_id})",
                code="variant_unavailable",
                field="new_item_ids",
            )
        difference += variant.price - item.price
    return to_money(difference)


def _check_gift_card_covers(method: PaymentMethod, amount: Decimal, purpose: str) -> None:
    if method.source == "gift_card" and (method.balance or Decimal(0)) < amount:
        raise ToolError(
            f"gift card {method.id} has a balance of {method.balance}, not enough for {purpose} "
            f"of {amount}",
            code="insufficient_gift_card_balance",
            field="payment_method_id",
        )


def _add_transaction(
    ctx: ToolContext, order: Order, kind: str, amount: Decimal, payment_method_id: str
) -> None:
    order.payments.append(
        PaymentTransaction(
            position=len(order.payments),
            transaction_type=kind,
            amount=amount,
            payment_method_id=payment_method_id,
            created_at=ctx.clock(),
        )
    )


def _credit_gift_card(
    session: Session, order: Order, payment_method_id: str, amount: Decimal
) -> None:
    method = session.get(PaymentMethod, payment_method_id, with_for_update=True)
    if method is not None and method.user_id == order.user_id and method.balance is not None:
        method.balance = to_money(method.balance + amount)


def _set_address(target: object, address: AddressChange) -> None:
    for name in ("address1", "address2", "city", "state", "country", "zip"):
        setattr(target, name, getattr(address, name))


@tool(effect="write")
def cancel_pending_order(args: CancelPendingOrderInput, ctx: ToolContext) -> OrderRecord:
    """Cancel a pending order and refund its payments.

    The reason must be 'no longer needed' or 'ordered by mistake'. Gift card payments are
    refunded at once; other methods in 5 to 7 business days. Explain the details and get the
    customer's explicit confirmation (yes) first.
    """
    order = load_order(ctx.db, args.order_id, for_update=True)
    _require_status(order, "pending", "cancelled")
    if args.reason not in CANCEL_REASONS:
        raise ToolError(
            f"invalid cancellation reason {args.reason!r}: use 'no longer needed' or "
            "'ordered by mistake'",
            code="invalid_reason",
            field="reason",
        )
    for payment in list(order.payments):
        _add_transaction(ctx, order, "refund", payment.amount, payment.payment_method_id)
        if "gift_card" in payment.payment_method_id:
            _credit_gift_card(ctx.db, order, payment.payment_method_id, payment.amount)
    order.status = "cancelled"
    order.cancel_reason = args.reason
    ctx.db.flush()
    return order_record(order)


@tool(effect="write")
def modify_pending_order_address(
    args: ModifyPendingOrderAddressInput, ctx: ToolContext
) -> OrderRecord:
    """Change the shipping address of a pending order.

    Explain the details and get the customer's explicit confirmation (yes) first.
    """
    order = load_order(ctx.db, args.order_id, for_update=True)
    _require_status(order, "pending", "modified")
    _set_address(order, args)
    ctx.db.flush()
    return order_record(order)


@tool(effect="write")
def modify_pending_order_payment(
    args: ModifyPendingOrderPaymentInput, ctx: ToolContext
) -> OrderRecord:
    """Pay a pending order with a different payment method; the original one is refunded.

    A gift card must cover the whole order total. Explain the details and get the customer's
    explicit confirmation (yes) first.
    """
    order = load_order(ctx.db, args.order_id, for_update=True)
    _require_status(order, "pending", "modified")
    method = load_payment_method(ctx.db, order.user_id, args.payment_method_id, for_update=True)
    if len(order.payments) != 1 or order.payments[0].transaction_type != "payment":
        raise ToolError(
            f"order {order.id} must have exactly one payment to change its payment method",
            code="multiple_payments",
            field="order_id",
        )
    original = order.payments[0]
    if original.payment_method_id == method.id:
        raise ToolError(
            f"order {order.id} is already paid with {method.id}; choose a different method",
            code="same_payment_method",
            field="payment_method_id",
        )
    amount = original.amount
    _check_gift_card_covers(method, amount, "the order total")
    _add_transaction(ctx, order, "payment", amount, method.id)
    _add_transaction(ctx, order, "refund", amount, original.payment_method_id)
    if method.source == "gift_card":
        method.balance = to_money((method.balance or Decimal(0)) - amount)
    if "gift_card" in original.payment_method_id:
        _credit_gift_card(ctx.db, order, original.payment_method_id, amount)
    ctx.db.flush()
    return order_record(order)


@tool(effect="write")
def modify_pending_order_items(args: ModifyPendingOrderItemsInput, ctx: ToolContext) -> OrderRecord:
    """Change items of a pending order to other variants of the same products.

    Can be done only once per order: collect every item to change first. The price difference
    is paid by, or refunded to, the given payment method (a gift card must cover it). Explain
    the details and get the customer's explicit confirmation (yes) first.
    """
    order = load_order(ctx.db, args.order_id, for_update=True)
    _require_status(order, "pending", "modified")
    _require_items(order, args.item_ids)
    difference = _price_difference(ctx.db, order, args.item_ids, args.new_item_ids)
    method = load_payment_method(ctx.db, order.user_id, args.payment_method_id, for_update=True)
    _check_gift_card_covers(method, difference, "the price difference")
    kind = "payment" if difference > 0 else "refund"
    _add_transaction(ctx, order, kind, abs(difference), method.id)
    if method.source == "gift_card":
        method.balance = to_money((method.balance or Decimal(0)) - difference)
    for item_id, new_item_id in zip(args.item_ids, args.new_item_ids, strict=True):
        item = _first_item(order, item_id)
        variant = ctx.db.get(Variant, new_item_id)
        assert variant is not None  # checked by _price_difference
        item.item_id = variant.item_id
        item.price = variant.price
        item.options = dict(variant.options)
    order.status = "pending (item modified)"
    ctx.db.flush()
    return order_record(order)


@tool(effect="write")
def return_delivered_order_items(
    args: ReturnDeliveredOrderItemsInput, ctx: ToolContext
) -> OrderRecord:
    """Request a return of items of a delivered order; the status becomes 'return requested'.

    The refund goes to the original payment method or to an existing gift card. The customer
    gets an email on how to send the items back. Explain the details and get the customer's
    explicit confirmation (yes) first.
    """
    order = load_order(ctx.db, args.order_id, for_update=True)
    _require_status(order, "delivered", "returned")
    load_payment_method(ctx.db, order.user_id, args.payment_method_id)
    original = order.payments[0].payment_method_id if order.payments else None
    if "gift_card" not in args.payment_method_id and args.payment_method_id != original:
        raise ToolError(
            "the refund must go to the original payment method or a gift card",
            code="payment_method_not_allowed",
            field="payment_method_id",
        )
    _require_items(order, args.item_ids, message="some items to return are not in the order")
    order.status = "return requested"
    order.return_items = sorted(args.item_ids)
    order.return_payment_method_id = args.payment_method_id
    ctx.db.flush()
    return order_record(order)


@tool(effect="write")
def exchange_delivered_order_items(
    args: ExchangeDeliveredOrderItemsInput, ctx: ToolContext
) -> OrderRecord:
    """Exchange items of a delivered order for other variants of the same products.

    Can be done only once per order: collect every item first. The price difference is paid
    by, or refunded to, the given payment method (a gift card must cover it). Explain the
    details and get the customer's explicit confirmation (yes) first.
    """
    order = load_order(ctx.db, args.order_id, for_update=True)
    _require_status(order, "delivered", "exchanged")
    _require_items(order, args.item_ids)
    difference = _price_difference(ctx.db, order, args.item_ids, args.new_item_ids)
    method = load_payment_method(ctx.db, order.user_id, args.payment_method_id)
    _check_gift_card_covers(method, difference, "the price difference")
    order.status = "exchange requested"
    order.exchange_items = sorted(args.item_ids)
    order.exchange_new_items = sorted(args.new_item_ids)
    order.exchange_payment_method_id = method.id
    order.exchange_price_difference = difference
    ctx.db.flush()
    return order_record(order)


@tool(effect="write")
def modify_user_address(args: ModifyUserAddressInput, ctx: ToolContext) -> UserRecord:
    """Change a customer's default address.

    Explain the details and get the customer's explicit confirmation (yes) first.
    """
    user = load_user(ctx.db, args.user_id)
    _set_address(user, args)
    ctx.db.flush()
    return user_record(user, user_order_ids(ctx.db, user.id))
