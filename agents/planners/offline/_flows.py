"""Steps every playbook shares: verify the customer, find the order, read payment methods.

A flow function returns either a step to take now (a tool call, a question) or the value it
was asked for. Questions name the facts they want (``Ask.wants``) with the fixed keys
``email``, ``first_name``, ``last_name``, ``zip``, ``order_id``, ``item``, ``new_variant``,
``payment``, ``reason`` and ``address``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agents._steps import Ask, CallTool, Escalate, Step
from agents.planners.offline._embedder import Embedder
from agents.planners.offline._entities import (
    PaymentRef,
    emails,
    is_dont_know,
    order_ids,
    payment_ref,
    person_name,
    zip_codes,
)
from agents.planners.offline._matching import match_strength
from agents.planners.offline._reading import Conversation
from agents.planners.offline._tasks import Task, TaskBoard
from agents.planners.offline._texts import describe_method, item_label, join_names, money

__all__ = [
    "Context",
    "Outcome",
    "OutcomeKind",
    "authenticate",
    "escalate",
    "cannot",
    "find_order",
    "original_method",
    "resolve_payment",
]

OutcomeKind = Literal["done", "info", "refused", "declined", "failed"]
_MAX_ORDERS_SCANNED = 10


@dataclass(frozen=True)
class Outcome:
    """A request finished: what to tell the customer, and how it ended.

    Attributes:
        text: The closing message (it carries the request's closing phrase).
        kind: ``done`` (an action ran), ``info`` (a question answered), ``refused``
            (not allowed), ``declined`` (the customer said no), ``failed`` (a tool error).
        recap: A few words for the final summary ("#W1 cancelled").
        money_back: What the customer gets back through this request, in dollars.
    """

    text: str
    kind: OutcomeKind
    recap: str = ""
    money_back: float = 0.0


@dataclass
class Context:
    """What a playbook reads: the conversation, the requests, the sentence model."""

    conversation: Conversation
    board: TaskBoard
    embedder: Embedder | None


def escalate(reason: str, message: str | None = None) -> Step:
    """Hand off to a person, with the customer-facing message when the step supports it."""
    data: dict[str, Any] = {"kind": "escalate", "reason": reason}
    if message and "message" in Escalate.model_fields:
        data["message"] = message
    return Escalate.model_validate(data)


# -- identity ----------------------------------------------------------------------------------
_ASK_IDENTITY = (
    "I can help with that. First I need to verify your identity: could you tell me the email "
    "address on your account? If you prefer, your first and last name and your zip code work too."
)
_ASK_NAME_ZIP = "No problem. Could you give me your first and last name and your zip code instead?"


def _identity(conversation: Conversation) -> tuple[list[str], tuple[str, str] | None, str | None]:
    found_emails: list[str] = []
    name: tuple[str, str] | None = None
    zip_code: str | None = None
    for message in conversation.messages:
        found_emails.extend(emails(message.text))
        asked_name = "first_name" in message.asked
        named = person_name(message.text, asked=asked_name)
        if named:
            name = named
        zips = zip_codes(message.text, bare=asked_name or "zip" in message.asked or bool(named))
        if zips:
            zip_code = zips[-1]
    return found_emails, name, zip_code


def authenticate(ctx: Context) -> Step | None:
    """Verify the customer (email, or name and zip) and read their profile; None when done."""
    conversation = ctx.conversation
    if conversation.user_id is None:
        found_emails, name, zip_code = _identity(conversation)
        for email in reversed(found_emails):
            if (email.lower(),) not in conversation.auth_tried:
                return CallTool(name="find_user_id_by_email", args={"email": email})
        if name and zip_code:
            key = (name[0].lower(), name[1].lower(), zip_code.lower())
            if key not in conversation.auth_tried:
                args = {"first_name": name[0], "last_name": name[1], "zip": zip_code}
                return CallTool(name="find_user_id_by_name_zip", args=args)
        failures = len(conversation.auth_failures)
        if failures >= 3 or conversation.times_said_after(-1, "zip code") >= 3:
            return escalate(
                "the customer's identity could not be verified",
                "I'm sorry, I couldn't verify your identity with the details I have.",
            )
        last = conversation.last_message
        email_failed = any(e.name == "find_user_id_by_email" for e in conversation.auth_failures)
        dont_know = last is not None and "email" in last.asked and is_dont_know(last.text)
        if email_failed or dont_know:
            prefix = "I couldn't find an account with those details. " if failures else ""
            return Ask(
                text=prefix
                + _ASK_NAME_ZIP.replace("No problem. ", "" if failures else "No problem. "),
                wants=["first_name", "last_name", "zip"],
            )
        if failures:
            return Ask(
                text="I couldn't find an account with those details. Could you check them and "
                "tell me your first and last name and your zip code, or the email address on "
                "your account?",
                wants=["first_name", "last_name", "zip"],
            )
        return Ask(text=_ASK_IDENTITY, wants=["email", "first_name", "last_name", "zip"])
    if conversation.user is None:
        return CallTool(name="get_user_details", args={"user_id": conversation.user_id})
    return None


# -- orders ------------------------------------------------------------------------------------
def _order_line(order: dict[str, Any]) -> str:
    names = join_names(str(i.get("name")) for i in order.get("items") or [])
    return f"{order.get('order_id')} ({names}, {order.get('status')})"


def find_order(
    ctx: Context, task: Task, statuses: Sequence[str], *, verb: str
) -> Step | Outcome | dict[str, Any]:
    """The order a request is about: named, the only one, or the one its items point to.

    Args:
        ctx: The planner's view.
        task: The request.
        statuses: Order statuses the request can act on (they rank candidates).
        verb: What the customer wants done, for the question ("cancel", "return").

    The customer is verified first (a lookup or a question, until they are).
    """
    step = authenticate(ctx)
    if step is not None:
        return step
    conversation = ctx.conversation
    named = task.order_ids or [
        str(e.args["order_id"]) for e in task.events if e.args.get("order_id")
    ]
    if named:
        order_id = named[-1]
        if order_id in conversation.orders:
            return conversation.orders[order_id]
        errors = conversation.order_errors.get(order_id, 0) + _read_denials(ctx, order_id)
        if errors == 0:
            return CallTool(name="get_order_details", args={"order_id": order_id})
        missed = {o for o in conversation.order_errors if o not in conversation.orders}
        repeated = conversation.times_said_after(task.start, f"couldn't find order {order_id}")
        if repeated or len(missed) >= 2 or _SOMEONE_ELSE.search(task.text):
            return not_on_account(task, order_id)
        return _ask_order(
            ctx,
            task,
            f"I couldn't find order {order_id} on your account. Could you check the order "
            f"number? It starts with #W followed by seven digits.",
        )
    owned = conversation.user_orders()
    if not owned:
        return _ask_order(
            ctx, task, "I don't see any orders on your account. What's the order number?"
        )
    if len(owned) > _MAX_ORDERS_SCANNED:
        return _ask_order(
            ctx, task, f"Which order would you like to {verb}? What's the order number?"
        )
    for order_id in owned:
        if order_id not in conversation.orders and conversation.order_errors.get(order_id, 0) == 0:
            return CallTool(name="get_order_details", args={"order_id": order_id})
    orders = [conversation.orders[o] for o in owned if o in conversation.orders]
    if len(orders) == 1:
        return orders[0]
    wording = task.text_for("new_variant", "payment", "email", "zip", "reason", "address")
    # The orders whose items the customer's words fit best ("the espresso machine" is the
    # espresso machine's order, not the coffee maker's).
    strengths = [match_strength(wording, o.get("items") or [], ctx.embedder) for o in orders]
    top = max(strengths, default=0.0)
    matched = [o for o, s in zip(orders, strengths, strict=True) if s >= 0.5 and s >= top - 0.05]
    fitting = [o for o in (matched or orders) if o.get("status") in statuses]
    if len(fitting) == 1:
        return fitting[0]
    if not fitting and len(matched) == 1:
        return matched[0]
    shown = fitting or matched or orders
    lines = "; ".join(_order_line(o) for o in shown)
    return _ask_order(
        ctx,
        task,
        f"Which order would you like to {verb}? I see: {lines}. What's the order number?",
    )


_SOMEONE_ELSE = re.compile(
    r"\b(?:my|our|a|her|his)\s+(?:dad|father|mum|mom|mother|parents?|wife|husband|partner|"
    r"son|daughter|brother|sister|cousin|friend|neighbou?r|roommate|flatmate|colleague|"
    r"boss|grandma|grandmother|grandpa|grandfather|aunt|uncle|girlfriend|boyfriend)(?:'s)?\b",
    re.IGNORECASE,
)
"""Words saying the order belongs to someone else."""

_CANT: dict[str, str] = {
    "cancel": "can't be cancelled",
    "modify_address": "can't change where it ships",
    "reroute": "can't be rerouted",
    "modify_payment": "can't change the payment",
    "modify_items": "can't be modified",
    "exchange": "can't be exchanged",
    "return": "can't be returned",
    "change_default_address": "can't change your account's default address",
}


def cannot(task: Task) -> str:
    """The request's refusal in words, carrying its closing phrase ("it can't be returned")."""
    cant = _CANT.get(task.intent, "can't do that")
    return f"it {cant}" if cant.startswith("can't be") else f"I {cant}"


def not_on_account(task: Task, order_id: str) -> Outcome:
    """Refuse a request about an order that is not on the verified customer's account."""
    cant = _CANT.get(task.intent, "")
    if cant.startswith("can't be"):
        then = f", so it {cant} here"
    elif cant:
        then = f", so I {cant} for it"
    else:
        then = ""
    return Outcome(
        f"I'm sorry, but {order_id} isn't on your account{then}. I can only help with orders "
        "on your own account.",
        "refused",
    )


def _read_denials(ctx: Context, order_id: str) -> int:
    return sum(
        1
        for e in ctx.conversation.events
        if e.kind == "decision"
        and e.name == "get_order_details"
        and e.effect == "deny"
        and e.args.get("order_id") == order_id
    )


def _ask_order(ctx: Context, task: Task, text: str) -> Step:
    if ctx.conversation.times_said_after(task.start, "order number") >= 3:
        return escalate(
            "the order could not be identified",
            "I'm sorry, I couldn't identify the order.",
        )
    last = ctx.conversation.last_message
    if last is not None and "order_id" in last.asked and is_dont_know(last.text):
        text = text.replace("What's the order number?", "Which one is it?")
    # Listing the orders: the customer may answer with the order or with what was in it.
    wants = ["order_id", "item"] if "I see:" in text else ["order_id"]
    return Ask(text=text, wants=wants)


def mentioned_orders(text: str) -> list[str]:
    """Order ids named in a text."""
    return order_ids(text)


# -- payment methods ---------------------------------------------------------------------------
def original_method(order: dict[str, Any]) -> str | None:
    """The payment method the order was paid with (its first payment)."""
    for payment in order.get("payment_history") or []:
        if payment.get("transaction_type") == "payment":
            return str(payment.get("payment_method_id"))
    return None


def latest_payment_ref(task: Task) -> PaymentRef | None:
    """The last payment method the customer named for this request."""
    found: PaymentRef | None = None
    for text in task.texts:
        ref = payment_ref(text)
        if ref is None:
            continue
        vague = ref.kind == "credit_card" and ref.brand is None and ref.last_four is None
        if vague and found is not None and found.kind == "credit_card":
            continue  # "that card is about to expire" does not undo "my visa ending 8062"
        found = ref
    return found


def resolve_payment(
    ctx: Context, ref: PaymentRef, order: dict[str, Any] | None
) -> tuple[str | None, list[str]]:
    """The account's payment method ids that fit the description (best first)."""
    methods = ctx.conversation.payment_methods()
    original = original_method(order) if order else None
    if ref.kind == "id":
        return (ref.method_id, []) if ref.method_id in methods else (None, [])
    if ref.kind == "original":
        return (original, []) if original else (None, [])
    fits = []
    for method_id, method in methods.items():
        if method.get("source") != ref.kind:
            continue
        if ref.brand and str(method.get("brand", "")).lower() != ref.brand:
            continue
        if ref.last_four and str(method.get("last_four", "")) != ref.last_four:
            continue
        fits.append(method_id)
    if len(fits) == 1:
        return fits[0], fits
    if original in fits:
        return original, fits
    return None, fits


def list_methods(ctx: Context, exclude: Sequence[str] = ()) -> str:
    """The account's payment methods in words, with gift card balances."""
    parts = []
    for method_id, method in ctx.conversation.payment_methods().items():
        if method_id in exclude:
            continue
        label = describe_method(method, method_id)
        if method.get("source") == "gift_card" and method.get("balance") is not None:
            label = f"{label} (balance {money(method.get('balance'))})"
        parts.append(label)
    return join_names(parts)


def describe_id(ctx: Context, method_id: str) -> str:
    """A payment method id in words."""
    return describe_method(ctx.conversation.payment_methods().get(method_id), method_id)


def items_listing(order: dict[str, Any]) -> str:
    """The order's items with their options, as a list in words."""
    return join_names(f"the {item_label(i)}" for i in order.get("items") or [])
