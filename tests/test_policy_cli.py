"""``resolve policy``: what a policy author types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from policies import builtin_pack_path

runner = CliRunner()


@pytest.fixture(scope="module")
def tau_db(taubench_retail_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("policy-cli") / "tau.db")
    result = runner.invoke(app, ["data", "load-taubench", str(taubench_retail_dir), "--db", db])
    assert result.exit_code == 0, result.output
    return db


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.strip().splitlines() if line.startswith("{")]


def test_shipped_pack_passes_its_own_tests() -> None:
    result = runner.invoke(app, ["policy", "test", "retail"])
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output


def test_a_failing_case_fails_the_command(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: wrongly expects a cancel without login to pass\n"
        "    call: {tool: cancel_pending_order,\n"
        "           args: {order_id: '#W1', reason: ordered by mistake}}\n"
        "    context: {customer: null, conversation: {confirmed: true}}\n"
        "    expect: {effect: allow}\n"
    )
    result = runner.invoke(app, ["policy", "test", "retail", "--cases", str(cases)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "authenticate-first" in result.output


def test_explain_json_names_the_rules(tau_db: str) -> None:
    result = runner.invoke(
        app,
        [
            "policy", "explain", "--tool", "cancel_pending_order",
            "--args", '{"order_id": "#W2378156", "reason": "no longer needed"}',
            "--customer", "yusuf_rossi_9620", "--confirmed", "--db", tau_db, "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    decision = _lines(result.output)[-1]
    assert set(decision) == {"effect", "rules", "messages"}
    assert decision["effect"] == "deny"  # the order is delivered
    assert "cancel-only-pending" in decision["rules"]


def test_explain_batch_is_one_object_per_line(tau_db: str, tmp_path: Path) -> None:
    order = {"order_id": "#W2378156"}
    calls = [
        {"tool": "get_order_details", "args": order, "customer": "yusuf_rossi_9620"},
        {"tool": "get_order_details", "args": order, "customer": "noah_brown_6181"},
        {"tool": "cancel_pending_order", "args": {"order_id": "#W2378156", "reason": "x"}},
        {"tool": "return_delivered_order_items", "customer": "yusuf_rossi_9620", "confirmed": True,
         "args": {"order_id": "#W2378156", "item_ids": ["4202497723"],
                  "payment_method_id": "credit_card_9513926"}},
    ]  # fmt: skip
    batch = tmp_path / "calls.jsonl"
    batch.write_text("\n".join(json.dumps(c) for c in calls) + "\nnot json\n")
    result = runner.invoke(app, ["policy", "explain", "--batch", str(batch), "--db", tau_db])
    assert result.exit_code == 0, result.output
    decisions = _lines(result.output)
    assert len(decisions) == 5
    assert decisions[0]["effect"] == "allow"
    assert decisions[1]["effect"] == "deny" and "own-orders-only" in decisions[1]["rules"]
    assert decisions[2]["effect"] == "deny" and "authenticate-first" in decisions[2]["rules"]
    assert decisions[3]["effect"] == "allow", decisions[3]
    assert "error" in decisions[4]


def test_broken_pack_is_refused_with_the_rule_named(tmp_path: Path) -> None:
    pack = tmp_path / "broken.yaml"
    pack.write_text(
        "metadata: {name: broken, version: '1'}\n"
        "rules:\n"
        "  - id: bad-syntax\n"
        "    tools: [cancel_pending_order]\n"
        "    when: 'order.status == '\n"
        "    effect: deny\n"
    )
    result = runner.invoke(app, ["policy", "test", str(pack)])
    assert result.exit_code == 2
    assert "bad-syntax" in result.output and "1:" in result.output


def test_lint_reports_what_an_author_should_fix(tmp_path: Path) -> None:
    pack = tmp_path / "thin.yaml"
    pack.write_text(
        "metadata: {name: thin, version: '1'}\n"
        "rules:\n"
        "  - id: never\n"
        "    tools: [cancel_pending_order]\n"
        "    when: 'false'\n"
        "    effect: allow\n"
        "  - id: typo\n"
        "    tools: [cancel_pending_ordr]\n"
        "    effect: deny\n"
    )
    result = runner.invoke(app, ["policy", "lint", str(pack)])
    assert result.exit_code == 1
    for expected in (
        "unreachable",
        "never",
        "unknown-tool",
        "typo",
        "no-allow",
        "reroute_shipment",
    ):
        assert expected in result.output
    clean = runner.invoke(app, ["policy", "lint", str(builtin_pack_path("retail"))])
    assert clean.exit_code == 0 and "no findings" in clean.output


def test_replay_with_policy_reports_denied(taubench_retail_dir: Path, tmp_path: Path) -> None:
    tasks = json.loads((taubench_retail_dir / "tasks_test.json").read_text())
    subset = tmp_path / "tasks.json"
    subset.write_text(json.dumps(tasks[:8]))
    result = runner.invoke(
        app,
        [
            "eval", "replay-taubench", "--data", str(taubench_retail_dir), "--tasks", str(subset),
            "--policy", "retail", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = _lines(result.output)[-1]
    assert report["denied"] == []
    assert isinstance(report["approvals"], list)
    assert report["replayed"] == 8
