"""Where things go: a pending order's address, a parcel in transit, the default address."""

from __future__ import annotations

import re
from typing import Any

from agents._steps import CallTool
from agents.planners.offline._common import (
    Result,
    bounded_ask,
    propose,
    to_address,
    why_not,
)
from agents.planners.offline._entities import (
    Address,
    parse_address,
)
from agents.planners.offline._flows import (
    Context,
    Outcome,
    authenticate,
    find_order,
)
from agents.planners.offline._intents import ruled_out_before
from agents.planners.offline._reading import Event
from agents.planners.offline._tasks import Task
from agents.planners.offline._texts import join_names

__all__ = ["default_address", "ship_elsewhere"]


# -- addresses ---------------------------------------------------------------------------------
_DEFAULT_ADDRESS = re.compile(
    r"\b(?:default|home|account'?s?|profile|on\s+file|my\s+usual)\s+(?:address|one)\b", re.I
)
_ORDER_ADDRESS = re.compile(
    r"\b(?:same\s+as|the\s+one\s+(?:on|from|in)|the\s+address\s+(?:on|from|of|in))\s+"
    r"(?:my\s+|the\s+)?(?:last\s+|recent\s+|latest\s+)?order\b",
    re.I,
)


def _names_default(text: str) -> bool:
    """Whether the text asks for the account's address ("send it to my home address").

    "Only this order, not my account address" rules it out instead.
    """
    return any(not ruled_out_before(text, m.start()) for m in _DEFAULT_ADDRESS.finditer(text))


def _address_from(ctx: Context, task: Task, *, allow_default: bool) -> Address | None:
    found: Address | None = None
    for text in task.texts:
        parsed = parse_address(text)
        if parsed is not None:
            found = parsed
            continue
        user = ctx.conversation.user or {}
        if allow_default and _names_default(text) and user.get("address"):
            found = to_address(user["address"])
        elif _ORDER_ADDRESS.search(text) and task.order_ids:
            order = ctx.conversation.orders.get(task.order_ids[-1])
            if order and order.get("address"):
                found = to_address(order["address"])
    return found


def _ask_address(ctx: Context, task: Task, what: str) -> Result:
    return bounded_ask(
        ctx,
        task,
        f"What's the new address for {what}? Please write it on one line, for example "
        "12 Oak St, Apt 4, Austin, TX 78701.",
        ["address"],
        "new address",
    )


def ship_elsewhere(ctx: Context, task: Task) -> Result:
    """Change where an order goes: the pending order's address, or reroute the parcel."""
    found = find_order(ctx, task, ["pending", "processed"], verb="send elsewhere")
    if not isinstance(found, dict):
        return found
    order_id = str(found["order_id"])
    done = task.done_write()
    if done is not None:
        return _shipped_elsewhere(ctx, done, order_id)
    status = found.get("status")
    if status == "pending":
        tool = "modify_pending_order_address"
        verbs = (f"can't change where {order_id} ships", f"haven't changed where {order_id} ships")
    elif status == "processed":
        tracking = ctx.conversation.tracking.get(order_id)
        if tracking is None:
            return CallTool(name="track_shipment", args={"order_id": order_id})
        moving = [s for s in tracking.get("shipments") or [] if s.get("status") == "in_transit"]
        if not moving:
            states = join_names(
                str(s.get("status", "")).replace("_", " ") for s in tracking.get("shipments") or []
            )
            why = f"the parcel is {states}" if states else "it hasn't left the warehouse yet"
            return Outcome(
                f"I'm sorry, but {order_id} can't be rerouted: {why}, and only a parcel in "
                "transit can be sent somewhere else.",
                "refused",
            )
        tool = "reroute_shipment"
        verbs = (f"{order_id} can't be rerouted", f"haven't rerouted {order_id}")
    else:
        return Outcome(
            f"I'm sorry, but I can't change where {order_id} ships: {why_not(found)}.", "refused"
        )
    address = _address_from(ctx, task, allow_default=True)
    if address is None:
        return _ask_address(ctx, task, order_id)
    args: dict[str, Any] = {"order_id": order_id, **address.fields()}
    if tool == "reroute_shipment":
        shipments = (ctx.conversation.tracking.get(order_id) or {}).get("shipments") or []
        if len(shipments) > 1:
            moving = [s for s in shipments if s.get("status") == "in_transit"]
            args["tracking_id"] = str((moving[0].get("tracking_id") or [""])[0])
    return propose(task, tool, args, verb_refused=verbs[0], verb_declined=verbs[1])


def _shipped_elsewhere(ctx: Context, done: Event, order_id: str) -> Outcome:
    address = to_address(
        (done.result or {}).get("ship_to") or (done.result or {}).get("address") or done.args
    )
    if done.name == "reroute_shipment":
        return Outcome(
            f"Done: the parcel for {order_id} is being rerouted to {address.one_line()}.",
            "done",
            f"{order_id} rerouted",
        )
    return Outcome(
        f"Done: {order_id} will now ship to {address.one_line()}.", "done", f"{order_id} updated"
    )


def default_address(ctx: Context, task: Task) -> Result:
    """Change the customer's default address."""
    step = authenticate(ctx)
    if step is not None:
        return step
    user_id = str(ctx.conversation.user_id)
    done = task.done_write()
    if done is not None:
        saved = to_address((done.result or {}).get("address") or done.args)
        return Outcome(
            f"Done: your account's default is now {saved.one_line()}.",
            "done",
            "default updated",
        )
    address = _address_from(ctx, task, allow_default=False)
    if address is None and _ORDER_ADDRESS.search(task.text):
        found = find_order(ctx, task, ["pending", "processed", "delivered"], verb="use")
        if not isinstance(found, dict):
            return found
        address = to_address(found.get("address") or {})
    if address is None:
        return _ask_address(ctx, task, "your account")
    args = {"user_id": user_id, **address.fields()}
    return propose(
        task,
        "modify_user_address",
        args,
        verb_refused="I can't change your account's default",
        verb_declined="haven't changed your account's default",
    )
