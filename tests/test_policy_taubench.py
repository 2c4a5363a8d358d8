"""The retail pack against tau-bench: no false denials, and every policy violation blocked.

(a) Every ground-truth action of the 635 tau-bench retail tasks is allowed by the pack in the
state the replay has reached (refunds above the approval threshold go to a reviewer by design).

(b) The mutation suite: from every successful ground-truth write action of the test split, in
the state just before it runs, calls that break one rule of the store's policy are derived
(another customer's order, a refund to a card, a delivered order cancelled, an invalid reason,
an item changed to another product or an unavailable option, no authentication, no
confirmation, a second item modification). Each must be blocked, citing the rule it breaks.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evals.taubench import REPLAY_CLOCK, TaubenchReplayer, TaubenchTask, load_tasks
from policies import (
    CompiledPack,
    ConversationFacts,
    Decision,
    FactLoader,
    PolicyEngine,
    ProposedCall,
    load_pack,
)
from tools import ToolContext, ToolRegistry
from tools._provision import DatabaseCopies
from tools.retail import (
    TaubenchData,
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    retail_registry,
)
from tools.retail._schema import retail_metadata

CHUNK = 50
SPLIT_SIZES = {"test": 115, "train": 500, "dev": 20}
ORDER_TOOLS = {
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_payment",
    "modify_pending_order_items",
    "return_delivered_order_items",
    "exchange_delivered_order_items",
}
ITEM_CHANGE_TOOLS = {"modify_pending_order_items", "exchange_delivered_order_items"}

# kind -> (expected effect, expected rule id)
MUTATIONS: dict[str, tuple[str, str]] = {
    "other-customer-order": ("deny", "own-orders-only"),
    "other-customer-account": ("deny", "own-account-only"),
    "refund-to-other-method": ("deny", "refund-to-original-or-gift-card"),
    "cancel-delivered": ("deny", "cancel-only-pending"),
    "cancel-reason": ("deny", "cancel-reason"),
    "different-product": ("deny", "same-product"),
    "unavailable-variant": ("deny", "variant-available"),
    "unauthenticated": ("deny", "authenticate-first"),
    "unconfirmed": ("confirm", "confirm-writes"),
    "second-item-modification": ("deny", "items-once"),
}


@functools.cache
def _tasks(data_dir: Path, split: str) -> list[TaubenchTask]:
    tasks = load_tasks(data_dir / f"tasks_{split}.json")
    assert len(tasks) == SPLIT_SIZES[split]
    return tasks


@functools.cache
def _retail_pack() -> CompiledPack:
    return load_pack("retail", known_tools={t.name: t.effect for t in retail_registry()})


# --- (a) zero false denials -------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy_replayer(taubench_retail_dir: Path) -> Iterator[TaubenchReplayer]:
    with TaubenchReplayer(taubench_retail_dir, policy=_retail_pack()) as replayer:
        yield replayer


def _chunks() -> list[tuple[str, int]]:
    return [
        (split, start) for split, size in SPLIT_SIZES.items() for start in range(0, size, CHUNK)
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("split", "start"), _chunks(), ids=lambda v: str(v))
def test_no_ground_truth_action_is_denied(
    split: str, start: int, policy_replayer: TaubenchReplayer, taubench_retail_dir: Path
) -> None:
    tasks = _tasks(taubench_retail_dir, split)
    end = min(start + CHUNK, len(tasks))
    denied, approvals = [], []
    for index in range(start, end):
        outcome = policy_replayer.replay_task(index, tasks[index], split=split)
        denied.extend(outcome.denied)
        approvals.extend(outcome.approvals)
    assert denied == []
    # Approvals are by design: refunds above the threshold, and nothing else in tau-bench.
    assert all(hold.rules == ["refund-approval", "allow-order-changes"] for hold in approvals), (
        approvals
    )
    print(
        f"\n{split}[{start}:{end}]: 0 denied, {len(approvals)} sent for approval "
        f"(refund above the threshold): "
        + ", ".join(f"{h.index}:{h.step} {h.action}" for h in approvals)
    )


# --- (b) the mutation suite -------------------------------------------------------------------


@dataclass
class Case:
    """One mutated call, decided in the state just before the real action."""

    kind: str
    where: str
    call: ProposedCall
    decision: Decision


class MutationSuite:
    """Replays the test split's ground truth and derives mutated calls at each write."""

    def __init__(self, data: TaubenchData, copies: DatabaseCopies) -> None:
        self.data = data
        self.copies = copies
        self.registry: ToolRegistry = retail_registry()
        self.pack = _retail_pack()
        self.params = self.pack.pack.params
        self.engine = PolicyEngine(self.pack, {t.name: t.effect for t in self.registry})
        self.user_ids = sorted(data.users)
        self.cases: list[Case] = []
        self.baselines: list[tuple[str, Decision, dict[str, Any]]] = []
        self.writes = 0

    # facts ------------------------------------------------------------------------------------

    def _read(self, ctx: ToolContext, tool: str, **args: Any) -> dict[str, Any]:
        result = self.registry.invoke(tool, args, ctx)
        assert result.ok, (tool, args, result.payload())
        payload: dict[str, Any] = result.payload()
        return payload

    def _other_user(self, owner: str, salt: int) -> str:
        candidates = [u for u in self.user_ids if u != owner]
        return candidates[salt % len(candidates)]

    def _decide(
        self,
        ctx: ToolContext,
        call: ProposedCall,
        customer: str | None,
        conversation: ConversationFacts,
    ) -> tuple[Decision, dict[str, Any]]:
        context = FactLoader(self.registry, ctx).build(
            call,
            customer_id=customer,
            conversation=conversation,
            params=self.params,
            now=REPLAY_CLOCK,
        )
        return self.engine.evaluate(call, context), context

    # mutations --------------------------------------------------------------------------------

    def _mutations(
        self, ctx: ToolContext, call: ProposedCall, customer: str, salt: int
    ) -> Iterator[tuple[str, ProposedCall, str | None, dict[str, Any]]]:
        """Yield (kind, call, customer, conversation overrides) for one real write."""
        tool, args = call.tool, call.args
        yield "unauthenticated", call, None, {"customers_seen": []}
        yield "unconfirmed", call, customer, {"confirmed": False}
        if tool == "modify_user_address":
            other = self._other_user(customer, salt)
            yield "other-customer-account", _with(call, user_id=other), customer, {}
            return
        order = self._read(ctx, "get_order_details", order_id=args["order_id"])
        other = self._other_user(order["user_id"], salt)
        yield "other-customer-order", call, other, {"customers_seen": [other]}
        if tool == "cancel_pending_order":
            yield "cancel-reason", _with(call, reason="found it cheaper"), customer, {}
            delivered = self._customer_orders(ctx, customer, "delivered")
            if delivered:
                yield "cancel-delivered", _with(call, order_id=delivered[0]), customer, {}
        if tool == "return_delivered_order_items":
            original = order["payment_history"][0]["payment_method_id"]
            methods = self._read(ctx, "get_user_details", user_id=customer)["payment_methods"]
            others = sorted(
                method_id
                for method_id, method in methods.items()
                if method["source"] in {"credit_card", "paypal"} and method_id != original
            )
            if others:
                yield (
                    "refund-to-other-method",
                    _with(call, payment_method_id=others[0]),
                    customer,
                    {},
                )
        if tool in ITEM_CHANGE_TOOLS:
            products = {item["item_id"]: item["product_id"] for item in order["items"]}
            new_ids = list(args["new_item_ids"])
            first_product = products[args["item_ids"][0]]
            foreign = self._available_variant_not_of(first_product)
            yield (
                "different-product",
                _with(call, new_item_ids=[foreign, *new_ids[1:]]),
                customer,
                {},
            )
            for position, item_id in enumerate(args["item_ids"]):
                unavailable = self._unavailable_variants(products[item_id])
                if unavailable:
                    changed = [*new_ids]
                    changed[position] = unavailable[0]
                    yield "unavailable-variant", _with(call, new_item_ids=changed), customer, {}
                    break

    def _customer_orders(self, ctx: ToolContext, customer: str, status: str) -> list[str]:
        orders = self._read(ctx, "get_user_details", user_id=customer)["orders"]
        return sorted(
            order_id
            for order_id in orders
            if self._read(ctx, "get_order_details", order_id=order_id)["status"] == status
        )

    def _available_variant_not_of(self, product_id: str) -> str:
        for other_id in sorted(self.data.products):
            if other_id == product_id:
                continue
            variants = self.data.products[other_id]["variants"]
            for variant_id in sorted(variants):
                if variants[variant_id]["available"]:
                    return variant_id
        raise AssertionError("no other product has an available variant")

    def _unavailable_variants(self, product_id: str) -> list[str]:
        variants = self.data.products[product_id]["variants"]
        return sorted(v for v, variant in variants.items() if not variant["available"])

    # the replay -------------------------------------------------------------------------------

    def run_task(self, index: int, task: TaubenchTask) -> None:
        url = self.copies.copy()
        backend = open_retail_backend(url, create=False, clock=lambda: REPLAY_CLOCK)
        try:
            ctx = ToolContext(backend=backend, customer_id=task.user_id, clock=lambda: REPLAY_CLOCK)
            customer = task.user_id
            taken: list[str] = []
            for step, action in enumerate(task.actions):
                where = f"test task {index} step {step} {action.name}"
                call = ProposedCall(tool=action.name, args=action.kwargs)
                is_write = self.registry.get(action.name).effect == "write"
                pending: list[Case] = []
                baseline: tuple[Decision, dict[str, Any]] | None = None
                conversation = ConversationFacts(
                    id=f"mutation-{index}",
                    turn=step + 1,
                    confirmed=True,
                    actions_taken=list(taken),
                    customers_seen=[customer],
                )
                if is_write:
                    baseline = self._decide(ctx, call, customer, conversation)
                    needs_approval = baseline[0].effect == "approve"
                    for kind, mutated, who, changes in self._mutations(ctx, call, customer, index):
                        if kind == "unconfirmed" and needs_approval:
                            # a reviewer approved it, the customer did not confirm it
                            changes = {**changes, "approved": True}
                        facts = conversation.model_copy(update=changes)
                        decision, _ = self._decide(ctx, mutated, who, facts)
                        pending.append(Case(kind, where, mutated, decision))
                result = self.registry.invoke(
                    action.name, action.kwargs, ctx.with_key(f"mutation:{index}:{step}")
                )
                if result.ok and action.name.startswith("find_user_id"):
                    customer = result.payload()["user_id"]
                if not (is_write and result.ok):
                    continue  # only successful ground-truth writes seed mutations
                assert baseline is not None
                self.writes += 1
                self.baselines.append((where, *baseline))
                self.cases.extend(pending)
                taken.append(action.name)
                if action.name == "modify_pending_order_items":
                    # The items were changed once; changing them back is a second change.
                    again = _with(
                        call, item_ids=call.args["new_item_ids"], new_item_ids=call.args["item_ids"]
                    )
                    facts = conversation.model_copy(update={"actions_taken": list(taken)})
                    decision, context = self._decide(ctx, again, customer, facts)
                    assert context["order"]["status"] == "pending (item modified)"
                    self.cases.append(Case("second-item-modification", where, again, decision))
        finally:
            backend.dispose()
            self.copies.discard(url)


def _with(call: ProposedCall, **changes: Any) -> ProposedCall:
    return ProposedCall(tool=call.tool, args={**call.args, **changes})


@pytest.fixture(scope="module")
def mutation_suite(
    taubench_retail_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MutationSuite]:
    data = read_taubench_dir(taubench_retail_dir)
    copies = DatabaseCopies(
        tmp_path_factory.mktemp("mutations"), retail_metadata, prefix="mutations"
    )
    copies.prepare(lambda backend: load_taubench(backend, data))
    suite = MutationSuite(data, copies)
    try:
        for index, task in enumerate(_tasks(taubench_retail_dir, "test")):
            suite.run_task(index, task)
        yield suite
    finally:
        copies.close()


@pytest.mark.slow
def test_unmodified_writes_are_allowed(mutation_suite: MutationSuite) -> None:
    threshold = mutation_suite.params["approval_threshold"]
    wrong = []
    approvals = 0
    for where, decision, context in mutation_suite.baselines:
        if context["order"] is not None:
            assert context["order"]["user_id"] == context["customer"]["id"], where
        if decision.effect == "approve":
            approvals += 1
            refund = context["action"]["refund_amount"]
            if decision.rule_ids != ["refund-approval", "allow-order-changes"] or not (
                refund > threshold
            ):
                wrong.append((where, decision.summary(), refund))
        elif decision.effect != "allow":
            wrong.append((where, decision.summary()))
    assert wrong == []
    assert mutation_suite.writes == len(mutation_suite.baselines) > 150
    print(
        f"\n{mutation_suite.writes} successful ground-truth writes of the test split: "
        f"{mutation_suite.writes - approvals} allowed, {approvals} sent for refund approval"
    )


@pytest.mark.slow
def test_every_mutation_is_blocked_with_the_expected_rule(mutation_suite: MutationSuite) -> None:
    counts: Counter[str] = Counter()
    blocked: Counter[str] = Counter()
    escaped = []
    for case in mutation_suite.cases:
        effect, rule = MUTATIONS[case.kind]
        counts[case.kind] += 1
        decision = case.decision
        if decision.effect == effect and rule in decision.rule_ids and not decision.allowed:
            blocked[case.kind] += 1
        else:
            escaped.append((case.kind, case.where, case.call.args, decision.summary()))
    lines = [
        f"  {kind:26} {counts[kind]:4} generated, {blocked[kind]:4} blocked by {rule} ({effect})"
        for kind, (effect, rule) in MUTATIONS.items()
    ]
    print(
        f"\nmutation suite over {mutation_suite.writes} test-split writes: "
        f"{sum(counts.values())} mutations, {sum(blocked.values())} blocked\n" + "\n".join(lines)
    )
    assert escaped == []
    assert {kind for kind, count in counts.items() if count > 0} == set(MUTATIONS)
    assert blocked == counts
