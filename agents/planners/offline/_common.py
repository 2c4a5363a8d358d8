"""What the playbooks share: how a proposal ended, bounded questions, the request's words.

A playbook proposes a write at most once per set of arguments: when the latest decision on
exactly that proposal is a decline, a denial or a failed call, the request is settled with
a message saying so; a changed proposal (the customer corrected something) goes ahead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agents._steps import Ask, CallTool, Step
from agents.planners.offline._entities import Address, is_dont_know, yes_no
from agents.planners.offline._flows import (
    Context,
    Outcome,
    cannot,
    escalate,
    items_listing,
)
from agents.planners.offline._matching import select_items
from agents.planners.offline._reading import Event
from agents.planners.offline._tasks import Task
from agents.planners.offline._texts import (
    item_label,
    join_names,
)

__all__ = [
    "NOT_ITEMS",
    "PAYMENT_PHRASE",
    "Playbook",
    "Result",
    "bounded_ask",
    "choose_items",
    "item_words",
    "settle_proposal",
    "times_asked",
    "to_address",
    "variant_words",
    "why_not",
]

Result = Step | Outcome
Playbook = Callable[[Context, Task], Result]

_WHY_NOT: dict[str, str] = {
    "processed": "it has already been processed for shipping",
    "delivered": "it has already been delivered",
    "cancelled": "it has already been cancelled",
    "pending (item modified)": "its items were already modified, which locks the order",
    "return requested": "a return has already been requested for it",
    "exchange requested": "an exchange has already been requested for it",
    "pending": "it is still pending and hasn't been delivered yet",
}


def why_not(order: dict[str, Any]) -> str:
    status = str(order.get("status"))
    return _WHY_NOT.get(status, f"its status is {status}")


# -- the latest write event of a request -------------------------------------------------------
def _last_write_event(task: Task) -> Event | None:
    for event in reversed(task.events):
        if event.kind == "tool" or (event.kind == "decision" and event.effect != "confirm"):
            return event
        if event.kind == "review":
            return event
    return None


def settle_proposal(
    task: Task, name: str, args: dict[str, Any], *, verb_refused: str, verb_declined: str
) -> Outcome | None:
    """How a proposal that was already put to the customer or the policy ended, if it did.

    A new proposal (the customer changed something after a decline) is not settled.
    """
    event = _last_write_event(task)
    if event is None:
        return None
    if event.kind == "review" and event.decision == "reject":
        reason = event.text or "it did not pass review"
        return Outcome(f"I'm sorry, but {verb_refused}: {reason}.", "refused")
    if event.kind == "review":
        return None
    if event.name != name or _normal(event.args) != _normal(args):
        return None
    if event.kind == "decision" and event.effect == "declined":
        return Outcome(f"All right, I {verb_declined}.", "declined")
    if event.kind == "decision" and event.effect == "deny":
        reason = " ".join(event.messages) or "it isn't allowed under our policy"
        return Outcome(f"I'm sorry, but {verb_refused}: {reason.rstrip('.')}.", "refused")
    if event.kind == "tool" and not event.ok:
        return Outcome(f"I'm sorry, I {_couldnt(verb_refused)}: {event.error()}.", "failed")
    return None


def propose(
    task: Task, name: str, args: dict[str, Any], *, verb_refused: str, verb_declined: str
) -> Outcome | CallTool:
    """The call to put to the customer, or how the same proposal already ended."""
    settled = settle_proposal(
        task, name, args, verb_refused=verb_refused, verb_declined=verb_declined
    )
    return settled if settled is not None else CallTool(name=name, args=args)


def _couldnt(verb_refused: str) -> str:
    return verb_refused.replace("can't be", "couldn't be").replace("can't", "couldn't")


def _normal(args: dict[str, Any]) -> dict[str, Any]:
    return {k: sorted(v) if isinstance(v, list) else v for k, v in args.items() if v is not None}


def times_asked(ctx: Context, task: Task, phrase: str) -> int:
    return ctx.conversation.times_said_after(task.start, phrase)


def bounded_ask(ctx: Context, task: Task, text: str, wants: list[str], phrase: str) -> Result:
    """Ask; after the same question twice, refuse what the customer insists on or hand off.

    A customer who keeps giving the same answer the policy can't accept (a card not on the
    account, an option that doesn't exist) is refused; one who can't answer is handed off.
    """
    if times_asked(ctx, task, phrase) >= 2:
        last = ctx.conversation.last_message
        if last is not None and not is_dont_know(last.text) and yes_no(last.text) is None:
            first = text.split(". ")[0].rstrip(".")
            why = f" {first}." if not first.endswith("?") and len(first) < len(text) else ""
            return Outcome(
                f"I'm sorry, but {cannot(task)} that way.{why} I'll leave it as it is.",
                "refused",
            )
        return escalate(
            f"could not get the customer's {', '.join(wants)} for a {task.intent} request",
            "I'm sorry, I'm having trouble getting the details right.",
        )
    return Ask(text=text, wants=wants)


def choose_items(
    ctx: Context,
    task: Task,
    order: dict[str, Any],
    verb: str,
    settle: Callable[[list[int]], int | None] | None = None,
) -> Result | list[int]:
    """The items the request is about, or a question when that is unclear.

    ``settle`` may pick one item of a group that fits a vague mention equally well (for a
    change: the item whose options the wanted ones would change).
    """
    items = list(order.get("items") or [])
    choice = select_items(item_words(task), items, ctx.embedder)
    chosen = list(choice.indices)
    ambiguous = list(choice.ambiguous)
    if ambiguous and settle is not None:
        pick = settle(ambiguous)
        if pick is not None:
            chosen.append(pick)
            ambiguous = []
    if chosen and not ambiguous:
        return chosen
    if len(items) == 1 and not choice.named:
        return [0]
    if ambiguous:
        options = join_names(f"the {item_label(items[i])}" for i in ambiguous)
        text = f"{order['order_id']} has more than one of those: {options}. Which item do you mean?"
    else:
        text = (
            f"Which item from {order['order_id']} would you like to {verb}? "
            f"It has {items_listing(order)}."
        )
    if verb in ("exchange", "change"):
        text += " Please name every item you want to change now: this can be done only once."
    last = ctx.conversation.last_message
    if chosen and last is not None and "item" in last.asked:
        return chosen
    return bounded_ask(ctx, task, text, ["item"], "which item")


NOT_ITEMS = ("new_variant", "payment", "email", "zip", "reason", "address", "confirmation")


def item_words(task: Task) -> str:
    """What the customer said about which items (not about options, payment or identity)."""
    return task.text_for(*NOT_ITEMS)


PAYMENT_PHRASE = re.compile(
    r",?\s*\b(?:using|paying\s+with|pay\s+with|charged?\s+to|with\s+the\s+refund\s+to|"
    r"refund(?:ed)?\s+to)\s+(?:my|the|a|an)\b[^.;]*",
    re.IGNORECASE,
)


def variant_words(task: Task) -> str:
    """What the customer said about the options they want (not how to pay)."""
    text = task.text_for("payment", "email", "zip", "reason", "address", "order_id")
    return PAYMENT_PHRASE.sub(" ", text)


def to_address(data: dict[str, Any]) -> Address:
    return Address(
        str(data.get("address1", "")),
        str(data.get("address2", "")),
        str(data.get("city", "")),
        str(data.get("state", "")),
        str(data.get("zip", "")),
        str(data.get("country", "USA")),
    )
