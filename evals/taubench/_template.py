"""Turn τ-bench tasks into persona scenarios ("template" users).

A template customer asks for what the task's ground-truth actions do, in a customer's words:
items by product name and option values, payment methods as "my gift card" or "the visa
ending 1234", addresses on one line; never internal item, product or payment ids. Order ids
and identity facts are what a customer knows, so they are used as they are. A task whose
ground truth includes outputs (facts the agent must tell) gets the questions its instruction
says the customer wants answered, asked once the requests are done. The scenario's
expected actions are the task's, so a trial is scored on the same end state τ-bench grades.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from evals._scenario import Expectation, ExpectedAction, Facts, Scenario, UserSpec
from evals.taubench._tasks import TaubenchTask
from tools.retail import TaubenchData

__all__ = ["describe_payment", "template_scenario", "template_scenarios"]

_READS = frozenset(
    {
        "find_user_id_by_email",
        "find_user_id_by_name_zip",
        "get_user_details",
        "get_order_details",
        "get_product_details",
        "list_all_product_types",
        "calculate",
    }
)
_REASONS = {
    "no longer needed": "I don't need it anymore",
    "ordered by mistake": "I ordered it by mistake",
}


def describe_payment(user: dict[str, Any], method_id: str) -> str:
    """A payment method as its owner says it ("my gift card", "the visa ending 1234")."""
    method = user.get("payment_methods", {}).get(method_id, {})
    source = method.get("source", "")
    if source == "gift_card":
        return "my gift card"
    if source == "paypal":
        return "my PayPal account"
    if source == "credit_card":
        return f"the {method.get('brand', 'credit')} card ending {method.get('last_four', '')}"
    return "my original payment method"


def _item(data: TaubenchData, order_id: str, item_id: str) -> dict[str, Any]:
    for item in data.orders.get(order_id, {}).get("items", []):
        if item["item_id"] == item_id:
            found: dict[str, Any] = item
            return found
    return {"name": "item", "options": {}, "product_id": ""}


def _options(options: dict[str, Any]) -> str:
    return ", ".join(f"{value} {key}" for key, value in options.items())


def _items(data: TaubenchData, order_id: str, item_ids: Sequence[str]) -> str:
    described = []
    for item_id in item_ids:
        item = _item(data, order_id, item_id)
        described.append(f"the {item['name'].lower()} ({_options(item['options'])})")
    return " and ".join(described)


def _variant(data: TaubenchData, product_id: str, variant_id: str) -> dict[str, Any]:
    variants = data.products.get(product_id, {}).get("variants", {})
    found: dict[str, Any] = variants.get(variant_id, {"options": {}})
    return found


def _changes(data: TaubenchData, order_id: str, old: Sequence[str], new: Sequence[str]) -> str:
    parts = []
    for old_id, new_id in zip(old, new, strict=False):
        item = _item(data, order_id, old_id)
        wanted = _variant(data, str(item["product_id"]), new_id)["options"]
        differing = {k: v for k, v in wanted.items() if item["options"].get(k) != v}
        parts.append(f"the {item['name'].lower()} to the one with {_options(differing or wanted)}")
    return " and ".join(parts)


def _address(kwargs: dict[str, Any]) -> str:
    street = ", ".join(p for p in (kwargs.get("address1"), kwargs.get("address2")) if p)
    state_zip = f"{kwargs.get('state', '')} {kwargs.get('zip', '')}".strip()
    return ", ".join(p for p in (street, kwargs.get("city"), state_zip, kwargs.get("country")) if p)


def _sentence(action: dict[str, Any], data: TaubenchData, user: dict[str, Any]) -> str:
    name, kw = action["name"], action["kwargs"]
    order = kw.get("order_id", "")
    pay = describe_payment(user, kw["payment_method_id"]) if "payment_method_id" in kw else ""
    if name == "cancel_pending_order":
        because = _REASONS.get(kw.get("reason", ""), kw.get("reason", ""))
        return f"I'd like to cancel order {order} because {because}."
    if name == "modify_pending_order_address":
        return f"Please change the shipping address of order {order} to {_address(kw)}."
    if name == "modify_pending_order_payment":
        return f"For order {order}, I want to pay with {pay} instead."
    if name == "modify_pending_order_items":
        changes = _changes(data, order, kw["item_ids"], kw["new_item_ids"])
        return f"In my pending order {order}, please change {changes}, using {pay}."
    if name == "return_delivered_order_items":
        items = _items(data, order, kw["item_ids"])
        return f"I want to return {items} from order {order}, with the refund to {pay}."
    if name == "exchange_delivered_order_items":
        changes = _changes(data, order, kw["item_ids"], kw["new_item_ids"])
        return f"I'd like to exchange, from order {order}, {changes}, using {pay}."
    if name == "modify_user_address":
        return f"Please update my default address to {_address(kw)}."
    if name == "transfer_to_human_agents":
        return "I'd like to talk to a human agent, please."
    return f"Can you help me with {name.replace('_', ' ')}?"


def _identity(actions: Sequence[dict[str, Any]], user: dict[str, Any]) -> dict[str, Any]:
    """How the customer identifies: as in the ground truth (email, or name and zip)."""
    by_email = {"email": user.get("email")}
    by_name = {
        "first_name": user.get("name", {}).get("first_name"),
        "last_name": user.get("name", {}).get("last_name"),
        "zip": user.get("address", {}).get("zip"),
    }
    for action in reversed(actions):  # the last lookup is the one that found them
        if action["name"] == "find_user_id_by_email":
            return {**by_email, **{k: v for k, v in action["kwargs"].items() if k == "email"}}
        if action["name"] == "find_user_id_by_name_zip":
            return {**by_name, **action["kwargs"]}
    return {**by_email, **by_name}


def _facts(
    first: dict[str, Any] | None, identity: dict[str, Any], data: TaubenchData, user: dict[str, Any]
) -> Facts:
    if first is None:
        return Facts(**identity)
    kw = first["kwargs"]
    order = kw.get("order_id")
    extra: dict[str, Any] = {"order_id": order}
    if "item_ids" in kw and order:
        extra["item"] = _items(data, order, kw["item_ids"])
    if "new_item_ids" in kw and order:
        extra["new_variant"] = _changes(data, order, kw["item_ids"], kw["new_item_ids"])
    if "payment_method_id" in kw:
        extra["payment"] = describe_payment(user, kw["payment_method_id"])
    if "reason" in kw:
        extra["reason"] = kw["reason"]
    if "address1" in kw:
        extra["address"] = _address(kw)
    return Facts(**identity, **{k: v for k, v in extra.items() if v is not None})


# "You want to know the total amount you can get back.", "you wonder what the most expensive
# item is", "ask the agent about the total amount you paid": what the customer wants told.
_WANTS_TOLD = re.compile(
    r"\b(?:(?:want|wants|would\s+like|like)\s+to\s+(?:know|check|confirm|get\s+(?:the|my))|"
    r"wonder(?:s)?|ask\s+(?:the\s+agent\s+)?(?:explicitly\s+)?(?:about|what|how|which|if|"
    r"whether))\b"
    r"[^.?!]*",
    re.IGNORECASE,
)
_INTERNAL_ID = re.compile(r"\b\d{10}\b|credit_card_\d|gift_card_\d|paypal_\d")
_SECOND_PERSON = (
    (re.compile(r"\byou\s+are\b", re.IGNORECASE), "I am"),
    (re.compile(r"\byourself\b", re.IGNORECASE), "myself"),
    (re.compile(r"\byour\b", re.IGNORECASE), "my"),
    (re.compile(r"\byou\b", re.IGNORECASE), "I"),
)


def _questions(instruction: str) -> list[str]:
    """The things the task's customer wants to be told, in the customer's own voice."""
    asked: list[str] = []
    for found in _WANTS_TOLD.finditer(instruction):
        text = found.group().strip().rstrip(",;")
        for pattern, said in _SECOND_PERSON:
            text = pattern.sub(said, text)
        text = re.sub(r"^ask\s+(?:the\s+agent\s+)?(?:explicitly\s+)?", "", text, flags=re.I)
        if text.lower().startswith("wonder"):
            text = f"I {text}"
        elif not text.lower().startswith(("want", "would", "like")):
            text = f"Could you tell me {text}"
        else:
            text = f"I {text}"
        question = f"Also, {text if text.startswith('I ') else text[0].lower() + text[1:]}?"
        if _INTERNAL_ID.search(question):
            continue  # the customer knows products by name, not by id
        if question not in asked:
            asked.append(question)
    return asked


def template_scenario(index: int, task: TaubenchTask, data: TaubenchData, split: str) -> Scenario:
    """The persona scenario of one τ task (id ``taubench-<split>-<index>``)."""
    user = data.users.get(task.user_id, {})
    actions = [a.model_dump() for a in task.actions]
    writes = [a for a in actions if a["name"] not in _READS]
    if writes:
        opening = "Hi! " + " ".join(_sentence(a, data, user) for a in writes)
    else:
        orders = [a["kwargs"]["order_id"] for a in actions if a["name"] == "get_order_details"]
        about = f" about my order {orders[0]}" if orders else " about my account"
        opening = f"Hi, I have a question{about}."
    handoff = any(a["name"] == "transfer_to_human_agents" for a in actions)
    return Scenario(
        id=f"taubench-{split}-{index}",
        seed="taubench",
        tags=["taubench", *sorted({a["name"] for a in writes})],
        user=UserSpec(
            kind="persona",
            opening=opening,
            facts=_facts(writes[0] if writes else None, _identity(actions, user), data, user),
            goal=task.instruction,
            asks=_questions(task.instruction) if task.outputs else [],
            max_turns=30,
        ),
        expect=Expectation(
            actions=[ExpectedAction(name=a["name"], kwargs=a["kwargs"]) for a in actions],
            outcome="escalated" if handoff else "any",
            must_say=list(task.outputs),
        ),
    )


def template_scenarios(
    tasks: Sequence[TaubenchTask], data: TaubenchData, split: str
) -> list[Scenario]:
    """Every task of a split as a persona scenario."""
    return [template_scenario(i, task, data, split) for i, task in enumerate(tasks)]
