"""Saying exactly what a held-back action will do, for the customer's confirmation."""

from __future__ import annotations

from typing import Any

__all__ = ["describe_action"]

_VERBS = {
    "cancel_pending_order": "cancel order {order_id} (reason: {reason})",
    "modify_pending_order_address": "change the shipping address of order {order_id} to {address}",
    "modify_pending_order_payment": "pay order {order_id} with {payment_method_id} instead",
    "modify_pending_order_items": (
        "change item(s) {item_ids} of order {order_id} to {new_item_ids}, settling the price "
        "difference with {payment_method_id}"
    ),
    "return_delivered_order_items": (
        "return item(s) {item_ids} of order {order_id}, refunding {payment_method_id}"
    ),
    "exchange_delivered_order_items": (
        "exchange item(s) {item_ids} of order {order_id} for {new_item_ids}, settling the "
        "price difference with {payment_method_id}"
    ),
    "modify_user_address": "change your default address to {address}",
    "reroute_shipment": "send the parcel of order {order_id} to {address}",
}


def _address(args: dict[str, Any]) -> str:
    parts = [args.get(k, "") for k in ("address1", "address2", "city", "state", "zip", "country")]
    return ", ".join(str(p) for p in parts if p)


def describe_action(name: str, args: dict[str, Any]) -> str:
    """One sentence naming the action and every argument that matters."""
    values: dict[str, Any] = {k: v for k, v in args.items()}
    values["address"] = _address(args)
    for key in ("item_ids", "new_item_ids"):
        if isinstance(values.get(key), list):
            values[key] = ", ".join(str(v) for v in values[key])
    template = _VERBS.get(name)
    if template is None:
        shown = ", ".join(f"{k}={v}" for k, v in args.items())
        return f"run {name} ({shown})"
    try:
        return template.format(**values)
    except KeyError:
        shown = ", ".join(f"{k}={v}" for k, v in args.items())
        return f"run {name} ({shown})"
