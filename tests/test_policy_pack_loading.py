"""Loading policy packs: the shipped retail pack loads, a pack that cannot be enforced is refused.

Every refusal is a ``PolicyLoadError`` whose message names the pack file and the rule at fault,
so that an author can fix the pack without reading the engine.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

from policies import (
    CONTEXT_VARIABLES,
    PolicyEngine,
    PolicyLoadError,
    ProposedCall,
    builtin_pack_path,
    load_pack,
)
from tools.retail import retail_registry

KNOWN_TOOLS = {tool.name: tool.effect for tool in retail_registry()}

RETAIL_RULE_IDS = [
    "authenticate-first",
    "own-account-only",
    "own-orders-only",
    "one-customer-per-conversation",
    "order-must-exist",
    "confirm-writes",
    "write-limit",
    "suspicious-input-review",
    "payment-method-on-account",
    "cancel-only-pending",
    "cancel-reason",
    "modify-only-pending",
    "items-once",
    "payment-change-different-method",
    "return-exchange-only-delivered",
    "items-in-order",
    "same-product",
    "variant-available",
    "refund-to-original-or-gift-card",
    "gift-card-covers",
    "refund-approval",
    "reroute-in-transit",
    "allow-order-changes",
    "allow-own-address",
]

GOOD_RULE = {"id": "allow-reads", "tools": ["get_user_details"], "effect": "allow"}


def _write(tmp_path: Path, rules: object, *, params: dict | None = None) -> Path:
    """Write a pack with a valid header, one good rule first, then ``rules``."""
    document: dict = {"metadata": {"name": "test-pack", "version": "0.1"}, "rules": rules}
    if params is not None:
        document["params"] = params
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _refusal(path: Path, *, known_tools: dict[str, str] | None = KNOWN_TOOLS) -> str:
    with pytest.raises(PolicyLoadError) as caught:
        load_pack(path, known_tools=known_tools)
    message = str(caught.value)
    assert "pack.yaml" in message, message
    return message


def test_shipped_retail_pack_loads_against_the_registry() -> None:
    pack = load_pack("retail", known_tools=KNOWN_TOOLS)
    path = builtin_pack_path("retail")
    assert pack.label == "retail@1.0.0"
    assert [rule.rule.id for rule in pack.rules] == RETAIL_RULE_IDS
    assert pack.source == str(path)
    assert pack.digest == hashlib.sha256(path.read_text(encoding="utf-8").encode()).hexdigest()
    assert pack.pack.params == {
        "approval_threshold": 1000.0,
        "max_writes": 10,
        "cancel_reasons": ["no longer needed", "ordered by mistake"],
    }
    # Every condition compiled and reads only context variables.
    for rule in pack.rules:
        assert rule.program is not None, rule.rule.id
        assert set(rule.program.variables()) <= CONTEXT_VARIABLES, rule.rule.id
    # Every write tool is governed by at least one allow rule, or nothing could ever run it.
    for tool, effect in KNOWN_TOOLS.items():
        if effect == "write":
            assert any(r.rule.effect == "allow" for r in pack.rules_for(tool)), tool


def test_loading_by_name_and_by_path_give_the_same_pack() -> None:
    by_name = load_pack("retail")
    by_path = load_pack(builtin_pack_path("retail"), known_tools=KNOWN_TOOLS)
    assert by_name.digest == by_path.digest
    assert by_name.pack == by_path.pack


def test_globs_are_expanded_per_tool() -> None:
    pack = load_pack("retail", known_tools=KNOWN_TOOLS)
    modify_ids = [r.rule.id for r in pack.rules_for("modify_pending_order_address")]
    assert "modify-only-pending" in modify_ids and "allow-order-changes" in modify_ids
    assert "items-once" not in modify_ids
    assert [r.rule.id for r in pack.rules_for("calculate")] == ["one-customer-per-conversation"]


def test_cel_syntax_error_names_the_rule_and_the_position(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            GOOD_RULE,
            {
                "id": "broken-rule",
                "tools": ["cancel_pending_order"],
                "when": "order != null && ) || true",
                "effect": "deny",
            },
        ],
    )
    message = _refusal(path)
    assert "'broken-rule'" in message
    assert "does not compile" in message
    # line 1, column 18: the stray ")"
    assert re.search(r"\b1:18\b", message), message
    assert "allow-reads" not in message


def test_cel_error_on_a_later_line_gives_that_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {
                "id": "multi-line",
                "tools": ["cancel_pending_order"],
                "when": "order != null &&\n  order.status === 'pending'",
                "effect": "deny",
            }
        ],
    )
    message = _refusal(path)
    assert "'multi-line'" in message
    assert re.search(r"<input>:2:18\b", message), message  # the "=" after "=="


def test_unknown_variable_names_the_rule_and_the_variable(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            GOOD_RULE,
            {
                "id": "reads-user",
                "tools": ["cancel_pending_order"],
                "when": "user.id == 'x' && order != null",
                "effect": "deny",
            },
        ],
    )
    message = _refusal(path)
    assert "'reads-user'" in message
    assert "unknown variable user" in message
    assert "order" not in message.split("unknown variable")[1].split(";")[0]


def test_several_unknown_variables_are_all_named(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [{"id": "two", "tools": ["cancel_pending_order"], "when": "a == b", "effect": "deny"}],
    )
    message = _refusal(path)
    assert "'two'" in message and "unknown variables a, b" in message


def test_unknown_tool_names_the_rule_and_the_tool(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [GOOD_RULE, {"id": "typo-tool", "tools": ["cancel_order"], "effect": "deny"}],
    )
    message = _refusal(path)
    assert "'typo-tool'" in message and "unknown tool 'cancel_order'" in message
    # Without a registry to check against, tool names are not checked.
    assert [r.rule.id for r in load_pack(path).rules] == ["allow-reads", "typo-tool"]


def test_glob_matching_no_tool_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [GOOD_RULE, {"id": "refunds", "tools": ["issue_refund_*"], "effect": "approve"}],
    )
    message = _refusal(path)
    assert "'refunds'" in message and "'issue_refund_*'" in message
    assert "matches no known tool" in message


def test_rule_without_effect_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [GOOD_RULE, {"id": "no-effect", "tools": ["cancel_pending_order"], "when": "true"}],
    )
    message = _refusal(path)
    assert "rule 'no-effect': effect: Field required" in message


def test_invalid_effect_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [GOOD_RULE, {"id": "blocky", "tools": ["cancel_pending_order"], "effect": "block"}],
    )
    message = _refusal(path)
    assert "rule 'blocky': effect:" in message
    assert "'deny'" in message  # the message lists the valid effects


def test_misspelled_rule_key_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [GOOD_RULE, {"id": "typo-key", "tools": ["calculate"], "effect": "deny", "wehn": "true"}],
    )
    message = _refusal(path)
    assert "rule 'typo-key': wehn:" in message


def test_rule_without_id_is_named_by_position(tmp_path: Path) -> None:
    path = _write(tmp_path, [GOOD_RULE, {"tools": ["calculate"], "effect": "deny"}])
    message = _refusal(path)
    assert "rule #2: id: Field required" in message


def test_duplicate_rule_ids_are_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {"id": "twice", "tools": ["get_user_details"], "effect": "allow"},
            {"id": "other", "tools": ["calculate"], "effect": "allow"},
            {"id": "twice", "tools": ["cancel_pending_order"], "effect": "deny"},
        ],
    )
    message = _refusal(path)
    assert "'twice'" in message and "used twice" in message


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text("metadata: {name: t, version: '1'}\nrules:\n  - id: [unclosed\n")
    message = _refusal(path)
    assert "not valid YAML" in message


@pytest.mark.parametrize("rules", [[], None], ids=["empty-list", "null"])
def test_empty_rules_are_refused(tmp_path: Path, rules: object) -> None:
    message = _refusal(_write(tmp_path, rules))
    assert message.startswith("policy pack pack.yaml: rules:"), message


def test_a_pack_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text("- just\n- a list\n")
    _refusal(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError, match="cannot read policy pack"):
        load_pack(tmp_path / "absent.yaml")


def test_the_first_bad_rule_is_named_not_an_earlier_good_one(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            GOOD_RULE,
            {"id": "second", "tools": ["calculate"], "when": "args.x > 1", "effect": "deny"},
            {"id": "third", "tools": ["calculate"], "when": "args.x >", "effect": "deny"},
        ],
    )
    message = _refusal(path)
    assert "'third'" in message
    assert "'second'" not in message and "'allow-reads'" not in message


def test_params_are_visible_to_conditions(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {
                "id": "over-limit",
                "tools": ["calculate"],
                "when": "double(args.amount) > params.limit",
                "effect": "deny",
            },
            {
                "id": "listed",
                "tools": ["calculate"],
                "when": "args.reason in params.reasons",
                "effect": "confirm",
            },
        ],
        params={"limit": 100.0, "reasons": ["a", "b"]},
    )
    pack = load_pack(path, known_tools=KNOWN_TOOLS)
    assert pack.pack.params == {"limit": 100.0, "reasons": ["a", "b"]}
    engine = PolicyEngine(pack, KNOWN_TOOLS)

    def decide(amount: float, reason: str) -> tuple[str, list[str]]:
        call = ProposedCall(tool="calculate", args={"amount": amount, "reason": reason})
        context = {"args": call.args, "params": pack.pack.params}
        decision = engine.evaluate(call, context)
        return decision.effect, decision.rule_ids

    assert decide(100.5, "z") == ("deny", ["over-limit"])
    assert decide(99.5, "z") == ("allow", [])
    assert decide(99.5, "b") == ("confirm", ["listed"])
    assert decide(100.5, "a") == ("deny", ["over-limit", "listed"])
