"""The eval harness end to end: scenarios, simulated users, scoring on state, runs, gates."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from agents import FrameworkStore
from cli import app
from evals import (
    AgentView,
    EvalConfigError,
    ExpectedAction,
    OraclePlanner,
    PersonaUser,
    RunStore,
    Scenario,
    TrialResult,
    load_scenarios,
    run_eval,
    summarize,
)
from evals._runner import _violations
from evals._sources import SeedDatabases
from evals.taubench import load_tasks, split_file
from evals.taubench._tasks import TaubenchTask
from evals.taubench._template import template_scenario, template_scenarios
from tests._chat_server import ChatServer, text_reply
from tools import ToolContext
from tools.retail import read_taubench_dir, retail_registry

SUITE = Path(__file__).resolve().parent.parent / "evals" / "suites" / "retail"
TAU = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "tau-bench" / "retail"
WRITES = frozenset(retail_registry().write_tools())

runner = CliRunner()


def _last_json(output: str) -> dict[str, Any]:
    line = [x for x in output.strip().splitlines() if x.startswith("{")][-1]
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def _write_suite(path: Path, scenarios: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump(scenarios, sort_keys=False))
    return path


def _shipped() -> list[Scenario]:
    return load_scenarios([SUITE])


def _pick(tag: str, count: int) -> list[Scenario]:
    """Resolved scenarios of an intent whose expected actions include a write."""
    found = [
        s
        for s in _shipped()
        if s.tags and s.tags[0] == tag and s.expect.outcome == "resolved"
        and any(a.name in WRITES for a in s.expect.actions)
    ]  # fmt: skip
    assert len(found) >= count, f"the suite has {len(found)} resolved {tag} scenarios"
    return found[:count]


# -- scenario files --------------------------------------------------------------------------
def _minimal(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "s-1",
        "user": {"opening": "hello", "facts": {"email": "a@example.com"}},
        "expect": {"outcome": "resolved"},
    }
    base.update(changes)
    return base


def test_an_unknown_fact_key_names_the_file_scenario_and_field(tmp_path: Path) -> None:
    bad = _minimal(user={"opening": "hi", "facts": {"phone": "555"}})
    path = _write_suite(tmp_path / "bad.yaml", [bad])
    with pytest.raises(EvalConfigError) as error:
        load_scenarios([path])
    message = str(error.value)
    assert "bad.yaml" in message and "s-1" in message and "user.facts.phone" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ([_minimal(), _minimal()], "duplicate scenario id 's-1'"),
        ([_minimal(user={"kind": "scripted"})], "needs at least one entry in 'turns'"),
        ([_minimal(expect={"outcome": "maybe"})], "expect.outcome"),
        ({"id": "x"}, "a YAML list of scenarios"),
        ([_minimal(surprise=1)], "surprise"),
    ],
)
def test_malformed_suites_are_rejected_with_the_reason(
    tmp_path: Path, content: Any, expected: str
) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(EvalConfigError, match=re.escape(expected)):
        load_scenarios([path])


def test_a_missing_suite_path_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "no such suite file or folder" in result.output


# -- the persona customer --------------------------------------------------------------------
def _persona(**expect: Any) -> PersonaUser:
    scenario = Scenario.model_validate(
        {
            "id": "p-1",
            "user": {
                "opening": "cancel my order",
                "facts": {"email": "a@example.com", "order_id": "#W1", "first_name": "Ann",
                          "last_name": "Lee", "zip": "12345"},
            },
            "expect": {"actions": [{"name": "cancel_pending_order",
                                    "kwargs": {"order_id": "#W1", "reason": "no longer needed"}}],
                       **expect},
        }
    )  # fmt: skip
    return PersonaUser(scenario)


def test_persona_answers_what_the_question_wants() -> None:
    user = _persona()
    ask = AgentView(text="Could you tell me?", status="awaiting_customer", wants=("email",))
    assert asyncio.run(user.respond(ask)) == "My email is a@example.com."
    by_words = AgentView(text="What is your full name and zip code?", status="awaiting_customer")
    answer = asyncio.run(user.respond(by_words))
    assert answer is not None and "Ann Lee" in answer and "12345" in answer
    unknown = AgentView(text="Which colour?", status="awaiting_customer", wants=("new_variant",))
    assert asyncio.run(user.respond(unknown)) == "Sorry, I don't know that."


def test_persona_confirms_only_an_expected_action() -> None:
    user = _persona()
    right = {"name": "cancel_pending_order", "args": {"reason": "no longer needed",
                                                      "order_id": "#W1"}}  # fmt: skip
    wrong = {"name": "cancel_pending_order", "args": {"order_id": "#W1",
                                                      "reason": "ordered by mistake"}}  # fmt: skip
    confirm = "Shall I go ahead?"
    assert asyncio.run(
        user.respond(AgentView(text=confirm, status="awaiting_confirmation", pending=right))
    ).startswith("Yes")  # type: ignore[union-attr]
    assert asyncio.run(
        user.respond(AgentView(text=confirm, status="awaiting_confirmation", pending=wrong))
    ).startswith("No")  # type: ignore[union-attr]


def test_persona_says_goodbye_once_and_stops_at_an_outcome() -> None:
    user = _persona()
    told = AgentView(text="Your order is on its way.", status="awaiting_customer")
    assert asyncio.run(user.respond(told)) == "No, that's all, thanks."
    assert asyncio.run(user.respond(told)) is None
    assert asyncio.run(_persona().respond(AgentView(text="Done.", status="resolved"))) is None


# -- the shipped suite -----------------------------------------------------------------------
def test_the_shipped_suite_has_the_promised_shape() -> None:
    scenarios = _shipped()
    main = [s for s in scenarios if "heldout" not in s.tags]
    heldout = [s for s in scenarios if "heldout" in s.tags]
    assert len(main) >= 200, len(main)
    assert len(heldout) >= 50, len(heldout)
    not_resolved = [s for s in main if s.expect.outcome in ("escalated", "refused")]
    assert len(not_resolved) >= 60, len(not_resolved)
    assert sum(1 for s in main if "adversarial" in s.tags) >= 40
    intents = {s.tags[0] for s in main}
    assert {"order_status", "cancel", "modify_address", "modify_payment", "modify_items",
            "return", "exchange", "reroute", "refund_status", "change_default_address",
            "human", "out_of_scope"} <= intents  # fmt: skip
    internal = re.compile(r"\b\d{10}\b|credit_card_\d|gift_card_\d|paypal_\d")
    for scenario in scenarios:
        spoken = " ".join([scenario.user.opening or "", *scenario.user.turns,
                           *scenario.user.facts.known().values()])  # fmt: skip
        assert not internal.search(spoken), f"{scenario.id} speaks internal ids: {spoken}"


@pytest.mark.slow
def test_the_oracle_scores_every_shipped_scenario(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    result = runner.invoke(
        app,
        ["eval", "run", str(SUITE), "--planner", "oracle", "--store", str(store),
         "--concurrency", "4", "--report", str(tmp_path / "report"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output[-3000:]
    headline = _last_json(result.output)
    assert headline["failed"] == [], headline["failed"]
    assert headline["accuracy"] == 1.0
    assert headline["violations"] == 0
    assert headline["escalation_precision"] == 1.0 and headline["escalation_recall"] == 1.0
    assert headline["scenarios"] == len(_shipped())
    assert (tmp_path / "report" / "junit.xml").exists()
    runs = RunStore(store)
    summary, trials = runs.load(headline["run_id"])
    runs.dispose()
    assert summary.accuracy == 1.0 and len(trials) == headline["scenarios"]


# -- the scorer can fail ---------------------------------------------------------------------
def _mutate(action: ExpectedAction) -> ExpectedAction:
    """One argument changed the way a careless planner would get it wrong."""
    kwargs = dict(action.kwargs)
    if "reason" in kwargs:
        kwargs["reason"] = (
            "ordered by mistake" if kwargs["reason"] == "no longer needed" else "no longer needed"
        )
    elif "zip" in kwargs:
        kwargs["zip"] = "99999" if kwargs["zip"] != "99999" else "10001"
    elif "item_ids" in kwargs and len(kwargs["item_ids"]) > 1:
        kwargs["item_ids"] = kwargs["item_ids"][:-1]
        if "new_item_ids" in kwargs:
            kwargs["new_item_ids"] = kwargs["new_item_ids"][:-1]
    else:
        return ExpectedAction(name="get_order_details", kwargs={"order_id": kwargs["order_id"]})
    return ExpectedAction(name=action.name, kwargs=kwargs)


class _YesUser:
    """Opens like the scenario's persona and says yes to whatever the agent proposes."""

    def __init__(self, scenario: Scenario) -> None:
        self.persona = PersonaUser(scenario)

    def opening(self) -> str:
        return self.persona.opening()

    async def respond(self, view: AgentView) -> str | None:
        if view.status == "awaiting_confirmation":
            return "yes"
        return await self.persona.respond(view)


def test_a_planner_with_one_mutated_action_fails_with_the_right_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = _pick("cancel", 3) + _pick("modify_address", 3) + _pick("return", 3)
    mutated: dict[str, ExpectedAction] = {}

    def wrong_planner(scenario: Scenario) -> OraclePlanner:
        actions = list(scenario.expect.actions)
        index = next(i for i, a in enumerate(actions) if a.name in WRITES)
        mutated[scenario.id] = actions[index]
        actions[index] = _mutate(actions[index])
        changed = scenario.expect.model_copy(update={"actions": actions})
        return OraclePlanner(scenario.model_copy(update={"expect": changed}))

    monkeypatch.setattr("evals._runner.make_user", lambda s, **_: _YesUser(s))
    outcome = asyncio.run(
        run_eval(chosen, planner="oracle", suite="mutated", store=tmp_path / "runs.db",
                 factory=(wrong_planner, {"planner": "wrong"}), save=False)
    )  # fmt: skip
    assert len(outcome.trials) == len(chosen)
    for trial in outcome.trials:
        assert not trial.passed, trial.scenario_id
        assert trial.checks["state"] is False, trial.checks
        original = mutated[trial.scenario_id]
        touched = set(trial.state_diff.get("orders", {})) | set(trial.state_diff.get("users", {}))
        target = original.kwargs.get("order_id") or original.kwargs.get("user_id")
        assert target in touched, (trial.scenario_id, sorted(touched))
        record = (trial.state_diff.get("orders") or trial.state_diff["users"])[target]
        assert record["expected"] != record["actual"]


def test_a_write_without_an_allow_decision_is_a_violation(tmp_path: Path) -> None:
    seeds = SeedDatabases(tmp_path / "dbs")
    store = FrameworkStore(tmp_path / "store.db")
    backend, discard = seeds.open_copy("demo")
    try:
        registry = retail_registry()
        query = text(
            "select u.id, o.id from retail_users u join retail_orders o on o.user_id = u.id "
            "where o.status = 'pending' limit 1"
        )
        user_id, order_id = (str(v) for v in backend.read(lambda s: s.execute(query).one()))
        conversation = "eval:t:v:0"
        ctx = ToolContext(backend=backend, customer_id=user_id,
                          idempotency_key=f"{conversation}:7")  # fmt: skip
        done = registry.invoke(
            "cancel_pending_order", {"order_id": order_id, "reason": "no longer needed"}, ctx
        )
        assert done.ok, done.content()
        assert _violations(backend, store, conversation) == [
            "cancel_pending_order ran at step 7 without an allow decision"
        ]
    finally:
        discard()
        seeds.close()
        store.dispose()


# -- runs, k trials, gates, users ------------------------------------------------------------
def test_k_trials_of_a_deterministic_planner_give_pass_hat_k_equal_to_pass_1(
    tmp_path: Path,
) -> None:
    chosen = _pick("cancel", 2) + _pick("modify_payment", 2)
    outcome = asyncio.run(
        run_eval(chosen, planner="oracle", suite="k", store=tmp_path / "runs.db", trials=3)
    )
    assert len(outcome.trials) == 12
    assert outcome.summary.pass_hat_k == {"1": 1.0, "2": 1.0, "3": 1.0}


def test_gates_fail_the_command_and_the_report_is_written(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        yaml.safe_dump([s.model_dump(mode="json", exclude={"source"}) for s in _pick("cancel", 2)])
    )
    result = runner.invoke(
        app,
        ["eval", "run", str(suite), "--planner", "handoff", "--store", str(tmp_path / "r.db"),
         "--min-accuracy", "0.9", "--report", str(tmp_path / "out"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "gate failed" in result.output and "below --min-accuracy" in result.output
    headline = _last_json(result.output)
    assert headline["accuracy"] == 0.0 and len(headline["failed"]) == 2
    for name in ("report.html", "summary.json", "junit.xml"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_compare_finds_a_planted_regression_and_not_an_identical_rerun(tmp_path: Path) -> None:
    def trials(flipped: set[int]) -> list[TrialResult]:
        return [
            TrialResult(scenario_id=f"s-{i:03d}", tags=["t"], passed=i not in flipped,
                        outcome="resolved", expected_outcome="resolved")
            for i in range(200)
        ]  # fmt: skip

    store = tmp_path / "runs.db"
    runs = RunStore(store)
    planted = set(range(0, 200, 20))
    for run_id, results in (("base", trials(set())), ("same", trials(set())),
                            ("worse", trials(planted))):  # fmt: skip
        summary = summarize(results, run_id=run_id, created_at=datetime.now(UTC),
                            fingerprint={"planner": "p", "model": run_id})  # fmt: skip
        runs.save(summary, results)
    runs.dispose()
    regression = runner.invoke(app, ["eval", "compare", "base", "worse", "--store", str(store),
                                     "--json"])  # fmt: skip
    assert regression.exit_code == 1, regression.output
    found = _last_json(regression.output)
    assert found["significant"] is True
    assert found["flipped_to_fail"] == [f"s-{i:03d}" for i in sorted(planted)]
    assert found["fingerprint_changes"]["model"] == {"baseline": "base", "current": "worse"}
    same = runner.invoke(app, ["eval", "compare", "base", "same", "--store", str(store)])
    assert same.exit_code == 0, same.output
    assert "not significant" in same.output


def test_an_llm_user_speaks_through_a_chat_completions_server(tmp_path: Path) -> None:
    from openai import AsyncOpenAI

    scenario = _pick("cancel", 1)[0]
    as_llm = scenario.model_copy(
        update={"user": scenario.user.model_copy(update={"kind": "llm",
                                                         "goal": "cancel the order"})}
    )  # fmt: skip
    with ChatServer(text_reply("Yes, please cancel it.")) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        outcome = asyncio.run(
            run_eval([as_llm], planner="oracle", suite="llm", store=tmp_path / "r.db",
                     llm_client=client, llm_model="customer-model", save=False)
        )  # fmt: skip
        server.assert_done()
        sent = server.requests[0]
    trial = outcome.trials[0]
    assert trial.passed, (trial.checks, trial.transcript)
    assert trial.transcript[2] == {"role": "customer", "text": "Yes, please cancel it."}
    assert sent["model"] == "customer-model"
    assert "cancel the order" in sent["messages"][0]["content"]
    assert sent["messages"][1] == {"role": "assistant", "content": scenario.user.opening}
    assert sent["messages"][-1]["role"] == "user"  # the agent's words come in as the user's
    assert trial.prompt_tokens > 0


# -- tau-bench through the template customer -------------------------------------------------
def test_template_customers_never_speak_internal_ids() -> None:
    scenarios = template_scenarios(load_tasks(split_file(TAU, "test")), read_taubench_dir(TAU),
                                   "test")  # fmt: skip
    assert len(scenarios) == 115
    internal = re.compile(r"\b\d{10}\b|credit_card_\d|gift_card_\d|paypal_\d")
    for scenario in scenarios:
        spoken = " ".join(
            [
                scenario.user.opening or "",
                *scenario.user.facts.known().values(),
                *scenario.user.asks,
            ]
        )
        assert not internal.search(spoken), (scenario.id, spoken)
    assert "the mechanical keyboard" in scenarios[0].user.opening.lower()  # type: ignore[union-attr]


def test_template_customers_ask_what_the_task_wants_to_know() -> None:
    task = TaubenchTask.model_validate(
        {
            "user_id": "yusuf_rossi_9620",
            "instruction": "You are Yusuf Rossi in 19122. You want to know how many tshirt "
            "options are available right now. You want to return the cleaner. You are "
            "polite. If the agent asks, you wonder whether your refund can go to your gift card.",
            "actions": [],
            "outputs": ["10"],
        }
    )
    scenario = template_scenario(0, task, read_taubench_dir(TAU), "test")
    assert scenario.user.asks == [
        "Also, I want to know how many tshirt options are available right now?",
        "Also, I wonder whether my refund can go to my gift card?",
    ]
    no_outputs = template_scenario(0, task.model_copy(update={"outputs": []}),
                                   read_taubench_dir(TAU), "test")  # fmt: skip
    assert no_outputs.user.asks == []


def test_persona_asks_its_questions_before_saying_goodbye() -> None:
    scenario = Scenario.model_validate(
        {"id": "q-1", "user": {"opening": "hi", "asks": ["What's my balance?", "And the total?"]},
         "expect": {"outcome": "resolved"}}
    )  # fmt: skip
    user = PersonaUser(scenario)
    told = AgentView(text="Done. Anything else?", status="awaiting_customer")
    said = [asyncio.run(user.respond(told)) for _ in range(4)]
    assert said == ["What's my balance?", "And the total?", "No, that's all, thanks.", None]


@pytest.mark.slow
def test_every_taubench_test_task_passes_with_the_oracle(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["eval", "taubench", "--data", str(TAU), "--split", "test", "--planner", "oracle",
         "--store", str(tmp_path / "r.db"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output[-3000:]
    headline = _last_json(result.output)
    print(f"oracle on tau test: {headline['accuracy']:.1%} of {headline['scenarios']}")
    assert headline["scenarios"] == 115
    assert headline["failed"] == [] and headline["violations"] == 0
