"""Answers and hand-offs: order status, refunds, account and product facts, people."""

from __future__ import annotations

from typing import Any

from agents._steps import CallTool
from agents.planners.offline._common import (
    Result,
    to_address,
)
from agents.planners.offline._flows import (
    Context,
    Outcome,
    authenticate,
    describe_id,
    find_order,
    list_methods,
    original_method,
)
from agents.planners.offline._matching import (
    name_score,
    select_items,
)
from agents.planners.offline._tasks import Task
from agents.planners.offline._texts import (
    item_label,
    join_names,
    money,
)

__all__ = [
    "account_info",
    "hand_off",
    "order_status",
    "out_of_scope",
    "product_info",
    "refund_status",
    "summary_for_human",
]


# -- information -------------------------------------------------------------------------------
def order_status(ctx: Context, task: Task) -> Result:
    """Status, contents, payment and tracking of an order (or an overview of them all)."""
    step = authenticate(ctx)
    if step is not None:
        return step
    conversation = ctx.conversation
    if not task.order_ids:
        owned = conversation.user_orders()
        if not owned:
            return Outcome("I don't see any orders on your account yet.", "info")
        for order_id in owned[:10]:
            if order_id not in conversation.orders and not conversation.order_errors.get(order_id):
                return CallTool(name="get_order_details", args={"order_id": order_id})
        orders = [conversation.orders[o] for o in owned if o in conversation.orders]
        matched = [
            o for o in orders if select_items(task.text, o.get("items") or [], ctx.embedder).indices
        ]
        if len(matched) == 1 or len(orders) == 1:
            target = (matched or orders)[0]
            task.order_ids.append(str(target["order_id"]))
        else:
            lines = [_status_line(o) for o in (matched or orders)]
            return Outcome(
                "Here's what I see on your account: " + " ".join(lines), "info", "order overview"
            )
    found = find_order(ctx, task, [], verb="check")
    if not isinstance(found, dict):
        return found
    order_id = str(found["order_id"])
    if found.get("fulfillments") and order_id not in conversation.tracking:
        return CallTool(name="track_shipment", args={"order_id": order_id})
    return Outcome(_status_report(ctx, found), "info", f"status of {order_id}")


def _status_line(order: dict[str, Any]) -> str:
    names = join_names(str(i.get("name")) for i in order.get("items") or [])
    tracking = [t for f in order.get("fulfillments") or [] for t in f.get("tracking_id") or []]
    track = f", tracking number {', '.join(tracking)}" if tracking else ""
    return f"{order.get('order_id')} ({names}) is {order.get('status')}{track}."


def _status_report(ctx: Context, order: dict[str, Any]) -> str:
    order_id = str(order["order_id"])
    names = join_names(f"the {item_label(i, options=False)}" for i in order.get("items") or [])
    total = sum(
        float(p.get("amount") or 0)
        for p in order.get("payment_history") or []
        if p.get("transaction_type") == "payment"
    )
    method = original_method(order)
    paid = f" It was paid with {describe_id(ctx, method)} ({money(total)})." if method else ""
    parts = [f"Here's the latest on {order_id}: it is {order.get('status')}. It has {names}.{paid}"]
    tracking = ctx.conversation.tracking.get(order_id) or {}
    for shipment in tracking.get("shipments") or []:
        ids = ", ".join(shipment.get("tracking_id") or [])
        state = str(shipment.get("status", "")).replace("_", " ")
        events = shipment.get("events") or []
        last = events[-1] if events else None
        scan = (
            f" Last scan: {last.get('description')} ({last.get('location')})."
            if last and last.get("description")
            else ""
        )
        ship_to = shipment.get("ship_to") or {}
        going = f" It's headed to {ship_to.get('city')}, {ship_to.get('state')}." if ship_to else ""
        parts.append(
            f"Tracking number {ids} with {shipment.get('carrier', 'the carrier')}: {state}."
            f"{scan}{going}"
        )
    if not tracking:
        numbers = [t for f in order.get("fulfillments") or [] for t in f.get("tracking_id") or []]
        if numbers:
            parts.append(f"Tracking number {', '.join(numbers)}.")
    return " ".join(parts)


def refund_status(ctx: Context, task: Task) -> Result:
    """Where each refund of an order stands."""
    step = authenticate(ctx)
    if step is not None:
        return step
    found = find_order(
        ctx, task, ["cancelled", "return requested", "pending (item modified)"], verb="check"
    )
    if not isinstance(found, dict):
        return found
    order_id = str(found["order_id"])
    status = ctx.conversation.refunds.get(order_id)
    if status is None:
        return CallTool(name="get_refund_status", args={"order_id": order_id})
    lines = []
    for refund in status.get("refunds") or []:
        state = str(refund.get("status", "")).replace("_", " ")
        when = f", expected by {refund['expected_by']}" if refund.get("expected_by") else ""
        lines.append(f"{money(refund.get('amount'))} for {refund.get('method')}: {state}{when}")
    note = f" Note: {status['note']}." if status.get("note") else ""
    if not lines:
        return Outcome(f"There are no refunds on {order_id} yet.{note}", "info")
    return Outcome(
        f"Here are the refund details for {order_id}: {'; '.join(lines)}.{note}",
        "info",
        f"refunds of {order_id}",
    )


def account_info(ctx: Context, task: Task) -> Result:
    """The customer's payment methods, gift card balances, default location and orders."""
    step = authenticate(ctx)
    if step is not None:
        return step
    conversation = ctx.conversation
    if conversation.user_stale and conversation.user_id is not None:
        return CallTool(name="get_user_details", args={"user_id": conversation.user_id})
    user = conversation.user or {}
    methods = list_methods(ctx)
    place = user.get("address") or {}
    home = to_address(place).one_line() if place else "not set"
    orders = ", ".join(ctx.conversation.user_orders()) or "none yet"
    return Outcome(
        f"Here's what's on your account: saved cards and accounts: {methods}. Default delivery "
        f"location: {home}. Orders: {orders}.",
        "info",
        "account details",
    )


def product_info(ctx: Context, task: Task) -> Result:
    """What the store has of a product: options, availability and prices."""
    conversation = ctx.conversation
    if conversation.catalogue is None:
        return CallTool(name="list_all_product_types", args={})
    names = list(conversation.catalogue)
    scores = [name_score(task.text, name) for name in names]
    best = max(range(len(names)), key=lambda i: scores[i]) if names else -1
    if best < 0 or scores[best] < 0.5:
        listed = join_names(sorted(names))
        return Outcome(
            f"I couldn't find that product. Here's what we have: {listed}.", "info", "catalogue"
        )
    product_id = conversation.catalogue[names[best]]
    product = conversation.products.get(product_id)
    if product is None:
        return CallTool(name="get_product_details", args={"product_id": product_id})
    available = [v for v in (product.get("variants") or {}).values() if v.get("available")]
    if not available:
        return Outcome(
            f"Here's what we have for the {names[best]}: nothing in stock right now.", "info"
        )
    prices = sorted(float(v.get("price", 0)) for v in available)
    cheapest = min(available, key=lambda v: (float(v.get("price", 0)), str(v.get("item_id"))))
    options = ", ".join(str(x) for x in (cheapest.get("options") or {}).values())
    return Outcome(
        f"Here's what we have for the {names[best]}: {len(available)} options in stock, from "
        f"{money(prices[0])} to {money(prices[-1])}. The cheapest is {money(prices[0])} "
        f"({options}).",
        "info",
        f"{names[best]} options",
    )


def out_of_scope(ctx: Context, task: Task) -> Result:
    """Politely decline what has nothing to do with the shop."""
    return Outcome(
        "I'm sorry, but that's outside what I can help with here. I can help with your "
        "orders, returns, exchanges, deliveries, refunds and account.",
        "refused",
    )


def hand_off(ctx: Context, task: Task) -> Result:
    """Transfer to a person with a summary (the graph then escalates)."""
    return CallTool(name="transfer_to_human_agents", args={"summary": summary_for_human(ctx)})


def summary_for_human(ctx: Context) -> str:
    """What a colleague needs: who, what was asked, what was done."""
    conversation = ctx.conversation
    who = conversation.user_id or "not verified"
    asked = [t.text for t in ctx.board.tasks if t.intent not in ("human", "greeting")]
    done = [
        f"{e.name} {e.args.get('order_id', '')}".strip()
        for t in ctx.board.tasks
        for e in t.events
        if e.kind == "tool" and e.ok
    ]
    first = conversation.messages[0].text if conversation.messages else ""
    parts = [f"Customer: {who}."]
    parts.append(f"Requests: {' | '.join(asked)}." if asked else f"First message: {first}")
    if done:
        parts.append(f"Done so far: {', '.join(done)}.")
    parts.append("The customer asked for a person or needs help beyond the agent's tools.")
    return " ".join(parts)[:3900]
