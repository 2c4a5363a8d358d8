"""One playbook per intent: a small deterministic flow from the conversation to the next step.

Each playbook reads the request's words and the tool results so far and returns either the
next step (read a fact, ask the customer, propose the write) or an :class:`Outcome` that
closes the request. Writes go through the graph's policy guard and the customer's explicit
yes; a decline, a denial or a tool error comes back here as the latest event of the request.
"""

from __future__ import annotations

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
from agents.planners.offline._refunds import cancel, return_items
from agents.planners.offline._tasks import Task

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
    return PLAYBOOKS[task.intent](ctx, task)


def outcome_kind(result: Result) -> OutcomeKind | None:
    """The kind of an outcome, None for a step."""
    return result.kind if isinstance(result, Outcome) else None
