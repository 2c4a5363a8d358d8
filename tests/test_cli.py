"""The ``resolve`` command, end to end: what a newcomer and an operator type."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tools.retail import read_taubench_dir

runner = CliRunner()


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_console_script_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("demo", "data", "eval", "tools"):
        assert command in done.stdout
    data_help = runner.invoke(app, ["data", "--help"])
    for command in ("seed", "load-taubench", "export-taubench", "info"):
        assert command in data_help.output


def test_seed_builds_the_demo_database(tmp_path: Path) -> None:
    db = tmp_path / "retail.db"
    result = runner.invoke(
        app,
        [
            "data",
            "seed",
            "--seed",
            "7",
            "--customers",
            "50",
            "--orders",
            "120",
            "--db",
            str(db),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = _last_json(result.output)
    assert summary["users"] == 50 and summary["orders"] == 120
    assert db.exists()
    info = runner.invoke(app, ["data", "info", "--db", str(db)])
    assert "50 users" in info.output and "120 orders" in info.output


def test_demo_serves_a_customer_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "demo.db"
    monkeypatch.setenv("RESOLVE_DATABASE_URL", str(tmp_path / "resolve.db"))
    result = runner.invoke(app, ["demo", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "seeded demo data" in result.output
    assert "replayed" in result.output
    assert "is cancelled" in result.output
    # the second customer is served by the agent with the offline planner, end to end
    assert "policy cancel_pending_order: confirm" in result.output
    assert "tool cancel_pending_order ok" in result.output
    assert "(resolved)" in result.output
    assert (tmp_path / "resolve.db").exists()
    # a second run reuses the database and serves the next customer
    again = runner.invoke(app, ["demo", "--db", str(db)])
    assert again.exit_code == 0, again.output
    assert "seeded demo data" not in again.output


def test_load_then_export_taubench_round_trips(taubench_retail_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "tau.db"
    loaded = runner.invoke(
        app, ["data", "load-taubench", str(taubench_retail_dir), "--db", str(db)]
    )
    assert loaded.exit_code == 0, loaded.output
    assert "500 users" in loaded.output and "1000 orders" in loaded.output
    out = tmp_path / "out"
    exported = runner.invoke(app, ["data", "export-taubench", str(out), "--db", str(db)])
    assert exported.exit_code == 0, exported.output
    original = read_taubench_dir(taubench_retail_dir)
    for name in ("users", "orders", "products"):
        assert json.loads((out / f"{name}.json").read_text()) == getattr(original, name)


def test_replay_taubench_json_and_states(taubench_retail_dir: Path, tmp_path: Path) -> None:
    tasks = json.loads((taubench_retail_dir / "tasks_test.json").read_text())
    subset = tmp_path / "tasks.json"
    subset.write_text(json.dumps([tasks[0], tasks[35], tasks[12]]))
    states = tmp_path / "states"
    result = runner.invoke(
        app,
        [
            "eval",
            "replay-taubench",
            "--data",
            str(taubench_retail_dir),
            "--tasks",
            str(subset),
            "--split",
            "test",
            "--json",
            "--export-states",
            str(states),
        ],
    )
    assert result.exit_code == 0, result.output
    report = _last_json(result.output)
    assert set(report) == {"split", "tasks", "replayed", "errors", "state_hashes"}
    assert report["tasks"] == report["replayed"] == 3
    assert [(e["index"], e["step"], e["action"]) for e in report["errors"]] == [
        (1, 0, "find_user_id_by_email"),
        (2, 4, "return_delivered_order_items"),
    ]
    assert set(report["errors"][0]) == {"index", "step", "action", "error", "code"}
    assert sorted(report["state_hashes"]) == ["0", "1", "2"]
    assert sorted(p.name for p in states.iterdir()) == ["test-0.json", "test-1.json", "test-2.json"]


def test_bad_input_gives_a_message_not_a_traceback(tmp_path: Path) -> None:
    missing = runner.invoke(
        app, ["data", "load-taubench", str(tmp_path / "nope"), "--db", str(tmp_path / "x.db")]
    )
    assert missing.exit_code == 2
    assert "not a folder" in missing.output
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "users.json").write_text("{}")
    half = runner.invoke(
        app, ["data", "load-taubench", str(tmp_path / "half"), "--db", str(tmp_path / "x.db")]
    )
    assert half.exit_code == 2 and "orders.json" in half.output
    bad_db = runner.invoke(app, ["data", "info", "--db", "mysql://u@h/db"])
    assert bad_db.exit_code == 2 and "unsupported database" in bad_db.output
    no_tasks = runner.invoke(
        app, ["eval", "replay-taubench", "--data", str(tmp_path), "--split", "dev"]
    )
    assert no_tasks.exit_code == 2 and "tasks" in no_tasks.output
    unknown = runner.invoke(app, ["tools", "call", "drop_tables", "--db", str(tmp_path / "y.db")])
    assert unknown.exit_code == 1 and "unknown_tool" in unknown.output


def test_tools_list_and_schema() -> None:
    listed = runner.invoke(app, ["tools", "list", "--json"])
    schemas = _last_json('{"s": ' + listed.output.strip().splitlines()[-1] + "}")["s"]
    assert len(schemas) == 19
    assert {s["function"]["name"] for s in schemas} >= {"cancel_pending_order", "reroute_shipment"}
    shown = runner.invoke(app, ["tools", "schema", "return_delivered_order_items"])
    assert shown.exit_code == 0 and "payment_method_id" in shown.output
