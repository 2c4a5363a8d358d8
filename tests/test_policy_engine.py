"""The policy engine's semantics, on small packs written here.

Any deny wins, then escalate, approve, confirm; a write tool needs an allow (else the decision
cites ``default-deny``), a read tool is allowed unless something stronger matched; a condition
that cannot be evaluated fails closed.
"""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies import (
    AuditRecord,
    CompiledPack,
    ConversationFacts,
    Decision,
    InMemoryAuditSink,
    PolicyEngine,
    ProposedCall,
    load_pack,
)
from policies._types import DEFAULT_DENY_RULE, EFFECT_PRIORITY

NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)
EFFECTS = {"lookup": "read", "change": "write", "other_change": "write"}
RESTRICTIVE = ["deny", "escalate", "approve", "confirm"]


def _pack(tmp_path: Path, rules: list[dict[str, Any]], **params: Any) -> CompiledPack:
    path = tmp_path / "engine.yaml"
    document = {"metadata": {"name": "engine-test", "version": "3"}, "params": params}
    document["rules"] = rules
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_pack(path, known_tools=EFFECTS)


def _rule(rule_id: str, effect: str, when: str = "", tools: list[str] | None = None) -> dict:
    return {
        "id": rule_id,
        "tools": tools or ["change"],
        "when": when,
        "effect": effect,
        "message": f"{rule_id} says {effect}",
    }


def _context(tool: str = "change", **overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "tool": tool,
        "args": {"order_id": "#W1"},
        "customer": {"id": "alice"},
        "order": {"user_id": "alice", "status": "pending"},
        "orders": ["#W1"],
        "action": {},
        "conversation": ConversationFacts(confirmed=True).model_dump(),
        "params": {},
        "now": NOW,
    }
    context.update(overrides)
    return context


def _decide(pack: CompiledPack, tool: str = "change", **overrides: Any) -> Decision:
    engine = PolicyEngine(pack, EFFECTS)
    context = _context(tool, **overrides)
    return engine.evaluate(ProposedCall(tool=tool, args=context["args"]), context)


SUBSETS = [
    combo
    for size in range(len(RESTRICTIVE) + 1)
    for combo in itertools.combinations(RESTRICTIVE, size)
]


@pytest.mark.parametrize("effects", SUBSETS, ids=lambda combo: "+".join(combo) or "allow-only")
@pytest.mark.parametrize("reverse", [False, True], ids=["file-order", "reversed"])
def test_precedence_deny_escalate_approve_confirm_allow(
    tmp_path: Path, effects: tuple[str, ...], reverse: bool
) -> None:
    rules = [_rule(f"r-{effect}", effect) for effect in (*effects, "allow")]
    if reverse:
        rules.reverse()
    decision = _decide(_pack(tmp_path, rules))
    expected = effects[0] if effects else "allow"  # RESTRICTIVE is strongest first
    assert decision.effect == expected
    # every matching rule is cited, strongest first, and no default-deny next to an allow
    assert sorted(decision.rule_ids) == sorted(f"r-{e}" for e in (*effects, "allow"))
    priorities = [EFFECT_PRIORITY[rule.effect] for rule in decision.rules]
    assert priorities == sorted(priorities, reverse=True)
    assert decision.rules[0].effect == expected
    assert decision.messages == [f"r-{expected} says {expected}"]
    assert decision.allowed is (expected == "allow")


def test_messages_are_those_of_every_rule_with_the_winning_effect(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        [
            _rule("a-confirm", "confirm"),
            _rule("b-deny", "deny"),
            {"id": "c-deny-silent", "tools": ["change"], "effect": "deny"},
            _rule("d-deny", "deny"),
            _rule("e-allow", "allow"),
        ],
    )
    decision = _decide(pack)
    assert decision.effect == "deny"
    assert decision.rule_ids == ["b-deny", "c-deny-silent", "d-deny", "a-confirm", "e-allow"]
    # the silent rule is cited but adds no empty message; the confirm's message is not shown
    assert decision.messages == ["b-deny says deny", "d-deny says deny"]


def test_write_without_an_allow_is_default_denied(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        [
            _rule("allow-own", "allow", when="order.user_id == customer.id"),
            _rule("allow-other-tool", "allow", tools=["other_change"]),
        ],
    )
    assert _decide(pack).effect == "allow"
    decision = _decide(pack, customer={"id": "mallory"})
    assert decision.effect == "deny"
    assert decision.rule_ids == [DEFAULT_DENY_RULE]
    assert decision.rules[0].effect == "deny"
    assert decision.messages == ["no rule allows change here"]


def test_write_tool_with_no_rules_at_all_is_default_denied(tmp_path: Path) -> None:
    pack = _pack(tmp_path, [_rule("only-lookup", "deny", when="false", tools=["lookup"])])
    decision = _decide(pack, "other_change")
    assert (decision.effect, decision.rule_ids) == ("deny", [DEFAULT_DENY_RULE])


def test_reads_are_allowed_unless_something_stronger_matches(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        [
            _rule("hide-others", "deny", when="customer == null", tools=["lookup"]),
            _rule("check-lookup", "confirm", when="args.order_id == '#W9'", tools=["lookup"]),
        ],
    )
    allowed = _decide(pack, "lookup")
    assert (allowed.effect, allowed.rules, allowed.messages) == ("allow", [], [])
    denied = _decide(pack, "lookup", customer=None)
    assert (denied.effect, denied.rule_ids) == ("deny", ["hide-others"])
    confirm = _decide(pack, "lookup", args={"order_id": "#W9"})
    assert (confirm.effect, confirm.rule_ids) == ("confirm", ["check-lookup"])


def test_unknown_tools_are_treated_as_writes(tmp_path: Path) -> None:
    pack = _pack(tmp_path, [_rule("allow-change", "allow")])
    engine = PolicyEngine(pack, EFFECTS)
    assert engine.is_write("teleport") and engine.is_write("change")
    assert not engine.is_write("lookup")
    decision = _decide(pack, "teleport")
    assert (decision.effect, decision.rule_ids) == ("deny", [DEFAULT_DENY_RULE])
    assert decision.tool == "teleport"


@pytest.mark.parametrize("effect", RESTRICTIVE)
def test_a_restrictive_rule_whose_condition_errors_counts_as_matched(
    tmp_path: Path, effect: str
) -> None:
    pack = _pack(
        tmp_path,
        [_rule("needs-missing", effect, when="args.missing_key == 'x'"), _rule("ok", "allow")],
    )
    decision = _decide(pack)
    assert decision.effect == effect
    fired = decision.rules[0]
    assert fired.id == "needs-missing"
    assert fired.error is not None and "failed to evaluate" in fired.error
    assert decision.rules[1].id == "ok" and decision.rules[1].error is None


def test_an_allow_rule_whose_condition_errors_does_not_match(tmp_path: Path) -> None:
    pack = _pack(tmp_path, [_rule("allow-own", "allow", when="order.user_id == customer.id")])
    # customer is null: "customer.id" cannot be evaluated
    decision = _decide(pack, customer=None)
    assert (decision.effect, decision.rule_ids) == ("deny", [DEFAULT_DENY_RULE])
    # the same for a read tool: the failed allow does not turn into a deny
    read_pack = _pack(tmp_path, [_rule("allow", "allow", when="args.nope", tools=["lookup"])])
    assert _decide(read_pack, "lookup").effect == "allow"


def test_a_missing_context_variable_fails_closed(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        [_rule("blocked", "deny", when="order.status != 'pending'"), _rule("ok", "allow")],
    )
    engine = PolicyEngine(pack, EFFECTS)
    decision = engine.evaluate(ProposedCall(tool="change"), {"tool": "change"})
    assert decision.effect == "deny"
    assert decision.rule_ids == ["blocked", "ok"]
    assert decision.rules[0].error is not None


def test_a_type_mismatch_fails_closed(tmp_path: Path) -> None:
    pack = _pack(tmp_path, [_rule("limit", "deny", when="args.amount > 10"), _rule("ok", "allow")])
    assert _decide(pack, args={"amount": 5}).effect == "allow"
    assert _decide(pack, args={"amount": 50}).effect == "deny"
    mismatch = _decide(pack, args={"amount": "fifty"})
    assert mismatch.effect == "deny"
    assert mismatch.rules[0].error is not None


@pytest.mark.parametrize("effect", ["deny", "confirm", "allow"])
def test_a_non_boolean_condition_fails_closed(tmp_path: Path, effect: str) -> None:
    rules = [_rule("counts", effect, when="size(orders)")]
    if effect != "allow":
        rules.append(_rule("ok", "allow"))
    decision = _decide(_pack(tmp_path, rules))
    if effect == "allow":
        assert (decision.effect, decision.rule_ids) == ("deny", [DEFAULT_DENY_RULE])
    else:
        assert decision.effect == effect
        assert decision.rules[0].id == "counts"
        assert decision.rules[0].error == "condition gave 1, not true or false"


def test_evaluate_is_pure(tmp_path: Path) -> None:
    audit = InMemoryAuditSink()
    pack = _pack(
        tmp_path,
        [
            _rule("unconfirmed", "confirm", when="!conversation.confirmed"),
            _rule("allow-own", "allow", when="order.user_id == customer.id"),
        ],
    )
    engine = PolicyEngine(pack, EFFECTS, audit=audit)
    context = _context(conversation=ConversationFacts(confirmed=False).model_dump())
    before = copy.deepcopy(context)
    call = ProposedCall(tool="change", args=context["args"])
    first = engine.evaluate(call, context)
    second = engine.evaluate(call, context)
    assert first == second
    assert first.effect == "confirm"
    assert context == before  # the facts are not touched
    assert audit.records == []  # evaluate records nothing
    # a fresh engine over the same pack decides the same
    assert PolicyEngine(pack, EFFECTS).evaluate(call, context) == first


def test_decision_carries_facts_pack_and_time(tmp_path: Path) -> None:
    pack = _pack(tmp_path, [_rule("ok", "allow")])
    context = _context()
    decision = _decide(pack)
    assert decision.facts == context
    assert decision.pack == "engine-test@3"
    assert decision.decided_at == NOW
    assert decision.tool == "change"


def test_decide_records_every_decision_in_the_audit_sink(tmp_path: Path) -> None:
    audit = InMemoryAuditSink()
    pack = _pack(
        tmp_path,
        [_rule("not-yours", "deny", when="order.user_id != customer.id"), _rule("ok", "allow")],
    )
    engine = PolicyEngine(pack, EFFECTS, audit=audit)
    mine = _context()
    theirs = _context(customer={"id": "mallory"})
    first = engine.decide(
        ProposedCall(tool="change", args=mine["args"]), mine, conversation_id="conv-1", step=3
    )
    second = engine.decide(
        ProposedCall(tool="change", args={"order_id": "#W1", "why": "x"}),
        theirs,
        conversation_id="conv-2",
        step=7,
    )
    assert [r.conversation_id for r in audit.records] == ["conv-1", "conv-2"]
    record = audit.records[1]
    assert isinstance(record, AuditRecord)
    assert (record.step, record.tool, record.args) == (7, "change", {"order_id": "#W1", "why": "x"})
    assert record.decision == second
    assert record.decision.effect == "deny" and record.decision.rule_ids == ["not-yours", "ok"]
    assert record.recorded_at == NOW
    assert audit.for_conversation("conv-1") == [audit.records[0]]
    assert audit.for_conversation("conv-1")[0].decision == first
    assert audit.for_conversation("conv-9") == []
    # decide decides exactly as evaluate does
    assert first == engine.evaluate(ProposedCall(tool="change", args=mine["args"]), mine)


def test_decide_without_a_sink_still_decides(tmp_path: Path) -> None:
    pack = _pack(tmp_path, [_rule("ok", "allow")])
    engine = PolicyEngine(pack, EFFECTS)
    decision = engine.decide(ProposedCall(tool="change"), _context(), conversation_id="c")
    assert decision.allowed


def test_summary_shape(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        [_rule("big", "approve", when="args.amount > 100.0"), _rule("ok", "allow")],
    )
    decision = _decide(pack, args={"amount": 250.0})
    assert decision.summary() == {
        "effect": "approve",
        "rules": ["big", "ok"],
        "messages": ["big says approve"],
    }
    denied = _decide(_pack(tmp_path, [_rule("ok", "allow", when="false")]))
    assert denied.summary() == {
        "effect": "deny",
        "rules": [DEFAULT_DENY_RULE],
        "messages": ["no rule allows change here"],
    }


def test_globs_govern_every_matching_tool(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        [
            _rule("no-changes-unconfirmed", "confirm", "!conversation.confirmed", ["*change"]),
            _rule("allow-all", "allow", tools=["*"]),
        ],
    )
    unconfirmed = ConversationFacts(confirmed=False).model_dump()
    for tool in ("change", "other_change"):
        assert _decide(pack, tool, conversation=unconfirmed).effect == "confirm"
        assert _decide(pack, tool).effect == "allow"
    assert _decide(pack, "lookup", conversation=unconfirmed).effect == "allow"
    # "*" also governs a tool the registry does not know
    assert _decide(pack, "teleport").rule_ids == ["allow-all"]
