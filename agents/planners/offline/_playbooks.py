"""One playbook per intent: a small deterministic flow from the conversation to the next step.

Each playbook reads the request's words and the tool results so far and returns either the
next step (read a fact, ask the customer, propose the write) or an :class:`Outcome` that
closes the request. Writes go through the graph's policy guard and the customer's explicit
yes; a decline, a denial or a tool error comes back here as the latest event of the request.
"""

from __future__ import annotations

import re

from agents.planners.offline._addresses import default_address, ship_elsewhere
from agents.planners.offline._changes import change_items, change_payment
from agents.planners.offline._common import Playbook, Result
from agents.planners.offline._flows import Context, Outcome, OutcomeKind
from agents.planners.offline._info import (
    account_info,
    hand_off,
    order_status,
    out_of_scope,
    product_info,
    refund_status,
)
from agents.planners.offline._intents import cued_intents
from agents.planners.offline._refunds import cancel, return_items
from agents.planners.offline._tasks import COUNTERPART, FAMILY, TOOL_INTENT, Task

__all__ = ["PLAYBOOKS", "run_playbook"]

PLAYBOOKS: dict[str, Playbook] = {
    "cancel": cancel,
    "return": return_items,
    "exchange": change_items,
    "modify_items": change_items,
    "modify_address": ship_elsewhere,
    "reroute": ship_elsewhere,
    "change_default_address": default_address,
    "modify_payment": change_payment,
    "order_status": order_status,
    "refund_status": refund_status,
    "account_info": account_info,
    "product_info": product_info,
    "out_of_scope": out_of_scope,
    "human": hand_off,
    "unsupported": hand_off,
}


def run_playbook(ctx: Context, task: Task) -> Result:
    """The next step, or the outcome, of one request."""
    _read_with_status(ctx, task)
    return PLAYBOOKS[task.intent](ctx, task)


def _read_with_status(ctx: Context, task: Task) -> None:
    """Re-read a request its order's status rules out, when its words lean the other way.

    Only a request the customer did not name outright changes ("cancel #W1" on a delivered
    order stays a cancellation, and is refused), and only to the request that fits the
    status and that the words name outright or the classifier ranked second.
    """
    if task.closed or not task.order_ids:
        return
    served = {TOOL_INTENT.get(event.name) for event in task.events}
    if served:
        # Once a call served it, the request is what that call did.
        moved = [o for (i, _), o in COUNTERPART.items() if i == task.intent and served & FAMILY[o]]
        if moved:
            task.intent = moved[0]
        return
    order = ctx.conversation.orders.get(task.order_ids[-1])
    if order is None:
        return
    other = COUNTERPART.get((task.intent, str(order.get("status"))))
    if other is None:
        return
    named = set().union(*(cued_intents(text) for text in task.texts))
    if task.intent in named:
        return
    leans = bool(_ITEM_CHANGE.search(task.text)) and other in FAMILY["exchange"]
    if other in named or task.runner_up in FAMILY[other] or leans:
        task.intent = other


# Words of an item change: "the blue one", "whatever the difference is".
_ITEM_CHANGE = re.compile(
    r"\b(?:price\s+)?difference\b|\b(?:the|a|an)\s+(?:[\w-]+\s+){1,3}(?:one|version|model)\b",
    re.IGNORECASE,
)


def outcome_kind(result: Result) -> OutcomeKind | None:
    """The kind of an outcome, None for a step."""
    return result.kind if isinstance(result, Outcome) else None
