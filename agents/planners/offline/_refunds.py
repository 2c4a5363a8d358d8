"""Cancel a pending order; return items of a delivered order."""

from __future__ import annotations

import re
from typing import Any

from agents._steps import Ask
from agents.planners.offline._common import (
    Result,
    bounded_ask,
    choose_items,
    item_words,
    propose,
    times_asked,
    why_not,
)
from agents.planners.offline._entities import (
    cancel_reason,
    other_cancel_reason,
    yes_no,
)
from agents.planners.offline._flows import (
    Context,
    Outcome,
    OutcomeKind,
    describe_id,
    find_order,
    latest_payment_ref,
    list_methods,
    original_method,
    resolve_payment,
)
from agents.planners.offline._info import refund_status
from agents.planners.offline._matching import name_score, select_items
from agents.planners.offline._tasks import Task
from agents.planners.offline._texts import (
    count_names,
    describe_method,
    join_names,
    money,
    refund_timing,
)

__all__ = ["cancel", "return_items"]

_ABOUT_MONEY = re.compile(r"\b(?:refund(?:ed|s)?|money|paid\s+back|credit(?:ed)?)\b", re.IGNORECASE)


_SETTLED = frozenset(
    {"cancelled", "return requested", "exchange requested", "pending (item modified)"}
)


def _refusal_kind(ctx: Context, order: dict[str, Any], *settled: str) -> OutcomeKind:
    """``info`` when the customer told us what already happened and asks about the refund.

    "I cancelled #W1, has the refund gone through?" reads as a cancel request too; the
    order being cancelled already answers it rather than refusing it.
    """
    asks_refund = any(t.intent == "refund_status" for t in ctx.board.tasks)
    return "info" if asks_refund and order.get("status") in settled else "refused"


# -- cancel ------------------------------------------------------------------------------------
def cancel(ctx: Context, task: Task) -> Result:
    """Cancel a pending order with one of the two allowed reasons."""
    found = find_order(ctx, task, ["pending"], verb="cancel")
    if not isinstance(found, dict):
        return found
    order_id = str(found["order_id"])
    done = task.done_write()
    if done is not None:
        return _cancelled(ctx, done.result if isinstance(done.result, dict) else found)
    if found.get("status") == "cancelled" and _ABOUT_MONEY.search(task.text):
        # "I cancelled it, where's my money?": the refund's status is the answer.
        answer = refund_status(ctx, task)
        if not isinstance(answer, Outcome):
            return answer
        return Outcome(
            f"{order_id} was already cancelled, so it can't be cancelled again. {answer.text}",
            "info",
            answer.recap,
        )
    if found.get("status") != "pending":
        offer = (
            " I can help you return it if you'd like." if found.get("status") == "delivered" else ""
        )
        return Outcome(
            f"I'm sorry, but {order_id} can't be cancelled: {why_not(found)}.{offer}",
            _refusal_kind(ctx, found, "cancelled", "pending (item modified)"),
        )
    reason = None
    for text in task.texts:
        reason = cancel_reason(text) or reason
    if reason is None and any(other_cancel_reason(text) for text in task.texts):
        return Outcome(
            f"I'm sorry, but {order_id} can't be cancelled for that reason: an order can only "
            "be cancelled when it is no longer needed or was ordered by mistake.",
            "refused",
        )
    whole = _whole_order(ctx, task, found)
    if whole is not None:
        return whole
    if reason is None:
        return bounded_ask(
            ctx,
            task,
            f"I can cancel {order_id} ({join_names(i['name'] for i in found.get('items', []))}). "
            "What's the reason for the cancellation: is it no longer needed, or was it "
            "ordered by mistake?",
            ["reason"],
            "reason for the cancellation",
        )
    args = {"order_id": order_id, "reason": reason}
    return propose(
        task,
        "cancel_pending_order",
        args,
        verb_refused=f"{order_id} can't be cancelled",
        verb_declined=f"haven't cancelled {order_id}; it stays as it is",
    )


_WHOLE_ORDER = "I can only cancel a whole order"


def _whole_order(ctx: Context, task: Task, order: dict[str, Any]) -> Result | None:
    """Ask before cancelling a whole order when the customer named only part of it.

    Only whole orders can be cancelled. None means: go ahead.
    """
    items = list(order.get("items") or [])
    if len(items) < 2:
        return None
    words = item_words(task)
    named = select_items(words, items, ctx.embedder)
    if not named.indices or len(set(named.indices)) == len(items):
        return None
    if all(name_score(words, str(item.get("name", ""))) >= 0.5 for item in items):
        return None  # every item named, however listed ("(monitor + phone)")

    conversation = ctx.conversation
    asked = [
        e.index
        for e in conversation.events
        if e.kind == "agent" and e.index > task.start and _WHOLE_ORDER in e.text
    ]
    order_id = order["order_id"]
    if not asked:
        return Ask(
            text=f"{_WHOLE_ORDER}, not part of it: {order_id} contains "
            f"{count_names(items)}. Shall I cancel all of it?",
            wants=[],
        )
    reply = next((m for m in conversation.messages if m.index > asked[-1]), None)
    if reply is not None and yes_no(reply.text) == "yes":
        return None
    return Outcome(f"All right, I haven't cancelled {order_id}; it stays as it is.", "declined")


def _cancelled(ctx: Context, order: dict[str, Any]) -> Outcome:
    order_id = order.get("order_id")
    methods = ctx.conversation.payment_methods()
    lines = []
    total = 0.0
    for payment in order.get("payment_history") or []:
        if payment.get("transaction_type") != "payment":
            continue
        total += float(payment.get("amount") or 0)
        method_id = str(payment.get("payment_method_id"))
        lines.append(
            f"{money(payment.get('amount'))} goes back to "
            f"{describe_method(methods.get(method_id), method_id)} {refund_timing(method_id)}"
        )
    money_back = f" {'; '.join(lines)}." if lines else ""
    return Outcome(
        f"Done: {order_id} is now cancelled.{money_back}",
        "done",
        f"{order_id} cancelled ({money(total)})",
        round(total, 2),
    )


def _refund_method(ctx: Context, task: Task, order: dict[str, Any], purpose: str) -> Result | str:
    """Where a refund goes: the original method or a gift card, by the customer's words."""
    original = original_method(order)
    ref = latest_payment_ref(task)
    if ref is None:
        if original is None:
            return bounded_ask(
                ctx,
                task,
                f"Which payment method should receive the {purpose}? You have {list_methods(ctx)}.",
                ["payment"],
                "which payment method",
            )
        return original
    chosen, _ = resolve_payment(ctx, ref, order)
    if chosen is not None and (chosen == original or "gift_card" in chosen):
        return chosen
    gift_cards = [m for m in ctx.conversation.payment_methods() if "gift_card" in m]
    if chosen is None and ref.kind == "gift_card" and len(gift_cards) > 1:
        return gift_cards[0]
    first = original or ""
    allowed = describe_id(ctx, first) if first else "the original payment method"
    gift = " or to one of your gift cards" if gift_cards else ""
    rule = f"A {purpose} can only go back to the original payment method ({allowed}){gift}."
    if times_asked(ctx, task, "can only go back to the original payment method"):
        # The customer insists on a method the policy does not allow.
        return Outcome(
            f"I'm sorry, but {order['order_id']} can't be returned that way. {rule}", "refused"
        )
    return bounded_ask(
        ctx, task, f"{rule} Which payment method would you like?", ["payment"],
        "which payment method",
    )  # fmt: skip


def return_items(ctx: Context, task: Task) -> Result:
    """Return items of a delivered order, refunded to the original method or a gift card."""
    found = find_order(ctx, task, ["delivered"], verb="return")
    if not isinstance(found, dict):
        return found
    order_id = str(found["order_id"])
    done = task.done_write()
    if done is not None:
        return _returned(ctx, done.result if isinstance(done.result, dict) else found)
    if found.get("status") != "delivered":
        offer = " I can cancel it if you'd like." if found.get("status") == "pending" else ""
        return Outcome(
            f"I'm sorry, but {order_id} can't be returned: {why_not(found)}.{offer}",
            _refusal_kind(ctx, found, "return requested", "exchange requested"),
        )
    chosen = choose_items(ctx, task, found, "return")
    if not isinstance(chosen, list):
        return chosen
    method = _refund_method(ctx, task, found, "refund")
    if not isinstance(method, str):
        return method
    items = found.get("items") or []
    args = {
        "order_id": order_id,
        "item_ids": [str(items[i]["item_id"]) for i in chosen],
        "payment_method_id": method,
    }
    return propose(
        task,
        "return_delivered_order_items",
        args,
        verb_refused=f"{order_id} can't be returned",
        verb_declined=f"haven't started a return for {order_id}",
    )


def _returned(ctx: Context, order: dict[str, Any]) -> Outcome:
    order_id = order.get("order_id")
    wanted = list(order.get("return_items") or [])
    returned = []
    for item in order.get("items") or []:
        if item.get("item_id") in wanted:
            wanted.remove(item.get("item_id"))
            returned.append(item)
    total = sum(float(i.get("price", 0)) for i in returned)
    method_id = str(order.get("return_payment_method_id") or "")
    where = describe_id(ctx, method_id) if method_id else "the original payment method"
    return Outcome(
        f"Done: your return request for {order_id} is in for {count_names(returned)}. "
        f"We'll send you instructions for shipping them back. The refund of {money(total)} "
        f"goes back to {where} {refund_timing(method_id)} after they arrive.",
        "done",
        f"return of {count_names(returned)} from {order_id} ({money(total)})",
        round(total, 2),
    )
