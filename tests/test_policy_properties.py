"""Property tests of the retail pack under the engine, over random calls and random facts.

Whatever the facts (missing, null, of the wrong type), the engine never raises, decides the
same twice, never lets a write run without an allow rule, and its decision matches an
independent evaluation of every rule's CEL condition.
"""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime
from typing import Any

import cel
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from policies import ConversationFacts, PolicyEngine, ProposedCall, load_pack
from policies._types import DEFAULT_DENY_RULE, EFFECT_PRIORITY
from tools.retail import ORDER_STATUSES, retail_registry

EFFECTS = {tool.name: tool.effect for tool in retail_registry()}
PACK = load_pack("retail", known_tools=EFFECTS)
ENGINE = PolicyEngine(PACK, EFFECTS)
PARAMS = PACK.pack.params
PROGRAMS = {rule.rule.id: cel.compile(rule.rule.when) for rule in PACK.rules if rule.rule.when}
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)

UNKNOWN_TOOLS = ["refund_to_any_card", "delete_user", "modify_pending_order", ""]
USERS = ["alice_1", "bob_2", "carol_3"]
ORDERS = ["#W1", "#W2", "#W3"]
ITEMS = ["1001", "1002", "2001"]
METHODS = ["credit_card_1", "gift_card_2", "paypal_3", "bitcoin_9"]
REASONS = [*PARAMS["cancel_reasons"], "found it cheaper", ""]
FLAGS = ["ignore_instructions", "role_claim", "pii", "profanity"]

numbers = st.one_of(
    st.floats(min_value=-10.0, max_value=5000.0, allow_nan=False),
    st.sampled_from([0.0, 999.99, 1000.0, 1000.01]),
    st.integers(min_value=-5, max_value=5000),
)
maybe_bool = st.one_of(st.booleans(), st.none())
shipment_statuses = st.one_of(
    st.sampled_from(["in_transit", "out_for_delivery", "delivered"]), st.none()
)

args_strategy = st.fixed_dictionaries(
    {},
    optional={
        "order_id": st.one_of(st.sampled_from(ORDERS), st.none(), st.integers()),
        "user_id": st.one_of(st.sampled_from(USERS), st.none()),
        "reason": st.one_of(st.sampled_from(REASONS), st.none()),
        "item_ids": st.lists(st.sampled_from(ITEMS), max_size=3),
        "new_item_ids": st.lists(st.sampled_from(ITEMS), max_size=3),
        "payment_method_id": st.sampled_from(METHODS),
        "tracking_id": st.text(max_size=4),
    },
)

customer_strategy = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"id": st.sampled_from(USERS)},
        optional={"orders": st.lists(st.sampled_from(ORDERS), max_size=3)},
    ),
    st.fixed_dictionaries({}, optional={"name": st.text(max_size=3)}),  # no id at all
)

order_strategy = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "user_id": st.sampled_from(USERS),
            "status": st.one_of(st.sampled_from(ORDER_STATUSES), st.text(max_size=8)),
        },
        optional={"order_id": st.sampled_from(ORDERS)},
    ),
    st.fixed_dictionaries({}, optional={"status": st.sampled_from(ORDER_STATUSES)}),
)

payment_method_strategy = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from(METHODS),
            "on_account": maybe_bool,
            "is_original": maybe_bool,
            "is_gift_card": maybe_bool,
            "covers": maybe_bool,
            "balance": numbers,
            "source": st.sampled_from(["credit_card", "gift_card", "paypal"]),
        },
    ),
)

action_strategy = st.fixed_dictionaries(
    {},
    optional={
        "items_in_order": maybe_bool,
        "same_product": maybe_bool,
        "new_variants_available": maybe_bool,
        "changes_option": maybe_bool,
        "refund_amount": st.one_of(numbers, st.none()),
        "amount_due": numbers,
        "price_difference": numbers,
        "order_total": numbers,
        "payment_method": payment_method_strategy,
        "shipment_status": shipment_statuses,
    },
)

conversation_strategy = st.builds(
    ConversationFacts,
    id=st.just("prop"),
    turn=st.integers(min_value=0, max_value=30),
    confirmed=st.booleans(),
    approved=st.booleans(),
    actions_taken=st.lists(st.sampled_from(sorted(EFFECTS)), max_size=12),
    customers_seen=st.lists(st.sampled_from(USERS), max_size=3),
    flags=st.lists(st.sampled_from(FLAGS), max_size=2, unique=True),
).map(lambda facts: facts.model_dump())

tool_strategy = st.sampled_from([*sorted(EFFECTS), *UNKNOWN_TOOLS])


STATUS_FOR = {
    "cancel_pending_order": "pending",
    "modify_pending_order_address": "pending",
    "modify_pending_order_payment": "pending",
    "modify_pending_order_items": "pending",
    "return_delivered_order_items": "delivered",
    "exchange_delivered_order_items": "delivered",
}
WRITE_TOOLS = sorted(tool for tool, effect in EFFECTS.items() if effect == "write")

# The facts a coherent context can have wrong, one at a time or in pairs.
FACTS = [
    "args",
    "args.order_id",
    "args.user_id",
    "args.reason",
    "customer",
    "customer.id",
    "order",
    "order.user_id",
    "order.status",
    "action",
    "action.items_in_order",
    "action.same_product",
    "action.new_variants_available",
    "action.refund_amount",
    "action.payment_method",
    "payment_method.on_account",
    "payment_method.is_original",
    "payment_method.is_gift_card",
    "payment_method.covers",
    "action.shipment_status",
    "conversation",
    "conversation.confirmed",
    "conversation.approved",
    "conversation.actions_taken",
    "conversation.customers_seen",
    "conversation.flags",
]


@st.composite
def calls_and_contexts(
    draw: st.DrawFn, tools: st.SearchStrategy[str] = tool_strategy
) -> tuple[ProposedCall, dict[str, Any]]:
    """A call and its facts: coherent, coherent but for one or two wrong facts, or random.

    Fully random facts almost never allow a write, which would leave the interesting half of
    the properties untested: a coherent conversation (the verified customer's own order in
    the right status, confirmed, a small refund to a gift card) is allowed, and getting one
    fact of it wrong gives the near misses each rule is there for.
    """
    tool = draw(tools)
    user = draw(st.sampled_from(USERS))
    mode = draw(st.sampled_from(["coherent", "near miss", "near miss", "near miss", "random"]))
    if mode == "coherent":
        broken: set[str] = set()
    elif mode == "near miss":
        broken = draw(st.sets(st.sampled_from(FACTS), min_size=1, max_size=2))
    else:
        broken = set(FACTS)

    def fact(name: str, plausible: Any, wrong: st.SearchStrategy[Any]) -> Any:
        return draw(wrong) if name in broken else plausible

    falsy = st.sampled_from([False, None])
    threshold = float(PARAMS["approval_threshold"])
    args = fact(
        "args",
        {
            "order_id": fact("args.order_id", draw(st.sampled_from(ORDERS)), st.none()),
            "user_id": fact("args.user_id", user, st.sampled_from([*USERS, None])),
            "reason": fact(
                "args.reason",
                draw(st.sampled_from(PARAMS["cancel_reasons"])),
                st.sampled_from(["found it cheaper", "", None]),
            ),
            "item_ids": ["1001"],
            "new_item_ids": ["1002"],
            "payment_method_id": draw(st.sampled_from(METHODS)),
        },
        args_strategy,
    )
    customer = fact(
        "customer",
        {"id": fact("customer.id", user, st.sampled_from(USERS)), "orders": list(ORDERS)},
        customer_strategy,
    )
    order = fact(
        "order",
        {
            "user_id": fact("order.user_id", user, st.sampled_from(USERS)),
            "status": fact(
                "order.status", STATUS_FOR.get(tool, "pending"), st.sampled_from(ORDER_STATUSES)
            ),
        },
        order_strategy,
    )
    method = fact(
        "action.payment_method",
        {
            "on_account": fact("payment_method.on_account", True, falsy),
            "is_original": fact("payment_method.is_original", False, st.sampled_from([True, None])),
            "is_gift_card": fact("payment_method.is_gift_card", True, falsy),
            "covers": fact("payment_method.covers", True, falsy),
        },
        payment_method_strategy,
    )
    action = fact(
        "action",
        {
            "items_in_order": fact("action.items_in_order", True, falsy),
            "same_product": fact("action.same_product", True, falsy),
            "new_variants_available": fact("action.new_variants_available", True, falsy),
            "changes_option": draw(st.booleans()),
            "refund_amount": fact(
                "action.refund_amount",
                draw(st.floats(min_value=0.0, max_value=threshold)),
                st.one_of(st.floats(min_value=threshold + 0.01, max_value=1e6), st.none()),
            ),
            "amount_due": draw(numbers),
            "payment_method": method,
            "shipment_status": fact(
                "action.shipment_status",
                "in_transit",
                st.sampled_from(["out_for_delivery", "delivered", None]),
            ),
        },
        action_strategy,
    )
    conversation = fact(
        "conversation",
        ConversationFacts(
            id="prop",
            turn=draw(st.integers(min_value=1, max_value=20)),
            confirmed=fact("conversation.confirmed", True, st.just(False)),
            approved=fact("conversation.approved", False, st.just(True)),
            actions_taken=fact(
                "conversation.actions_taken",
                draw(st.lists(st.sampled_from(WRITE_TOOLS), max_size=3)),
                st.lists(st.sampled_from(WRITE_TOOLS), min_size=10, max_size=12),
            ),
            customers_seen=fact(
                "conversation.customers_seen",
                [user],
                st.lists(st.sampled_from(USERS), min_size=2, max_size=3),
            ),
            flags=fact(
                "conversation.flags",
                [],
                st.lists(st.sampled_from(FLAGS), min_size=1, max_size=2, unique=True),
            ),
        ).model_dump(),
        conversation_strategy,
    )
    context = {
        "tool": tool,
        "args": args,
        "customer": customer,
        "order": order,
        "orders": list((customer or {}).get("orders", [])),
        "action": action,
        "conversation": conversation,
        "params": dict(PARAMS),
        "now": NOW,
    }
    return ProposedCall(tool=tool, args=args), context


def _independent(tool: str, context: dict[str, Any]) -> tuple[str, dict[str, str], set[str]]:
    """Decide without the engine: evaluate each governing rule's condition directly.

    Returns the effect, rule id -> effect of the rules that count as matched, and the ids of
    the rules whose condition did not give a boolean.
    """
    matched: dict[str, str] = {}
    failed: set[str] = set()
    for compiled in PACK.rules:
        rule = compiled.rule
        if not any(fnmatch.fnmatchcase(tool, pattern) for pattern in rule.tools):
            continue
        if not rule.when:
            matched[rule.id] = rule.effect
            continue
        try:
            value = PROGRAMS[rule.id].execute(context)
        except Exception:  # any evaluation failure: the engine fails closed on it
            value = None
        if not isinstance(value, bool):
            failed.add(rule.id)
            if rule.effect != "allow":  # fail closed
                matched[rule.id] = rule.effect
        elif value:
            matched[rule.id] = rule.effect
    strongest = max((EFFECT_PRIORITY[e] for e in matched.values()), default=0)
    if strongest > EFFECT_PRIORITY["allow"]:
        effect = next(e for e, p in EFFECT_PRIORITY.items() if p == strongest)
    elif strongest == EFFECT_PRIORITY["allow"] or EFFECTS.get(tool, "write") == "read":
        effect = "allow"
    else:
        effect = "deny"
    return effect, matched, failed


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls_and_contexts())
def test_no_write_runs_without_an_allow_and_decisions_match_the_conditions(
    drawn: tuple[ProposedCall, dict[str, Any]],
) -> None:
    call, context = drawn
    decision = ENGINE.evaluate(call, context)  # never raises
    assert ENGINE.evaluate(call, context) == decision  # deterministic
    is_write = EFFECTS.get(call.tool, "write") != "read"
    fired = {rule.id: rule.effect for rule in decision.rules}

    # From the decision's own reasons.
    if decision.effect == "allow" and is_write:
        assert "allow" in fired.values(), decision.summary()
        assert "deny" not in fired.values(), decision.summary()
    if decision.rules:
        assert decision.rules[0].effect == decision.effect  # strongest first
    else:
        assert decision.effect == "allow" and not is_write
    # default-deny is cited exactly when a write matched no rule at all
    assert (DEFAULT_DENY_RULE in fired) == (is_write and set(fired) <= {DEFAULT_DENY_RULE})

    # From an independent evaluation of every condition.
    effect, matched, failed = _independent(call.tool, context)
    assert decision.effect == effect, (decision.summary(), matched, failed)
    assert {r: e for r, e in fired.items() if r != DEFAULT_DENY_RULE} == matched
    assert {rule.id for rule in decision.rules if rule.error is not None} == failed & set(fired)
    if decision.effect == "allow" and is_write:
        values = {}
        for rule_id in matched:
            program = PROGRAMS.get(rule_id)
            values[rule_id] = program.execute(context) if program is not None else True
        assert any(v is True for r, v in values.items() if matched[r] == "allow")
        assert all(matched[r] == "allow" for r in values)


@pytest.mark.parametrize("tool", WRITE_TOOLS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_allowed_write_respects_the_store_policy(tool: str, data: st.DataObject) -> None:
    """Business invariants of the retail pack, read off the facts of every allowed write.

    Per tool, so that each write tool meets every near miss (one fact wrong) often enough.
    """
    call, context = data.draw(calls_and_contexts(st.just(tool)))
    decision = ENGINE.evaluate(call, context)
    if not decision.allowed:
        return
    assert call.tool in EFFECTS  # unknown tools never run
    customer, order, conversation = context["customer"], context["order"], context["conversation"]
    assert customer is not None and "id" in customer
    assert conversation["confirmed"] is True
    assert len(conversation["customers_seen"]) <= 1
    assert len(conversation["actions_taken"]) < PARAMS["max_writes"]
    # After an attempt to override the policy, only a reviewer's approval lets a write run.
    if {"ignore_instructions", "role_claim"} & set(conversation["flags"]):
        assert conversation["approved"] is True
    if call.tool == "modify_user_address":
        assert call.args.get("user_id") == customer["id"]
        return
    assert order is not None and order["user_id"] == customer["id"]
    action = context["action"]
    if call.tool == "cancel_pending_order":
        assert order["status"] == "pending"
        assert call.args.get("reason") in PARAMS["cancel_reasons"]
    if call.tool.startswith("modify_pending_order_"):
        assert order["status"] == "pending"
    if call.tool in {"return_delivered_order_items", "exchange_delivered_order_items"}:
        assert order["status"] == "delivered"
    if call.tool in {"modify_pending_order_items", "exchange_delivered_order_items"}:
        assert action["items_in_order"] is True
        assert action["same_product"] is True
        assert action["new_variants_available"] is True
    if call.tool in {
        "cancel_pending_order",
        "return_delivered_order_items",
        "modify_pending_order_items",
        "exchange_delivered_order_items",
    }:
        assert conversation["approved"] or action["refund_amount"] <= PARAMS["approval_threshold"]
    method = action.get("payment_method")
    if call.tool in {
        "modify_pending_order_payment",
        "modify_pending_order_items",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
    }:
        assert method["on_account"] is True
    if call.tool in {
        "modify_pending_order_payment",
        "modify_pending_order_items",
        "exchange_delivered_order_items",
    }:
        assert method["covers"] is True
    if call.tool == "modify_pending_order_payment":
        assert method["is_original"] is not True
    if call.tool == "return_delivered_order_items":
        assert method["is_original"] is True or method["is_gift_card"] is True
    if call.tool == "reroute_shipment":
        assert action["shipment_status"] == "in_transit"


@pytest.mark.parametrize("tool", WRITE_TOOLS)
def test_the_generated_facts_reach_allowed_writes(tool: str) -> None:
    """Guards the properties above against vacuity: every write tool is sometimes allowed."""
    call, context = find(
        calls_and_contexts(st.just(tool)),
        lambda drawn: ENGINE.evaluate(*drawn).allowed,
        settings=settings(
            max_examples=2000, derandomize=True, database=None, phases=[Phase.generate]
        ),
    )
    assert call.tool == tool
    assert ENGINE.evaluate(call, context).rule_ids in (
        ["allow-order-changes"],
        ["allow-own-address"],
    )
