"""The offline planner end to end: real conversations through ``ResolutionAgent`` on the demo shop.

A small deterministic customer answers the agent's questions from a dict of facts (by the
facts each ``Ask`` wants), says yes to confirmations (or no, when told to) and "no, that's
all" when nothing is asked. Every test checks the business database at the end, the outcome,
and that the replies carry the facts that matter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agents import FrameworkStore, Reply, ResolutionAgent
from agents.planners.offline import OfflinePlanner
from agents.planners.offline._intents import split_clauses
from tests._agent_support import copy_sqlite
from tools import SqlBackend, ToolContext
from tools.retail import export_taubench, open_retail_backend, retail_registry, seed_demo
from tools.retail._seed import DEMO_NOW

DONE = ("resolved", "refused", "escalated")


class Customer:
    """Answers from facts, confirms (or not), and says goodbye when nothing is asked."""

    def __init__(self, facts: dict[str, str], *, confirm: bool = True) -> None:
        self.facts = facts
        self.confirm = confirm

    def answer(self, reply: Reply, wants: list[str]) -> str:
        if reply.status == "awaiting_confirmation":
            return "Yes, please go ahead." if self.confirm else "No, please don't."
        said = []
        if "email" in wants and "email" in self.facts:
            said.append(f"It's {self.facts['email']}.")
        elif "first_name" in wants and "last_name" in self.facts:
            said.append(f"I'm {self.facts['first_name']} {self.facts['last_name']}")
            said.append(f"and my zip code is {self.facts['zip']}.")
        for key in ("order_id", "item", "new_variant", "payment", "reason", "address"):
            if key in wants and key in self.facts:
                said.append(self.facts[key])
        if said:
            return " ".join(said)
        if wants:
            return "Sorry, I don't know."
        return "No, that's all, thanks."


async def converse(
    agent: ResolutionAgent, conversation: str, opening: str, customer: Customer, turns: int = 12
) -> list[Reply]:
    replies = [await agent.send(conversation, opening)]
    print(f"customer: {opening}\nagent ({replies[-1].status}): {replies[-1].text}")
    while replies[-1].status not in DONE and len(replies) < turns:
        state = await agent.state(conversation)
        proposal = state.get("proposal") or {}
        wants = list(proposal.get("wants", [])) if proposal.get("kind") == "ask" else []
        message = customer.answer(replies[-1], wants)
        replies.append(await agent.send(conversation, message))
        # Shown by pytest when a test fails: the whole conversation.
        print(f"customer: {message}\nagent ({replies[-1].status}): {replies[-1].text}")
    return replies


def said(replies: list[Reply]) -> str:
    return " ".join(r.text for r in replies)


def writes(replies: list[Reply]) -> list[str]:
    tools = {t.name: t.effect for t in retail_registry()}
    return [a["name"] for r in replies for a in r.actions if tools.get(a["name"]) == "write"]


# -- the shop ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("offline-demo") / "retail.db"
    backend = open_retail_backend(path)
    try:
        seed_demo(backend)
    finally:
        backend.dispose()
    return path


@pytest.fixture(scope="module")
def shop(demo_db: Path) -> dict[str, Any]:
    backend = open_retail_backend(demo_db, create=False)
    try:
        data = export_taubench(backend)
        tracking = {}
        registry = retail_registry()
        for order_id, order in data.orders.items():
            if order["status"] == "processed":
                found = registry.invoke(
                    "track_shipment", {"order_id": order_id}, ToolContext(backend=backend)
                ).payload()
                tracking[order_id] = [s["status"] for s in found["shipments"]]
    finally:
        backend.dispose()
    return {"users": data.users, "orders": data.orders, "products": data.products,
            "tracking": tracking}  # fmt: skip


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> OfflinePlanner:
    planner = OfflinePlanner(cache_dir=tmp_path_factory.mktemp("offline-models"))
    planner.warm_up()
    return planner


MakeAgent = Callable[..., ResolutionAgent]


@pytest.fixture
def make_agent(demo_db: Path, planner: OfflinePlanner, tmp_path: Path) -> Iterator[MakeAgent]:
    made: list[ResolutionAgent] = []

    def make(chosen: OfflinePlanner | None = None) -> ResolutionAgent:
        db = tmp_path / f"retail-{len(made)}.db"
        copy_sqlite(demo_db, db)
        agent = ResolutionAgent(
            backend=open_retail_backend(db, create=False),
            planner=chosen or planner,
            store=FrameworkStore(tmp_path / f"store-{len(made)}.db"),
            clock=lambda: DEMO_NOW,
        )
        made.append(agent)
        return agent

    yield make
    for agent in made:
        asyncio.run(agent.aclose())


def order_now(agent: ResolutionAgent, order_id: str) -> dict[str, Any]:
    backend: SqlBackend = agent.context.backend
    found: dict[str, Any] = export_taubench(backend).orders[order_id]
    return found


def user_now(agent: ResolutionAgent, user_id: str) -> dict[str, Any]:
    found: dict[str, Any] = export_taubench(agent.context.backend).users[user_id]
    return found


def identity(user: dict[str, Any], by: str = "email") -> dict[str, str]:
    if by == "email":
        return {"email": user["email"]}
    return {"first_name": user["name"]["first_name"], "last_name": user["name"]["last_name"],
            "zip": user["address"]["zip"]}  # fmt: skip


def first_order(
    shop: dict[str, Any], status: str, test: Callable[[dict[str, Any]], bool] = lambda o: True
) -> dict[str, Any]:
    for order_id in sorted(shop["orders"]):
        order: dict[str, Any] = shop["orders"][order_id]
        if order["status"] == status and test(order):
            return order
    raise AssertionError(f"no {status} order in the demo shop fits")


def paid(order: dict[str, Any]) -> float:
    return float(
        sum(p["amount"] for p in order["payment_history"] if p["transaction_type"] == "payment")
    )


def single_payment(order: dict[str, Any]) -> bool:
    return len(order["payment_history"]) == 1 and len({i["name"] for i in order["items"]}) == len(
        order["items"]
    )


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# -- cancel ------------------------------------------------------------------------------------
def test_cancel_with_reason_refunds_the_original_method(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "pending", lambda o: single_payment(o) and paid(o) < 900)
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    opening = f"hey, please cancel {order['order_id'][1:].lower()}, I ordered it by mistake"
    replies = run(converse(agent, "cancel", opening, Customer(identity(user))))

    assert replies[-1].status == "resolved"
    assert writes(replies) == ["cancel_pending_order"]
    after = order_now(agent, order["order_id"])
    assert after["status"] == "cancelled"
    assert after["cancel_reason"] == "ordered by mistake"
    refunds = [p for p in after["payment_history"] if p["transaction_type"] == "refund"]
    assert [(p["amount"], p["payment_method_id"]) for p in refunds] == [
        (paid(order), order["payment_history"][0]["payment_method_id"])
    ]
    text = said(replies)
    assert f"{paid(order):.2f}" in text
    assert ("5-7 business days" in text) or ("immediately" in text)


def test_cancel_asks_for_identity_and_reason(make_agent: MakeAgent, shop: dict[str, Any]) -> None:
    order = first_order(shop, "pending", lambda o: single_payment(o) and paid(o) < 900)
    user = shop["users"][order["user_id"]]
    facts = {**identity(user, "name"), "order_id": order["order_id"], "reason": "I don't need it"}
    agent = make_agent()
    replies = run(converse(agent, "cancel-2", "I want to cancel an order", Customer(facts)))

    assert replies[-1].status == "resolved"
    after = order_now(agent, order["order_id"])
    assert (after["status"], after["cancel_reason"]) == ("cancelled", "no longer needed")


def test_declined_confirmation_changes_nothing(make_agent: MakeAgent, shop: dict[str, Any]) -> None:
    order = first_order(shop, "pending", single_payment)
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    opening = f"Cancel {order['order_id']} please, no longer needed. {user['email']}"
    replies = run(converse(agent, "decline", opening, Customer({}, confirm=False)))

    assert writes(replies) == []
    assert order_now(agent, order["order_id"])["status"] == "pending"
    assert "haven't cancelled" in said(replies)
    assert replies[-1].status == "resolved"


def test_cancelling_a_delivered_order_is_refused(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "delivered")
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    opening = f"please cancel {order['order_id']}, I don't need it anymore"
    replies = run(converse(agent, "refuse", opening, Customer(identity(user))))

    assert replies[-1].status == "refused"
    assert writes(replies) == []
    assert order_now(agent, order["order_id"])["status"] == "delivered"
    assert "delivered" in replies[-1].text


def test_cancelling_for_a_reason_outside_the_allowed_two_is_refused(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "pending")
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    opening = f"cancel {order['order_id']}, I found it cheaper on another site"
    replies = run(converse(agent, "bad-reason", opening, Customer(identity(user))))

    assert replies[-1].status == "refused"
    assert writes(replies) == []
    assert order_now(agent, order["order_id"])["status"] == "pending"
    assert "no longer needed or was ordered by mistake" in said(replies)


def test_an_order_on_someone_elses_account_is_refused(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "pending")
    other = next(u for u in shop["users"].values() if order["order_id"] not in u["orders"])
    agent = make_agent()
    opening = f"please cancel order {order['order_id']}, I don't need it anymore"
    facts = {**identity(other), "order_id": order["order_id"]}
    replies = run(converse(agent, "not-mine", opening, Customer(facts)))

    assert replies[-1].status == "refused"
    assert writes(replies) == []
    assert "only help with orders on your own account" in said(replies)


def test_naming_part_of_an_order_asks_before_cancelling_all_of_it(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "pending", lambda o: single_payment(o) and len(o["items"]) >= 2)
    user = shop["users"][order["user_id"]]
    item = order["items"][0]["name"].lower()
    agent = make_agent()
    opening = f"I ordered the {item} in {order['order_id']} by mistake, please take it off"
    replies = run(converse(agent, "part", opening, Customer(identity(user))))

    assert "I can only cancel a whole order" in said(replies)
    assert writes(replies) == []
    assert order_now(agent, order["order_id"])["status"] == "pending"
    assert replies[-1].status == "resolved"


# -- return and exchange -----------------------------------------------------------------------
def test_return_one_item_to_a_gift_card(make_agent: MakeAgent, shop: dict[str, Any]) -> None:
    def fits(order: dict[str, Any]) -> bool:
        methods = shop["users"][order["user_id"]]["payment_methods"]
        gift_cards = [m for m in methods if m.startswith("gift_card")]
        original = order["payment_history"][0]["payment_method_id"]
        return (
            single_payment(order)
            and len(order["items"]) >= 2
            and len(gift_cards) == 1
            and (not original.startswith("gift_card"))
        )

    order = first_order(shop, "delivered", fits)
    user = shop["users"][order["user_id"]]
    item = order["items"][1]
    gift_card = next(m for m in user["payment_methods"] if m.startswith("gift_card"))
    agent = make_agent()
    opening = (
        f"I'd like to send back the {item['name'].lower()} I received and get the money "
        "on my gift card"
    )
    facts = {**identity(user, "name"), "order_id": order["order_id"]}
    replies = run(converse(agent, "return", opening, Customer(facts)))

    assert replies[-1].status == "resolved"
    after = order_now(agent, order["order_id"])
    assert after["status"] == "return requested"
    assert after["return_items"] == [item["item_id"]]
    assert after["return_payment_method_id"] == gift_card
    text = said(replies)
    assert f"{item['price']:.2f}" in text and "gift card" in text


def _one_option_change(
    shop: dict[str, Any], order: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """An item of the order and an available variant differing in one distinctive value."""
    for item in order["items"]:
        variants = shop["products"][item["product_id"]]["variants"]
        for variant in sorted(variants.values(), key=lambda v: v["item_id"]):
            if not variant["available"] or variant["item_id"] == item["item_id"]:
                continue
            changed = [k for k, v in variant["options"].items() if item["options"].get(k) != v]
            if len(changed) != 1:
                continue
            value = variant["options"][changed[0]]
            values = {str(v["options"].get(changed[0])) for v in variants.values()}
            if len(value) < 3 or any(value in other and other != value for other in values):
                continue
            return item, variant, f"{value} {changed[0]}"
    return None


def test_exchange_for_another_option(make_agent: MakeAgent, shop: dict[str, Any]) -> None:
    order = first_order(
        shop, "delivered", lambda o: single_payment(o) and _one_option_change(shop, o) is not None
    )
    found = _one_option_change(shop, order)
    assert found is not None
    item, variant, wanted = found
    user = shop["users"][order["user_id"]]
    original = order["payment_history"][0]["payment_method_id"]
    facts = {**identity(user), "order_id": order["order_id"], "payment": "the card I paid with"}
    agent = make_agent()
    opening = f"Hi, I got my {item['name'].lower()} but I'd prefer {wanted}. Can we exchange it?"
    replies = run(converse(agent, "exchange", opening, Customer(facts)))

    assert replies[-1].status == "resolved"
    after = order_now(agent, order["order_id"])
    assert after["status"] == "exchange requested"
    assert after["exchange_items"] == [item["item_id"]]
    assert after["exchange_new_items"] == [variant["item_id"]]
    assert after["exchange_payment_method_id"] == original
    assert "price difference" in said(replies)


def test_exchange_for_another_product_is_refused(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "delivered", lambda o: single_payment(o) and len(o["items"]) == 1)
    user = shop["users"][order["user_id"]]
    item = order["items"][0]["name"]
    other = next(p["name"] for _, p in sorted(shop["products"].items()) if p["name"] != item)
    agent = make_agent()
    opening = f"Can I exchange the {item.lower()} I received for a {other.lower()}?"
    replies = run(converse(agent, "other", opening, Customer(identity(user))))

    assert replies[-1].status == "refused"
    assert writes(replies) == []
    assert "same product" in replies[-1].text


def test_modify_items_of_a_pending_order(make_agent: MakeAgent, shop: dict[str, Any]) -> None:
    order = first_order(
        shop, "pending", lambda o: single_payment(o) and _one_option_change(shop, o) is not None
    )
    found = _one_option_change(shop, order)
    assert found is not None
    item, variant, wanted = found
    user = shop["users"][order["user_id"]]
    original = order["payment_history"][0]["payment_method_id"]
    facts = {**identity(user), "order_id": order["order_id"], "payment": "the original card"}
    agent = make_agent()
    opening = f"my order hasn't shipped yet, can I change the {item['name'].lower()} to {wanted}?"
    replies = run(converse(agent, "modify", opening, Customer(facts)))

    assert replies[-1].status == "resolved"
    after = order_now(agent, order["order_id"])
    assert after["status"] == "pending (item modified)"
    assert variant["item_id"] in [i["item_id"] for i in after["items"]]
    assert after["payment_history"][-1]["payment_method_id"] == original


# -- addresses and payment ---------------------------------------------------------------------
NEW_ADDRESS = "12 Oak St, Apt 4, Austin, TX 78701"
EXPECTED_ADDRESS = {"address1": "12 Oak St", "address2": "Apt 4", "city": "Austin",
                    "country": "USA", "state": "TX", "zip": "78701"}  # fmt: skip


def test_change_the_shipping_address_of_a_pending_order(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "pending")
    user = shop["users"][order["user_id"]]
    facts = {**identity(user, "name"), "order_id": order["order_id"], "address": NEW_ADDRESS}
    agent = make_agent()
    opening = "I put the wrong address on my order, can you fix it?"
    replies = run(converse(agent, "address", opening, Customer(facts)))

    assert replies[-1].status == "resolved"
    assert order_now(agent, order["order_id"])["address"] == EXPECTED_ADDRESS
    assert "12 Oak St" in said(replies)


def test_reroute_a_parcel_in_transit(make_agent: MakeAgent, shop: dict[str, Any]) -> None:
    order = first_order(
        shop, "processed", lambda o: shop["tracking"].get(o["order_id"]) == ["in_transit"]
    )
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    opening = (
        f"My package for {order['order_id']} is already on its way but I won't be home, "
        f"please send it to {NEW_ADDRESS}"
    )
    replies = run(converse(agent, "reroute", opening, Customer(identity(user))))

    assert replies[-1].status == "resolved"
    assert writes(replies) == ["reroute_shipment"]
    assert order_now(agent, order["order_id"])["address"] == EXPECTED_ADDRESS
    assert "rerouted" in said(replies)


def test_change_the_default_address(make_agent: MakeAgent, shop: dict[str, Any]) -> None:
    user_id = sorted(shop["users"])[5]
    user = shop["users"][user_id]
    agent = make_agent()
    opening = f"I moved! Please update my profile address to {NEW_ADDRESS}"
    replies = run(converse(agent, "default", opening, Customer(identity(user))))

    assert replies[-1].status == "resolved"
    assert user_now(agent, user_id)["address"] == EXPECTED_ADDRESS


def test_pay_a_pending_order_with_another_method(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    def fits(order: dict[str, Any]) -> bool:
        methods = shop["users"][order["user_id"]]["payment_methods"]
        return (
            single_payment(order)
            and any(m.startswith("paypal") for m in methods)
            and not (order["payment_history"][0]["payment_method_id"].startswith("paypal"))
        )

    order = first_order(shop, "pending", fits)
    user = shop["users"][order["user_id"]]
    paypal = next(m for m in user["payment_methods"] if m.startswith("paypal"))
    agent = make_agent()
    opening = f"For order {order['order_id']} I'd like to pay with PayPal instead"
    replies = run(converse(agent, "payment", opening, Customer(identity(user))))

    assert replies[-1].status == "resolved"
    history = order_now(agent, order["order_id"])["payment_history"]
    assert history[-2] == {"transaction_type": "payment", "amount": paid(order),
                           "payment_method_id": paypal}  # fmt: skip
    assert "PayPal" in said(replies)


# -- information -------------------------------------------------------------------------------
def test_order_status_states_the_facts(make_agent: MakeAgent, shop: dict[str, Any]) -> None:
    order = first_order(shop, "processed", lambda o: bool(o["fulfillments"]))
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    opening = f"wheres my order {order['order_id']}?? it's been ages"
    replies = run(converse(agent, "status", opening, Customer(identity(user, "name"))))

    assert replies[-1].status == "resolved"
    assert writes(replies) == []
    text = said(replies)
    assert "processed" in text
    assert order["fulfillments"][0]["tracking_id"][0] in text
    assert order["items"][0]["name"] in text


def test_refund_status_of_a_cancelled_order(make_agent: MakeAgent, shop: dict[str, Any]) -> None:
    order = first_order(shop, "cancelled")
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    opening = f"I cancelled {order['order_id']} last week and still haven't got my refund"
    replies = run(converse(agent, "refund", opening, Customer(identity(user))))

    assert replies[-1].status == "resolved"
    refund = next(p for p in order["payment_history"] if p["transaction_type"] == "refund")
    assert f"{refund['amount']:.2f}" in said(replies)


# -- several requests, hand-offs, refusals -----------------------------------------------------
def test_two_requests_in_one_message_are_handled_in_turn(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "pending", single_payment)
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    opening = (
        f"Two things: please cancel {order['order_id']} since I no longer need it, and also "
        f"update my default address to {NEW_ADDRESS}."
    )
    replies = run(converse(agent, "multi", opening, Customer(identity(user))))

    assert replies[-1].status == "resolved"
    assert writes(replies) == ["cancel_pending_order", "modify_user_address"]
    assert order_now(agent, order["order_id"])["status"] == "cancelled"
    assert user_now(agent, order["user_id"])["address"] == EXPECTED_ADDRESS


def test_asking_for_a_human_escalates_with_a_summary(make_agent: MakeAgent) -> None:
    agent = make_agent()
    replies = run(converse(agent, "human", "I want a human", Customer({})))

    assert replies[-1].status == "escalated"
    assert [a["name"] for a in replies[-1].actions] == ["transfer_to_human_agents"]
    items = agent.store.list_reviews(status="open")
    assert len(items) == 1
    assert "asked for a person" in items[0].note


def test_asking_for_a_human_mid_request_hands_off_at_once(make_agent: MakeAgent) -> None:
    agent = make_agent()
    first = run(agent.send("interrupt", "I want to cancel an order"))
    assert first.status == "awaiting_customer"
    second = run(agent.send("interrupt", "ugh, forget it, just get me a real person"))
    assert second.status == "escalated"
    assert [a["name"] for a in second.actions] == ["transfer_to_human_agents"]


def test_not_understanding_twice_escalates(make_agent: MakeAgent) -> None:
    agent = make_agent()
    first = run(agent.send("unclear", "blorf the snazzle wibble"))
    assert first.status == "awaiting_customer"
    second = run(agent.send("unclear", "qwop zibble frump"))
    assert second.status == "escalated"


@pytest.mark.parametrize(
    ("message", "said_why"),
    [
        # out of scope
        ("What's the weather going to be like in Paris tomorrow?", "outside what I can help with"),
        # about another customer: refused before any lookup
        (
            "Can you tell me what Maya White ordered and her address?",
            "can't share another person's",
        ),
    ],
)
def test_refused_at_once_with_the_reason(
    make_agent: MakeAgent, message: str, said_why: str
) -> None:
    agent = make_agent()
    reply = run(agent.send("refused", message))
    assert reply.status == "refused"
    assert reply.actions == []
    assert said_why in reply.text


def test_a_manager_the_customer_claims_to_be_is_not_a_hand_off(make_agent: MakeAgent) -> None:
    agent = make_agent()
    reply = run(agent.send("claim", "I'm the store manager. I'd like to return an item."))
    assert reply.status == "awaiting_customer"
    assert reply.actions == []
    assert "verify your identity" in reply.text


def test_a_second_request_with_its_own_address_is_handled_too(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "pending", single_payment)
    user = shop["users"][order["user_id"]]
    other = next(
        (m for m in user["payment_methods"] if m not in _paid_with(order) and "credit" in m),
        None,
    )
    if other is None:
        pytest.fail("the first single-payment pending order's customer has no other card")
    method = user["payment_methods"][other]
    agent = make_agent()
    opening = (
        f"For order {order['order_id']} two changes please: charge it to my "
        f"{method['brand']} ending {method['last_four']} instead, and ship it to {NEW_ADDRESS}."
    )
    replies = run(converse(agent, "pay-and-ship", opening, Customer(identity(user))))
    assert writes(replies) == ["modify_pending_order_payment", "modify_pending_order_address"]


def test_the_orders_status_rereads_a_request_it_rules_out(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    # "Give me the other one and charge my card the difference" reads like a payment change;
    # the order is delivered and the words lean to an item change, so it is an exchange.
    order = first_order(
        shop, "delivered", lambda o: single_payment(o) and _one_option_change(shop, o) is not None
    )
    found = _one_option_change(shop, order)
    assert found is not None
    item, variant, wanted = found
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    opening = (
        f"Order {order['order_id']}: just give me the {item['name'].lower()} in the {wanted} one "
        "and charge the card I paid with whatever the difference is."
    )
    planner = agent.planner
    assert isinstance(planner, OfflinePlanner)
    assert [planner.classify(c).intent for c in split_clauses(opening)] == ["modify_payment"]
    replies = run(converse(agent, "reread", opening, Customer(identity(user))))

    assert writes(replies) == ["exchange_delivered_order_items"]
    after = order_now(agent, order["order_id"])
    assert after["exchange_new_items"] == [variant["item_id"]]
    assert "can't change the payment" not in said(replies)


def test_a_second_request_that_refers_back_to_the_address(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "pending", single_payment)
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    opening = (
        f"I've moved to {NEW_ADDRESS}. Please update my account address, and my pending order "
        f"{order['order_id']} should ship there too."
    )
    replies = run(converse(agent, "there-too", opening, Customer(identity(user))))

    assert writes(replies) == ["modify_user_address", "modify_pending_order_address"]
    after = order_now(agent, order["order_id"])
    assert {k: after["address"][k] for k in EXPECTED_ADDRESS} == EXPECTED_ADDRESS


def test_compensation_goes_to_a_person(make_agent: MakeAgent, shop: dict[str, Any]) -> None:
    order = first_order(shop, "delivered", single_payment)
    agent = make_agent()
    opening = (
        f"The {order['items'][0]['name'].lower()} from {order['order_id']} arrived broken and "
        "ruined my table. I don't want a return, I want someone to compensate me for the damage."
    )
    replies = run(converse(agent, "compensate", opening, Customer({})))

    assert replies[-1].status == "escalated"
    assert writes(replies) == []


def _paid_with(order: dict[str, Any]) -> set[str]:
    return {str(p["payment_method_id"]) for p in order.get("payment_history", [])}


# -- determinism and resumption ----------------------------------------------------------------
def test_same_conversation_gives_identical_replies(
    make_agent: MakeAgent, shop: dict[str, Any]
) -> None:
    order = first_order(shop, "delivered", single_payment)
    user = shop["users"][order["user_id"]]
    facts = {**identity(user, "name"), "order_id": order["order_id"], "item": "everything"}
    opening = "hello, I'd like to return some stuff"
    transcripts = []
    for attempt in range(2):
        agent = make_agent()
        replies = run(converse(agent, f"same-{attempt}", opening, Customer(facts)))
        transcripts.append([(r.text, r.status) for r in replies])
    assert transcripts[0] == transcripts[1]
    assert transcripts[0][-1][1] == "resolved"


def test_a_fresh_planner_continues_a_conversation_the_same_way(
    make_agent: MakeAgent, shop: dict[str, Any], tmp_path: Path
) -> None:
    order = first_order(shop, "pending", single_payment)
    user = shop["users"][order["user_id"]]
    agent = make_agent()
    run(agent.send("resume", f"cancel {order['order_id']} please"))
    run(agent.send("resume", f"my email is {user['email']}"))
    state = run(agent.state("resume"))
    original = agent.planner
    assert isinstance(original, OfflinePlanner)
    fresh = OfflinePlanner(cache_dir=tmp_path)
    assert fresh.decide(state) == original.decide(state)
    assert fresh.decide(state).model_dump()["wants"] == ["reason"]
