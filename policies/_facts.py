"""Facts for policy conditions, loaded through the domain's read adapters.

Policies never query the business database directly: they read what a read tool returns
(``get_user_details``, ``get_order_details``, ``get_product_details``, ``track_shipment``),
then derive the few facts a rule needs about the proposed action (which items it touches,
whether the new variants are of the same product and available, where money goes and how
much). Conditions then stay short and readable: ``!action.same_product``.

The reads of one decision share one read transaction: the facts are one consistent snapshot,
and a decision costs one transaction, not one per record.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from policies._types import ConversationFacts, ProposedCall
from tools import ToolContext, ToolRegistry, ToolResult

__all__ = ["FactLoader"]

_Json = dict[str, Any]


def _read_key(tool: str, args: Mapping[str, Any]) -> str:
    return json.dumps([tool, args], sort_keys=True, default=str)


class FactLoader:
    """Builds the condition context for a proposed call.

    Args:
        registry: The domain's tools; only its read tools are called.
        ctx: The tool context (backend, clock) reads run with.
    """

    def __init__(self, registry: ToolRegistry, ctx: ToolContext) -> None:
        self.registry = registry
        self.ctx = ctx
        self._reads: dict[str, ToolResult] = {}
        self._products: dict[str, _Json | None] = {}
        self._bound = ctx.with_key(None)

    def _read(self, tool: str, **args: Any) -> _Json | None:
        result = self.registry.invoke(tool, args, self._bound)
        self._reads[_read_key(tool, args)] = result
        if not result.ok:
            return None
        payload: _Json = result.payload()
        return payload

    def result_of(self, tool: str, args: Mapping[str, Any]) -> ToolResult | None:
        """The result of a read the last :meth:`build` made, if it made exactly this call.

        The caller about to run the same read tool with the same arguments (and the same
        customer) may use it rather than read the same records again.
        """
        return self._reads.get(_read_key(tool, args))

    def _product(self, product_id: str) -> _Json | None:
        if product_id not in self._products:
            self._products[product_id] = self._read("get_product_details", product_id=product_id)
        return self._products[product_id]

    def build(
        self,
        call: ProposedCall,
        *,
        customer_id: str | None,
        conversation: ConversationFacts,
        params: Mapping[str, Any],
        now: datetime,
    ) -> dict[str, Any]:
        """Return the context of ``call``: every variable a condition may read.

        The reads run in one read transaction (retried as a whole on transient faults).
        """

        def in_transaction(session: Session) -> dict[str, Any]:
            self._reads, self._products = {}, {}
            self._bound = self.ctx.with_key(None).bind(session)
            try:
                return self._context(call, customer_id, conversation, params, now)
            finally:
                self._bound = self.ctx.with_key(None)

        backend = self.ctx.backend
        context: dict[str, Any] = self.registry.retry.run(lambda: backend.read(in_transaction))
        return context

    def _context(
        self,
        call: ProposedCall,
        customer_id: str | None,
        conversation: ConversationFacts,
        params: Mapping[str, Any],
        now: datetime,
    ) -> dict[str, Any]:
        customer = self._read("get_user_details", user_id=customer_id) if customer_id else None
        if customer is not None:
            customer["id"] = customer_id
        order_id = call.args.get("order_id")
        order = (
            self._read("get_order_details", order_id=order_id)
            if isinstance(order_id, str) and order_id
            else None
        )
        return {
            "tool": call.tool,
            "args": dict(call.args),
            "customer": customer,
            "order": order,
            "orders": list(customer["orders"]) if customer else [],
            "action": self._action(call, customer, order),
            "conversation": conversation.model_dump(),
            "params": dict(params),
            "now": now,
        }

    def _owner_methods(self, customer: _Json | None, order: _Json | None) -> _Json:
        if order is not None:
            if customer is not None and order.get("user_id") == customer.get("id"):
                methods: _Json = customer["payment_methods"]
                return methods
            owner = self._read("get_user_details", user_id=order["user_id"])
            return owner["payment_methods"] if owner else {}
        return customer["payment_methods"] if customer else {}

    def _payment_method(
        self, method_id: Any, customer: _Json | None, order: _Json | None, amount_due: float
    ) -> _Json | None:
        if not isinstance(method_id, str):
            return None
        methods = self._owner_methods(customer, order)
        method = methods.get(method_id)
        history = order.get("payment_history", []) if order else []
        original = history[0]["payment_method_id"] if history else None
        source = method["source"] if method else None
        balance = float(method.get("balance", 0.0)) if method else 0.0
        return {
            "id": method_id,
            "on_account": method is not None,
            "source": source,
            "brand": method.get("brand") if method else None,
            "last_four": method.get("last_four") if method else None,
            "balance": balance,
            "is_gift_card": source == "gift_card",
            "is_original": method_id == original,
            "covers": source != "gift_card" or balance >= amount_due,
        }

    def _items(self, order: _Json | None, item_ids: list[Any]) -> tuple[list[_Json], bool]:
        if order is None:
            return [], False
        held = Counter(item["item_id"] for item in order["items"])
        present = all(count <= held[i] for i, count in Counter(item_ids).items())
        found = []
        for item_id in item_ids:
            item = next((i for i in order["items"] if i["item_id"] == item_id), None)
            if item is not None:
                found.append(item)
        return found, present and len(found) == len(item_ids)

    def _action(self, call: ProposedCall, customer: _Json | None, order: _Json | None) -> _Json:
        args = call.args
        item_ids = [i for i in args.get("item_ids", []) or [] if isinstance(i, str)]
        new_ids = [i for i in args.get("new_item_ids", []) or [] if isinstance(i, str)]
        items, items_in_order = self._items(order, item_ids)
        new_items: list[_Json] = []
        same_product = bool(new_ids) and len(new_ids) == len(items)
        available = same_product
        changes_option = same_product
        difference = 0.0
        for item, new_id in zip(items, new_ids, strict=False):
            product = self._product(item["product_id"])
            variant = (product or {}).get("variants", {}).get(new_id)
            new_items.append(
                {
                    "item_id": new_id,
                    "product_id": item["product_id"] if variant else None,
                    "available": bool(variant and variant["available"]),
                    "price": float(variant["price"]) if variant else None,
                    "options": dict(variant["options"]) if variant else {},
                }
            )
            if variant is None:
                same_product = available = False
                continue
            available = available and bool(variant["available"])
            changes_option = changes_option and new_id != item["item_id"]
            difference += float(variant["price"]) - float(item["price"])
        difference = round(difference, 2)
        paid = _paid_total(order)
        refund = _refund_amount(call.tool, items, paid, difference)
        due = max(difference, 0.0)
        if call.tool == "modify_pending_order_payment":
            due = paid
        return {
            "items": items,
            "items_in_order": items_in_order,
            "new_items": new_items,
            "same_product": same_product,
            "new_variants_available": available,
            "changes_option": changes_option,
            "price_difference": difference,
            "order_total": paid,
            "refund_amount": refund,
            "amount_due": due,
            "payment_method": self._payment_method(
                args.get("payment_method_id"), customer, order, due
            ),
            "shipment_status": self._shipment_status(call, order),
        }

    def _shipment_status(self, call: ProposedCall, order: _Json | None) -> str | None:
        if call.tool != "reroute_shipment" or order is None:
            return None
        tracking = self._read("track_shipment", order_id=order["order_id"])
        shipments = tracking["shipments"] if tracking else []
        wanted = call.args.get("tracking_id")
        for shipment in shipments:
            if wanted is None or wanted in shipment["tracking_id"]:
                status: str = shipment["status"]
                return status
        return None


def _paid_total(order: _Json | None) -> float:
    if order is None:
        return 0.0
    total = 0.0
    for payment in order.get("payment_history", []):
        sign = 1 if payment["transaction_type"] == "payment" else -1
        total += sign * float(payment["amount"])
    return round(total, 2)


def _refund_amount(tool: str, items: list[_Json], paid: float, difference: float) -> float:
    if tool == "cancel_pending_order":
        return paid
    if tool == "return_delivered_order_items":
        return round(sum(float(item["price"]) for item in items), 2)
    if tool in {"modify_pending_order_items", "exchange_delivered_order_items"}:
        return max(-difference, 0.0)
    return 0.0
