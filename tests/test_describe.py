"""Confirmation sentences speak as a careful agent: names, options, amounts, no internal ids."""

from __future__ import annotations

from agents._describe import describe_action

FACTS = {
    "action": {
        "items": [{"name": "Water Bottle", "options": {"capacity": "1000ml", "color": "blue"}}],
        "new_items": [{"options": {"capacity": "750ml", "color": "red"}}],
        "payment_method": {"on_account": True, "source": "credit_card", "brand": "visa",
                           "last_four": "6593"},
        "refund_amount": 54.04,
        "price_difference": -3.5,
    }
}  # fmt: skip
ARGS = {"order_id": "#W1", "item_ids": ["111"], "new_item_ids": ["222"],
        "payment_method_id": "credit_card_9"}  # fmt: skip


def test_a_return_names_the_item_the_refund_and_the_card() -> None:
    text = describe_action("return_delivered_order_items", ARGS, FACTS)
    assert text == (
        "return the Water Bottle (1000ml, blue) of order #W1, refunding 54.04 to your visa "
        "ending 6593"
    )
    assert "111" not in text and "credit_card_9" not in text


def test_an_exchange_names_the_new_options_and_the_difference() -> None:
    text = describe_action("exchange_delivered_order_items", ARGS, FACTS)
    assert "for the option with 750ml, red" in text and "(3.50)" in text


def test_without_facts_the_arguments_are_named_as_they_are() -> None:
    text = describe_action("return_delivered_order_items", ARGS)
    assert text == "return item(s) 111 of order #W1, refunding credit_card_9"
    assert describe_action("unknown_tool", {"a": 1}) == "run unknown_tool (a=1)"
