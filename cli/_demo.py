"""``resolve demo``: the main job on embedded defaults, end to end, with no model and no server.

It builds the demo retail database when there is none, then walks a customer's requests
through the typed tools exactly as the agent will: authenticate, look up, act with an
idempotency key, prove the retry is a replay, and report the facts the customer needs. Then
another customer is served by the agent itself with the offline planner (local sentence
model, policy guard, confirmation), end to end.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.panel import Panel
from sqlalchemy import select

from cli._common import DbOption, console, fail_cleanly, retail_db
from cli._demo_agent import run_agent_demo
from tools import SqlBackend, ToolConfigError, ToolContext, ToolRegistry, ToolResult
from tools.retail import (
    Fulfilment,
    Order,
    open_retail_backend,
    retail_counts,
    retail_registry,
    seed_demo,
)

app = typer.Typer()


def _show(step: str, result: ToolResult) -> None:
    colour = "green" if result.ok else "red"
    label = "replayed" if result.replayed else ("ok" if result.ok else "refused")
    console.print(f"[dim]tool[/] [bold]{result.tool}[/] [{colour}]{label}[/] - {step}")


def _call(
    registry: ToolRegistry, ctx: ToolContext, step: str, name: str, **args: Any
) -> dict[str, Any]:
    result = registry.invoke(name, args, ctx)
    _show(step, result)
    payload: dict[str, Any] = result.payload()
    return payload


def _pick_orders(backend: SqlBackend) -> tuple[str, str, str]:
    """A customer with a pending order, and an order whose shipment is in transit."""

    def query(session: Any) -> tuple[str, str, str]:
        in_transit = (
            select(Order.user_id, Order.id.label("transit_id"))
            .join(Fulfilment, Fulfilment.order_id == Order.id)
            .where(Fulfilment.carrier_status == "in_transit")
            .subquery()
        )
        row = session.execute(
            select(Order.user_id, Order.id, in_transit.c.transit_id)
            .join(in_transit, in_transit.c.user_id == Order.user_id)
            .where(Order.status == "pending")
            .order_by(Order.id)
            .limit(1)
        ).first()
        if row is None:
            raise ToolConfigError(
                "the database has no customer with a pending order and a parcel in transit: "
                "run `resolve demo --fresh` to rebuild the demo data"
            )
        return str(row[0]), str(row[1]), str(row[2])

    result: tuple[str, str, str] = backend.read(query)
    return result


def run_demo(location: str, *, fresh: bool = False) -> None:
    """Seed the demo database if needed and walk one customer's requests through the tools."""
    backend = open_retail_backend(location)
    if fresh or retail_counts(backend)["orders"] == 0:
        summary = seed_demo(backend)
        console.print(
            f"seeded demo data: {summary.users} customers, {summary.products} products, "
            f"{summary.orders} orders in {location}"
        )
    registry = retail_registry()
    user_id, order_id, transit_id = _pick_orders(backend)
    ctx = ToolContext(backend=backend)
    profile = _call(registry, ctx, "look up the profile", "get_user_details", user_id=user_id)
    email = profile["email"]
    console.print(
        Panel(
            f"Customer: hi, I'm {email} - please cancel order {order_id}, I no "
            "longer need it. And where is my other parcel?",
            title="chat",
        )
    )
    found = _call(registry, ctx, "authenticate by email", "find_user_id_by_email", email=email)
    ctx = ctx.with_customer(found["user_id"])
    order = _call(registry, ctx, "check the order's status", "get_order_details", order_id=order_id)
    console.print(
        f"  order {order_id} is [bold]{order['status']}[/], total "
        f"{sum(p['amount'] for p in order['payment_history']):.2f} USD"
    )
    key = f"demo:{order_id}:cancel"
    keyed = ctx.with_key(key)
    cancelled = _call(
        registry,
        keyed,
        "cancel (customer said yes)",
        "cancel_pending_order",
        order_id=order_id,
        reason="no longer needed",
    )
    again = registry.invoke(
        "cancel_pending_order", {"order_id": order_id, "reason": "no longer needed"}, keyed
    )
    _show("the same request retried with the same key: no second refund", again)
    refunds = _call(registry, ctx, "refund status", "get_refund_status", order_id=order_id)
    tracking = _call(registry, ctx, "track the parcel", "track_shipment", order_id=transit_id)
    lines = [f"Order {order_id} is {cancelled.get('status', 'unchanged')}."]
    for refund in refunds.get("refunds", []):
        timing = (
            "credited now"
            if refund["status"] == "credited"
            else (f"expected by {refund.get('expected_by')}")
        )
        lines.append(f"Refund of {refund['amount']:.2f} USD to your {refund['method']}: {timing}.")
    for shipment in tracking.get("shipments", []):
        lines.append(
            f"Parcel {shipment['tracking_id'][0]} ({shipment['carrier']}) is "
            f"{shipment['status'].replace('_', ' ')}, heading to {shipment['ship_to']['city']}."
        )
    console.print(Panel("\n".join(lines), title="agent"))
    try:
        run_agent_demo(backend)
    finally:
        backend.dispose()


@app.command()
def demo(
    db: DbOption = None,
    fresh: Annotated[bool, typer.Option(help="Rebuild the demo database first.")] = False,
) -> None:
    """Run the main job on embedded defaults: demo data, the tools, then the offline agent."""
    with fail_cleanly():
        run_demo(retail_db(db), fresh=fresh)
