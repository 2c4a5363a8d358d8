"""An independent, in-memory reading of the tau-bench retail semantics, for differential tests.

The product implements the retail tools on SQL with Decimal money; this module implements the
same published semantics on plain dicts with float money, the way the benchmark itself keeps
its data. Replaying a task through both must fail at the same actions and end in the same
state. Errors are reported as our ``ToolError.code`` vocabulary so the kinds can be compared.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

Data = dict[str, dict[str, Any]]


class RefError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _order(data: Data, order_id: str) -> dict[str, Any]:
    if order_id not in data["orders"]:
        raise RefError("order_not_found")
    return data["orders"][order_id]


def _status(order: dict[str, Any], wanted: str) -> None:
    if order["status"] != wanted:
        raise RefError(f"not_{wanted}")


def _has_items(order: dict[str, Any], item_ids: list[str]) -> None:
    held = Counter(i["item_id"] for i in order["items"])
    if any(n > held[i] for i, n in Counter(item_ids).items()):
        raise RefError("item_not_found")


def _difference(data: Data, order: dict[str, Any], old: list[str], new: list[str]) -> float:
    if len(old) != len(new):
        raise RefError("item_count_mismatch")
    total = 0.0
    for old_id, new_id in zip(old, new, strict=True):
        item = next(i for i in order["items"] if i["item_id"] == old_id)
        variants = data["products"][item["product_id"]]["variants"]
        if new_id not in variants or not variants[new_id]["available"]:
            raise RefError("variant_unavailable")
        total += variants[new_id]["price"] - item["price"]
    return round(total, 2)


def _method(data: Data, order: dict[str, Any], method_id: str) -> dict[str, Any]:
    methods = data["users"][order["user_id"]]["payment_methods"]
    if method_id not in methods:
        raise RefError("payment_method_not_found")
    return methods[method_id]


def _covers(method: dict[str, Any], amount: float) -> None:
    if method["source"] == "gift_card" and method["balance"] < amount:
        raise RefError("insufficient_gift_card_balance")


def _credit(data: Data, order: dict[str, Any], method_id: str, amount: float) -> None:
    method = data["users"][order["user_id"]]["payment_methods"].get(method_id)
    if method is not None and "balance" in method:
        method["balance"] = round(method["balance"] + amount, 2)


def find_user_id_by_email(data: Data, email: str) -> Any:
    for user_id, user in data["users"].items():
        if user["email"].lower() == email.lower():
            return user_id
    raise RefError("user_not_found")


def find_user_id_by_name_zip(data: Data, first_name: str, last_name: str, zip: str) -> Any:
    for user_id, user in data["users"].items():
        name = user["name"]
        if (
            name["first_name"].lower() == first_name.lower()
            and name["last_name"].lower() == last_name.lower()
            and user["address"]["zip"] == zip
        ):
            return user_id
    raise RefError("user_not_found")


def get_user_details(data: Data, user_id: str) -> Any:
    if user_id not in data["users"]:
        raise RefError("user_not_found")
    return data["users"][user_id]


def get_order_details(data: Data, order_id: str) -> Any:
    return _order(data, order_id)


def get_product_details(data: Data, product_id: str) -> Any:
    if product_id not in data["products"]:
        raise RefError("product_not_found")
    return data["products"][product_id]


def list_all_product_types(data: Data) -> Any:
    return dict(sorted((p["name"], p["product_id"]) for p in data["products"].values()))


def calculate(data: Data, expression: str) -> Any:
    if not set(expression) <= set("0123456789+-*/(). "):
        raise RefError("invalid_expression")
    return round(float(eval(expression, {"__builtins__": {}})), 2)


def transfer_to_human_agents(data: Data, summary: str) -> Any:
    return "Transfer successful"


def cancel_pending_order(data: Data, order_id: str, reason: str) -> Any:
    order = _order(data, order_id)
    _status(order, "pending")
    if reason not in ("no longer needed", "ordered by mistake"):
        raise RefError("invalid_reason")
    refunds = []
    for payment in order["payment_history"]:
        refunds.append(
            {
                "transaction_type": "refund",
                "amount": payment["amount"],
                "payment_method_id": payment["payment_method_id"],
            }
        )
        if "gift_card" in payment["payment_method_id"]:
            _credit(data, order, payment["payment_method_id"], payment["amount"])
    order["status"] = "cancelled"
    order["cancel_reason"] = reason
    order["payment_history"].extend(refunds)
    return order


def _address(**fields: str) -> dict[str, str]:
    keys = ("address1", "address2", "city", "state", "country", "zip")
    return {key: fields[key] for key in keys}


def modify_pending_order_address(data: Data, order_id: str, **fields: str) -> Any:
    order = _order(data, order_id)
    _status(order, "pending")
    order["address"] = _address(**fields)
    return order


def modify_user_address(data: Data, user_id: str, **fields: str) -> Any:
    user = get_user_details(data, user_id)
    user["address"] = _address(**fields)
    return user


def modify_pending_order_payment(data: Data, order_id: str, payment_method_id: str) -> Any:
    order = _order(data, order_id)
    _status(order, "pending")
    method = _method(data, order, payment_method_id)
    history = order["payment_history"]
    if len(history) != 1 or history[0]["transaction_type"] != "payment":
        raise RefError("multiple_payments")
    original = history[0]["payment_method_id"]
    if original == payment_method_id:
        raise RefError("same_payment_method")
    amount = history[0]["amount"]
    _covers(method, amount)
    history.append(
        {"transaction_type": "payment", "amount": amount, "payment_method_id": payment_method_id}
    )
    history.append({"transaction_type": "refund", "amount": amount, "payment_method_id": original})
    if method["source"] == "gift_card":
        method["balance"] = round(method["balance"] - amount, 2)
    if "gift_card" in original:
        _credit(data, order, original, amount)
    return order


def modify_pending_order_items(
    data: Data, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
) -> Any:
    order = _order(data, order_id)
    _status(order, "pending")
    _has_items(order, item_ids)
    difference = _difference(data, order, item_ids, new_item_ids)
    method = _method(data, order, payment_method_id)
    _covers(method, difference)
    order["payment_history"].append(
        {
            "transaction_type": "payment" if difference > 0 else "refund",
            "amount": abs(difference),
            "payment_method_id": payment_method_id,
        }
    )
    if method["source"] == "gift_card":
        method["balance"] = round(method["balance"] - difference, 2)
    for old_id, new_id in zip(item_ids, new_item_ids, strict=True):
        item = next(i for i in order["items"] if i["item_id"] == old_id)
        variant = data["products"][item["product_id"]]["variants"][new_id]
        item["item_id"], item["price"], item["options"] = (
            new_id,
            variant["price"],
            variant["options"],
        )
    order["status"] = "pending (item modified)"
    return order


def return_delivered_order_items(
    data: Data, order_id: str, item_ids: list[str], payment_method_id: str
) -> Any:
    order = _order(data, order_id)
    _status(order, "delivered")
    _method(data, order, payment_method_id)
    original = order["payment_history"][0]["payment_method_id"]
    if "gift_card" not in payment_method_id and payment_method_id != original:
        raise RefError("payment_method_not_allowed")
    _has_items(order, item_ids)
    order["status"] = "return requested"
    order["return_items"] = sorted(item_ids)
    order["return_payment_method_id"] = payment_method_id
    return order


def exchange_delivered_order_items(
    data: Data, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
) -> Any:
    order = _order(data, order_id)
    _status(order, "delivered")
    _has_items(order, item_ids)
    difference = _difference(data, order, item_ids, new_item_ids)
    method = _method(data, order, payment_method_id)
    _covers(method, difference)
    order["status"] = "exchange requested"
    order["exchange_items"] = sorted(item_ids)
    order["exchange_new_items"] = sorted(new_item_ids)
    order["exchange_payment_method_id"] = payment_method_id
    order["exchange_price_difference"] = difference
    return order


TOOLS = {
    name: value
    for name, value in dict(globals()).items()
    if callable(value) and not name.startswith("_") and name[0].islower() and name != "replay"
}


def replay(pristine: str, actions: list[dict[str, Any]]) -> tuple[Data, list[tuple[int, str, str]]]:
    """Replay actions on a fresh copy of the data (JSON text); return state and errors."""
    data: Data = json.loads(pristine)
    errors = []
    for step, action in enumerate(actions):
        try:
            TOOLS[action["name"]](data, **action["kwargs"])
        except RefError as error:
            errors.append((step, action["name"], error.code))
    return data, errors
