"""Saying exactly what a held-back action will do, for the customer's confirmation.

With the policy facts of the decision (the order's items, the new variants, the payment
method, the amounts) the sentence speaks as a careful agent would: items by name and options,
"the visa ending 1234", the refund or the price difference. Without them it names the
arguments as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["describe_action"]

_VERBS = {
    "cancel_pending_order": "cancel order {order_id} (reason: {reason})",
    "modify_pending_order_address": "change the shipping address of order {order_id} to {address}",
    "modify_pending_order_payment": "pay order {order_id} with {payment} instead",
    "modify_pending_order_items": (
        "change {items} of order {order_id} to {new_items}, settling the price "
        "difference{difference} with {payment}"
    ),
    "return_delivered_order_items": (
        "return {items} of order {order_id}, refunding{refund} {payment}"
    ),
    "exchange_delivered_order_items": (
        "exchange {items} of order {order_id} for {new_items}, settling the "
        "price difference{difference} with {payment}"
    ),
    "modify_user_address": "change your default address to {address}",
    "reroute_shipment": "send the parcel of order {order_id} to {address}",
}


def _address(args: Mapping[str, Any]) -> str:
    parts = [args.get(k, "") for k in ("address1", "address2", "city", "state", "zip", "country")]
    return ", ".join(str(p) for p in parts if p)


def _options(options: Any) -> str:
    return ", ".join(str(v) for v in options.values()) if isinstance(options, Mapping) else ""


def _named(items: Any, ids: Any) -> str:
    """Items by name and options when the facts have them, else their ids."""
    if isinstance(items, list) and items and all(isinstance(i, Mapping) for i in items):
        named = [
            f"the {i.get('name', 'item')} ({_options(i.get('options'))})"
            if i.get("name")
            else f"the option with {_options(i.get('options'))}"
            for i in items
        ]
        return " and ".join(named)
    listed = ", ".join(str(v) for v in ids) if isinstance(ids, list) else str(ids or "")
    return f"item(s) {listed}"


def _payment(method: Any, method_id: Any) -> str:
    if isinstance(method, Mapping) and method.get("on_account"):
        source = method.get("source")
        if source == "gift_card":
            return "your gift card"
        if source == "paypal":
            return "your PayPal account"
        if source == "credit_card" and method.get("last_four"):
            return f"your {method.get('brand') or 'card'} ending {method['last_four']}"
    return str(method_id or "")


def _money(value: Any) -> str:
    return f"{abs(float(value)):.2f}" if isinstance(value, int | float) else ""


def describe_action(
    name: str, args: Mapping[str, Any], facts: Mapping[str, Any] | None = None
) -> str:
    """One sentence naming the action and every argument that matters.

    Args:
        name: The tool.
        args: Its arguments.
        facts: The policy context of the decision (its ``action`` facts are used), if any.
    """
    action: Mapping[str, Any] = (facts or {}).get("action") or {}
    values: dict[str, Any] = dict(args)
    values["address"] = _address(args)
    values["items"] = _named(action.get("items"), args.get("item_ids"))
    new_items = [
        {"options": i.get("options")} for i in action.get("new_items") or [] if i.get("options")
    ]
    values["new_items"] = _named(new_items, args.get("new_item_ids"))
    values["payment"] = _payment(action.get("payment_method"), args.get("payment_method_id"))
    refund = _money(action.get("refund_amount"))
    values["refund"] = f" {refund} to" if refund else ""
    difference = _money(action.get("price_difference"))
    values["difference"] = f" ({difference})" if difference else ""
    template = _VERBS.get(name)
    try:
        if template is None:
            raise KeyError(name)
        return template.format(**values)
    except KeyError:
        shown = ", ".join(f"{k}={v}" for k, v in args.items())
        return f"run {name} ({shown})"
