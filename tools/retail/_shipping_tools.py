"""Retail tools beyond tau-bench: track a shipment, reroute it, follow a refund."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal, get_args

from pydantic import BaseModel

from tools._context import ToolContext
from tools._money import Money
from tools._tool import tool
from tools.errors import ToolError
from tools.retail._inputs import OrderIdInput, RerouteShipmentInput
from tools.retail._lookup import load_order
from tools.retail._records import AddressRecord
from tools.retail._schema import Fulfilment, Order, PaymentMethod, ShipmentEvent

__all__ = [
    "CARRIER_STATUSES",
    "RefundLine",
    "RefundStatus",
    "RerouteResult",
    "ShipmentEventRecord",
    "ShipmentRecord",
    "TrackingResult",
    "get_refund_status",
    "reroute_shipment",
    "track_shipment",
]

CarrierStatus = Literal[
    "label_created", "in_transit", "out_for_delivery", "delivered", "returned", "cancelled"
]
CARRIER_STATUSES: tuple[str, ...] = get_args(CarrierStatus)
REFUND_BUSINESS_DAYS = 7


class ShipmentEventRecord(BaseModel):
    """A carrier scan."""

    at: datetime
    status: str
    location: str
    description: str


class ShipmentRecord(BaseModel):
    """One shipment of an order and where it is."""

    tracking_id: list[str]
    carrier: str
    status: str
    items: list[str]
    ship_to: AddressRecord
    events: list[ShipmentEventRecord]


class TrackingResult(BaseModel):
    """Where an order's shipments are."""

    order_id: str
    order_status: str
    shipments: list[ShipmentRecord]
    note: str | None = None


class RerouteResult(BaseModel):
    """A shipment sent to a new address."""

    order_id: str
    tracking_id: list[str]
    status: str
    ship_to: AddressRecord


class RefundLine(BaseModel):
    """One refund and where it stands."""

    amount: Money
    payment_method_id: str
    method: str
    status: Literal["credited", "processing", "completed", "issued", "awaiting_return"]
    expected_by: date | None = None


class RefundStatus(BaseModel):
    """Every refund of an order."""

    order_id: str
    order_status: str
    refunds: list[RefundLine]
    note: str | None = None


def _ship_to(order: Order, fulfilment: Fulfilment) -> AddressRecord:
    if fulfilment.ship_to:
        return AddressRecord.model_validate(fulfilment.ship_to)
    return AddressRecord(
        address1=order.address1,
        address2=order.address2,
        city=order.city,
        country=order.country,
        state=order.state,
        zip=order.zip,
    )


def _item_names(order: Order, fulfilment: Fulfilment) -> list[str]:
    names = {item.item_id: item.name for item in order.items}
    return [names.get(item_id, item_id) for item_id in fulfilment.item_ids]


@tool(effect="read")
def track_shipment(args: OrderIdInput, ctx: ToolContext) -> TrackingResult:
    """Track an order's shipments: carrier, status, destination and the carrier's scans."""
    order = load_order(ctx.db, args.order_id)
    shipments = [
        ShipmentRecord(
            tracking_id=list(f.tracking_ids),
            carrier=f.carrier,
            status=f.carrier_status,
            items=_item_names(order, f),
            ship_to=_ship_to(order, f),
            events=[
                ShipmentEventRecord(
                    at=e.at, status=e.status, location=e.location, description=e.description
                )
                for e in f.events
            ],
        )
        for f in order.fulfilments
    ]
    note = None if shipments else "the order has not shipped yet"
    return TrackingResult(
        order_id=order.id, order_status=order.status, shipments=shipments, note=note
    )


@tool(effect="write")
def reroute_shipment(args: RerouteShipmentInput, ctx: ToolContext) -> RerouteResult:
    """Send an in-transit shipment to a new address.

    Only while the carrier has it in transit: not once it is out for delivery or delivered.
    Explain the details and get the customer's explicit confirmation (yes) first.
    """
    order = load_order(ctx.db, args.order_id, for_update=True)
    if not order.fulfilments:
        raise ToolError(
            f"order {order.id} has not shipped yet; change the order's address instead",
            code="no_shipment",
            field="order_id",
        )
    if args.tracking_id is None:
        if len(order.fulfilments) > 1:
            raise ToolError(
                f"order {order.id} has several shipments; give the tracking id",
                code="ambiguous_shipment",
                field="tracking_id",
            )
        fulfilment = order.fulfilments[0]
    else:
        matches = [f for f in order.fulfilments if args.tracking_id in f.tracking_ids]
        if not matches:
            raise ToolError(
                f"no shipment with tracking id {args.tracking_id} in order {order.id}",
                code="shipment_not_found",
                field="tracking_id",
            )
        fulfilment = matches[0]
    if fulfilment.carrier_status != "in_transit":
        raise ToolError(
            f"the shipment is {fulfilment.carrier_status.replace('_', ' ')}; only a shipment in "
            "transit can be rerouted",
            code="not_in_transit",
            field="order_id",
        )
    address = AddressRecord(
        address1=args.address1,
        address2=args.address2,
        city=args.city,
        country=args.country,
        state=args.state,
        zip=args.zip,
    )
    fulfilment.ship_to = address.model_dump()
    fulfilment.events.append(
        ShipmentEvent(
            at=ctx.clock(),
            status="reroute_requested",
            location=f"{address.city}, {address.state}",
            description=f"Delivery address changed to {address.address1}, {address.city}",
        )
    )
    for name, value in address.model_dump().items():
        setattr(order, name, value)
    ctx.db.flush()
    return RerouteResult(
        order_id=order.id,
        tracking_id=list(fulfilment.tracking_ids),
        status=fulfilment.carrier_status,
        ship_to=address,
    )


def _add_business_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def _describe(method: PaymentMethod | None, payment_method_id: str) -> str:
    if method is None:
        return payment_method_id
    if method.source == "credit_card":
        return f"{(method.brand or 'credit card').title()} ending {method.last_four}"
    return "PayPal" if method.source == "paypal" else "gift card"


@tool(effect="read")
def get_refund_status(args: OrderIdInput, ctx: ToolContext) -> RefundStatus:
    """Get where each refund of an order stands and when it should arrive.

    Gift card refunds are credited at once; cards and PayPal take up to 7 business days.
    """
    order = load_order(ctx.db, args.order_id)
    today = ctx.clock().astimezone(UTC).date()
    refunds: list[RefundLine] = []
    for payment in order.payments:
        if payment.transaction_type != "refund":
            continue
        method = ctx.db.get(PaymentMethod, payment.payment_method_id)
        status: Literal["credited", "processing", "completed", "issued"]
        expected: date | None = None
        if "gift_card" in payment.payment_method_id:
            status = "credited"
        elif payment.created_at is None:
            status = "issued"
        else:
            expected = _add_business_days(
                payment.created_at.astimezone(UTC).date(), REFUND_BUSINESS_DAYS
            )
            status = "completed" if today > expected else "processing"
        refunds.append(
            RefundLine(
                amount=payment.amount,
                payment_method_id=payment.payment_method_id,
                method=_describe(method, payment.payment_method_id),
                status=status,
                expected_by=expected,
            )
        )
    note = None
    if order.status == "return requested" and order.return_payment_method_id:
        returned = list(order.return_items or [])
        amount = Decimal(0)
        for item in order.items:
            if item.item_id in returned:
                returned.remove(item.item_id)
                amount += item.price
        method = ctx.db.get(PaymentMethod, order.return_payment_method_id)
        refunds.append(
            RefundLine(
                amount=amount,
                payment_method_id=order.return_payment_method_id,
                method=_describe(method, order.return_payment_method_id),
                status="awaiting_return",
            )
        )
        note = "the return refund is issued once the returned items reach the warehouse"
    if not refunds and note is None:
        note = "no refund has been issued for this order"
    return RefundStatus(order_id=order.id, order_status=order.status, refunds=refunds, note=note)
