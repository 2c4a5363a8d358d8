"""Change items (exchange delivered ones, modify pending ones) and a pending order's payment."""

from __future__ import annotations

import re
from typing import Any

from agents._steps import CallTool
from agents.planners.offline._common import (
    Result,
    bounded_ask,
    choose_items,
    item_words,
    propose,
    times_asked,
    variant_words,
    why_not,
)
from agents.planners.offline._entities import is_dont_know
from agents.planners.offline._flows import (
    Context,
    Outcome,
    describe_id,
    find_order,
    latest_payment_ref,
    list_methods,
    original_method,
    resolve_payment,
)
from agents.planners.offline._matching import (
    VariantChoice,
    choose_variant,
    name_score,
    option_mentions,
    text_score,
)
from agents.planners.offline._tasks import Task
from agents.planners.offline._texts import (
    count_names,
    item_label,
    join_names,
    money,
    refund_timing,
)

__all__ = ["change_items", "change_payment"]


# -- exchange and item changes -----------------------------------------------------------------
def _segment_for(text: str, item: dict[str, Any], names: list[str]) -> str:
    """The words that follow an item's mention, up to the next item's mention."""
    lowered = text.lower()
    head = str(item.get("name", "")).lower().split()
    starts = []
    for word in head:
        position = lowered.find(word[:5])
        if position >= 0:
            starts.append(position)
    if not starts:
        return text
    begin = min(starts)
    end = len(text)
    for other in names:
        if other.lower() == str(item.get("name", "")).lower():
            continue
        for word in other.lower().split():
            position = lowered.find(word[:5], begin + 1)
            if begin < position < end:
                end = position
    if end < len(text):
        # The next item's mention starts at the separator before its name: "..., and the
        # black headphones" gives "black" to the headphones.
        breaks = list(_MENTION_BREAK.finditer(text, begin, end))
        if breaks:
            end = breaks[-1].start()
    return text[begin:end]


_MENTION_BREAK = re.compile(r",|;|\band\b|\bplus\b|->|→", re.IGNORECASE)


def change_items(ctx: Context, task: Task) -> Result:
    """Exchange delivered items, or modify a pending order's items, for other variants."""
    statuses = ["delivered", "pending"] if task.intent == "exchange" else ["pending", "delivered"]
    found = find_order(ctx, task, statuses, verb="change")
    if not isinstance(found, dict):
        return found
    order_id = str(found["order_id"])
    status = str(found.get("status"))
    done = task.done_write()
    if done is not None:
        result = done.result if isinstance(done.result, dict) else found
        return _changed(ctx, done.name, result, found, done.args)
    if status == "pending":
        tool, verb, marker = "modify_pending_order_items", "modify", "can't be modified"
    elif status == "delivered":
        tool, verb, marker = "exchange_delivered_order_items", "exchange", "can't be exchanged"
    else:
        marker = "can't be modified" if "pending" in status else "can't be exchanged"
        return Outcome(f"I'm sorry, but {order_id} {marker}: {why_not(found)}.", "refused")
    items = found.get("items") or []
    for item in items:
        product_id = str(item["product_id"])
        unread = product_id not in ctx.conversation.products
        if unread and _named(task, item) and product_id not in ctx.conversation.product_errors:
            return CallTool(name="get_product_details", args={"product_id": product_id})

    def settle(group: list[int]) -> int | None:
        return _least_overlap(ctx, variant_words(task), [items[i] for i in group], group)

    chosen = choose_items(
        ctx, task, found, "exchange" if verb == "exchange" else "change", settle=settle
    )
    if not isinstance(chosen, list):
        return chosen
    for index in chosen:
        product_id = str(items[index]["product_id"])
        if product_id not in ctx.conversation.products:
            if product_id in ctx.conversation.product_errors:
                return Outcome(f"I'm sorry, I couldn't modify {order_id} right now.", "failed")
            return CallTool(name="get_product_details", args={"product_id": product_id})
    names = [str(items[i]["name"]) for i in chosen]
    new_ids: list[str] = []
    unsettled: list[tuple[dict[str, Any], str]] = []
    for index in chosen:
        item = items[index]
        variants = ctx.conversation.products[str(item["product_id"])].get("variants") or {}
        wording = variant_words(task)
        segment = _segment_for(wording, item, names)
        choice = choose_variant(segment, item, variants, ctx.embedder)
        if choice.item_id is None and segment != wording:
            choice = choose_variant(wording, item, variants, ctx.embedder)
        if choice.item_id is None and choice.candidates and times_asked(ctx, task, "which option"):
            choice = _closest_price(choice.candidates, item, variants)
        if choice.item_id is None:
            unsettled.append((item, _variant_help(item, variants, choice)))
            continue
        new_ids.append(choice.item_id)
    if unsettled and not any(choice_wanted for choice_wanted in _wanted_any(task, items, chosen)):
        other = _other_product(ctx, variant_words(task), [str(items[i]["name"]) for i in chosen])
        if isinstance(other, CallTool):
            return other
        if other:
            marker = "can't be modified" if verb == "modify" else "can't be exchanged"
            return Outcome(
                f"I'm sorry, but {order_id} {marker} for a {other}: an item can only be "
                "changed to another option of the same product.",
                "refused",
            )
    if unsettled:
        details = " ".join(help_text for _, help_text in unsettled)
        once = " Please name every item you want to change now: this can be done only once."
        return bounded_ask(
            ctx,
            task,
            f"{details} Which option would you like?{once}",
            ["new_variant"],
            "which option",
        )
    difference = _difference(ctx, items, chosen, new_ids)
    method = _difference_method(ctx, task, found, difference)
    if not isinstance(method, str):
        return method
    args = {
        "order_id": order_id,
        "item_ids": [str(items[i]["item_id"]) for i in chosen],
        "new_item_ids": new_ids,
        "payment_method_id": method,
    }
    if verb == "exchange":
        verbs = (f"{order_id} can't be exchanged", f"haven't started an exchange for {order_id}")
    else:
        verbs = (f"{order_id} can't be modified", f"haven't modified {order_id}")
    return propose(task, tool, args, verb_refused=verbs[0], verb_declined=verbs[1])


def _wanted_any(task: Task, items: list[dict[str, Any]], chosen: list[int]) -> list[bool]:
    """For each chosen item: whether the customer named any option value of its product."""
    return [bool(_product_options_named(task, items[i])) for i in chosen]


def _product_options_named(task: Task, item: dict[str, Any]) -> dict[str, str]:
    values = {str(k): [str(v)] for k, v in (item.get("options") or {}).items()}
    return option_mentions(variant_words(task), values)


def _other_product(ctx: Context, wording: str, own: list[str]) -> CallTool | str | None:
    """A product other than the customer's own that the wording asks for, if any."""
    catalogue = ctx.conversation.catalogue
    if catalogue is None:
        return CallTool(name="list_all_product_types", args={})
    for name in sorted(catalogue):
        if name in own or any(name_score(name, mine) >= 0.8 for mine in own):
            continue
        if text_score(wording, name) >= 0.99:
            return name
    return None


def _named(task: Task, item: dict[str, Any]) -> bool:
    """Whether the request's words name this item's product."""
    return name_score(item_words(task), str(item.get("name", ""))) >= 0.5


def _least_overlap(
    ctx: Context, wording: str, group: list[dict[str, Any]], positions: list[int]
) -> int | None:
    """Of items that fit a mention equally, the one the wanted options would change most."""
    product = ctx.conversation.products.get(str(group[0].get("product_id")))
    if product is None:
        return None
    options: dict[str, list[str]] = {}
    for variant in (product.get("variants") or {}).values():
        for key, value in (variant.get("options") or {}).items():
            options.setdefault(str(key), [])
            if str(value) not in options[str(key)]:
                options[str(key)].append(str(value))
    wanted = option_mentions(wording, options)
    if not wanted:
        return None
    kept = [
        sum(1 for k, v in wanted.items() if (item.get("options") or {}).get(k) == v)
        for item in group
    ]
    fewest = min(kept)
    best = [p for p, k in zip(positions, kept, strict=True) if k == fewest]
    return best[0] if len(best) == 1 else None


def _closest_price(
    candidates: tuple[str, ...], item: dict[str, Any], variants: dict[str, Any]
) -> VariantChoice:
    price = float(item.get("price", 0))
    best = min(candidates, key=lambda c: (abs(float(variants[c].get("price", 0)) - price), c))
    return VariantChoice(best)


def _variant_help(item: dict[str, Any], variants: dict[str, Any], choice: VariantChoice) -> str:
    name = item.get("name")
    if choice.candidates and len(choice.candidates) <= 6:
        listed = "; ".join(
            f"{', '.join(str(x) for x in (variants[c].get('options') or {}).values())} "
            f"({money(variants[c].get('price'))})"
            for c in choice.candidates
        )
        return f"The {name} with {', '.join(choice.wanted.values())} comes as: {listed}."
    options: dict[str, list[str]] = {}
    for variant in variants.values():
        if not variant.get("available"):
            continue
        for key, value in (variant.get("options") or {}).items():
            options.setdefault(str(key), [])
            if str(value) not in options[str(key)]:
                options[str(key)].append(str(value))
    listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in options.items())
    lead = (
        f"That combination of the {name} isn't available."
        if choice.unavailable
        else f"Your {item_label(item)} can be changed."
    )
    return f"{lead} Available options are {listed}."


def _difference(
    ctx: Context, items: list[dict[str, Any]], chosen: list[int], new_ids: list[str]
) -> float:
    total = 0.0
    for index, new_id in zip(chosen, new_ids, strict=True):
        item = items[index]
        variant = (ctx.conversation.products[str(item["product_id"])].get("variants") or {}).get(
            new_id, {}
        )
        total += float(variant.get("price", 0)) - float(item.get("price", 0))
    return round(total, 2)


def _difference_method(
    ctx: Context, task: Task, order: dict[str, Any], difference: float
) -> Result | str:
    methods = ctx.conversation.payment_methods()
    ref = latest_payment_ref(task)
    original = original_method(order)
    purpose = (
        f"pay the price difference of {money(difference)}"
        if difference > 0
        else f"receive the price difference of {money(-difference)}"
    )
    if ref is not None:
        chosen, fits = resolve_payment(ctx, ref, order)
        if chosen is None and fits:
            chosen = fits[0]
        if chosen is None and ref.last_four:
            # A card that isn't on the account can't settle anything.
            marker = (
                "can't be modified" if order.get("status") == "pending" else "can't be exchanged"
            )
            return Outcome(
                f"I'm sorry, but {order['order_id']} {marker} that way: the card ending "
                f"{ref.last_four} isn't on your account, and a price difference can only be "
                f"settled with a payment method on your account ({list_methods(ctx)}).",
                "refused",
            )
        if chosen is not None:
            method = methods.get(chosen) or {}
            balance = float(method.get("balance") or 0)
            if method.get("source") == "gift_card" and difference > balance:
                if times_asked(ctx, task, "which doesn't cover the price difference"):
                    marker = (
                        "can't be modified"
                        if order.get("status") == "pending"
                        else ("can't be exchanged")
                    )
                    return Outcome(
                        f"I'm sorry, but {order['order_id']} {marker} that way: your gift card "
                        f"has {money(balance)}, which doesn't cover the price difference of "
                        f"{money(difference)}.",
                        "refused",
                    )
                return bounded_ask(
                    ctx,
                    task,
                    f"Your gift card has {money(balance)}, which doesn't cover the price "
                    f"difference of {money(difference)}. Which payment method should I use "
                    f"instead? You have {list_methods(ctx, exclude=[chosen])}.",
                    ["payment"],
                    "which payment method",
                )
            return chosen
    last = ctx.conversation.last_message
    if len(methods) == 1:
        return next(iter(methods))
    if original and last is not None and "payment" in last.asked and is_dont_know(last.text):
        return original
    if original and times_asked(ctx, task, "which payment method") >= 1:
        return original
    return bounded_ask(
        ctx,
        task,
        f"Which payment method should {purpose}? You have {list_methods(ctx)}.",
        ["payment"],
        "which payment method",
    )


def _changed(
    ctx: Context, tool: str, result: dict[str, Any], before: dict[str, Any], args: dict[str, Any]
) -> Outcome:
    order_id = result.get("order_id")
    if tool == "exchange_delivered_order_items":
        difference = float(result.get("exchange_price_difference") or 0)
        method_id = str(result.get("exchange_payment_method_id") or "")
        wanted = list(result.get("exchange_items") or [])
        names = [i for i in before.get("items") or [] if i.get("item_id") in wanted]
        money_line = _difference_line(ctx, difference, method_id)
        return Outcome(
            f"Done: your exchange request for {order_id} is in for {count_names(names)}. "
            f"{money_line} We'll send you instructions for shipping them back; there's no "
            "need to place a new order.",
            "done",
            f"exchange of {count_names(names)} from {order_id}",
            round(max(-difference, 0.0), 2),
        )
    new_ids = [str(i) for i in (args.get("new_item_ids") or [])]
    changed = [i for i in result.get("items") or [] if str(i.get("item_id")) in new_ids]
    prices = join_names(f"{item_label(i)} at {money(i.get('price'))}" for i in changed)
    payments = result.get("payment_history") or []
    last = payments[-1] if payments else {}
    amount = float(last.get("amount") or 0)
    signed = amount if last.get("transaction_type") == "payment" else -amount
    money_line = _difference_line(ctx, signed, str(last.get("payment_method_id") or ""))
    return Outcome(
        f"Done: {order_id} has been updated: {count_names(changed)} changed to the option you "
        f"chose (now {prices}). {money_line} Its products can't be changed again.",
        "done",
        f"{order_id} updated",
        round(max(-signed, 0.0), 2),
    )


def _difference_line(ctx: Context, difference: float, method_id: str) -> str:
    where = describe_id(ctx, method_id) if method_id else "your payment method"
    if difference > 0:
        return f"The price difference of {money(difference)} is charged to {where}."
    if difference < 0:
        return (
            f"The price difference of {money(-difference)} goes back to {where} "
            f"{refund_timing(method_id)}."
        )
    return "There's no price difference."


# -- payment of a pending order ----------------------------------------------------------------
def change_payment(ctx: Context, task: Task) -> Result:
    """Pay a pending order with another method of the account."""
    found = find_order(ctx, task, ["pending"], verb="pay differently")
    if not isinstance(found, dict):
        return found
    order_id = str(found["order_id"])
    done = task.done_write()
    if done is not None:
        result = done.result if isinstance(done.result, dict) else found
        return _repaid(ctx, result)
    if found.get("status") != "pending":
        return Outcome(
            f"I'm sorry, but I can't change the payment of {order_id}: {why_not(found)}.", "refused"
        )
    payments = [p for p in found.get("payment_history") or [] if p]
    if len(payments) != 1:
        return Outcome(
            f"I'm sorry, but I can't change the payment of {order_id}: it has more than one "
            "payment on it.",
            "refused",
        )
    original = original_method(found) or ""
    total = float(payments[0].get("amount") or 0)
    if not [m for m in ctx.conversation.payment_methods() if m != original]:
        return Outcome(
            f"I'm sorry, but I can't change the payment of {order_id}: "
            f"{describe_id(ctx, original)} is the only payment method on your account.",
            "refused",
        )
    ref = latest_payment_ref(task)
    chosen: str | None = None
    if ref is not None and ref.kind != "original":
        chosen, fits = resolve_payment(ctx, ref, found)
        others = [f for f in fits if f != original]
        if (chosen is None or chosen == original) and others:
            chosen = others[0]
    if chosen is None or chosen == original:
        lead = (
            f"{order_id} is already paid with {describe_id(ctx, original)}. "
            if chosen == original
            else ""
        )
        return bounded_ask(
            ctx,
            task,
            f"{lead}Which payment method would you like to use for {order_id} "
            f"({money(total)})? You have {list_methods(ctx, exclude=[original])}.",
            ["payment"],
            "which payment method",
        )
    method = ctx.conversation.payment_methods().get(chosen) or {}
    if method.get("source") == "gift_card" and float(method.get("balance") or 0) < total:
        return bounded_ask(
            ctx,
            task,
            f"Your gift card has {money(method.get('balance'))}, which doesn't cover the "
            f"{money(total)} of {order_id}. Which payment method would you like instead?",
            ["payment"],
            "which payment method",
        )
    args = {"order_id": order_id, "payment_method_id": chosen}
    return propose(
        task,
        "modify_pending_order_payment",
        args,
        verb_refused=f"I can't change the payment of {order_id}",
        verb_declined=f"haven't changed the payment of {order_id}",
    )


def _repaid(ctx: Context, order: dict[str, Any]) -> Outcome:
    order_id = order.get("order_id")
    history = order.get("payment_history") or []
    empty: dict[str, Any] = {}
    paid = next((p for p in reversed(history) if p.get("transaction_type") == "payment"), empty)
    refund = next((p for p in reversed(history) if p.get("transaction_type") == "refund"), empty)
    new_id = str(paid.get("payment_method_id", ""))
    old_id = str(refund.get("payment_method_id", ""))
    back = (
        f" The original charge of {money(refund.get('amount'))} goes back to "
        f"{describe_id(ctx, old_id)} {refund_timing(old_id)}."
        if refund
        else ""
    )
    return Outcome(
        f"Done: {order_id} is now paid with {describe_id(ctx, new_id)}.{back}",
        "done",
        f"{order_id} paid with {describe_id(ctx, new_id)}",
    )
