"""What the offline planner says: questions, reports, refusals, in one place.

Messages state only what tool results say. Reports that close a request carry a *marker*, a
phrase that depends only on the kind of request and the order, so that the planner can tell
from the transcript alone which requests it has already answered.

Wording note: closing reports avoid the words a simulated customer reads as a question for a
fact ("address", "order #", "items", "size", "refund to"...), so "Is there anything else?" is
not mistaken for another question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "ANYTHING_ELSE",
    "CLARIFY",
    "QUESTION_WANTS",
    "asked_for",
    "describe_method",
    "item_label",
    "join_names",
    "money",
    "refund_timing",
]

ANYTHING_ELSE = "Is there anything else I can help with?"
CLARIFY = "I'm sorry, I'm not sure I understood"

# Phrases of the planner's own questions, and the facts each asks for.
QUESTION_WANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("email address on your account", ("email",)),
    ("first and last name and your zip code", ("first_name", "last_name", "zip")),
    ("order number", ("order_id",)),
    ("which item", ("item",)),
    ("which option", ("new_variant",)),
    ("which payment method", ("payment",)),
    ("reason for the cancellation", ("reason",)),
    ("new address", ("address",)),
    ("anything else i can help with", ()),
)


def asked_for(agent_text: str) -> frozenset[str]:
    """The facts an agent message asked the customer for (from the planner's own phrasing)."""
    lowered = agent_text.lower()
    wants: set[str] = set()
    for phrase, keys in QUESTION_WANTS:
        if phrase in lowered:
            wants.update(keys)
    return frozenset(wants)


def money(amount: Any) -> str:
    """Dollars with two decimals, as the tools give amounts ("53.27" -> "$53.27")."""
    try:
        return f"${float(amount):,.2f}".replace(",", "")
    except (TypeError, ValueError):
        return f"${amount}"


def describe_method(method: dict[str, Any] | None, method_id: str) -> str:
    """A payment method in words: your gift card, the Visa ending 1234, your PayPal account."""
    source = (method or {}).get("source") or method_id.rsplit("_", 1)[0]
    if source == "gift_card":
        return "your gift card"
    if source == "paypal":
        return "your PayPal account"
    brand = (method or {}).get("brand")
    last_four = (method or {}).get("last_four")
    label = str(brand).title() if brand else "credit card"
    if label.lower() == "amex":
        label = "Amex"
    return f"the {label} ending {last_four}" if last_four else f"your {label}"


def refund_timing(method_id: str) -> str:
    """When money sent back to a method arrives."""
    if "gift_card" in method_id:
        return "immediately"
    return "within 5-7 business days"


def item_label(item: dict[str, Any], *, options: bool = True) -> str:
    """An item and its option values: Mechanical Keyboard (linear, RGB, full size)."""
    name = str(item.get("name", "item"))
    values = [str(v) for v in (item.get("options") or {}).values()]
    return f"{name} ({', '.join(values)})" if options and values else name


def join_names(names: Iterable[str]) -> str:
    """Words joined as a list: a; a and b; a, b and c."""
    listed = list(names)
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " and " + listed[-1]


def plain(text: str) -> str:
    """Collapse whitespace."""
    return re.sub(r"\s+", " ", text).strip()


def count_names(items: Sequence[dict[str, Any]]) -> str:
    """Items counted by name: the Keyboard and the 2 T-Shirts."""
    counts: dict[str, int] = {}
    for item in items:
        name = str(item.get("name", "item"))
        counts[name] = counts.get(name, 0) + 1
    return join_names(f"the {n}" if c == 1 else f"the {c} {n}s" for n, c in counts.items())
