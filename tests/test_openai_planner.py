"""The OpenAI planner against a real chat completions server on 127.0.0.1.

Every test asserts on what the server received (roles, tools, tool results, repair feedback,
attempt counts) or on the step the planner returned; nothing patches the client.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
from typing import Any, ClassVar

import openai
import pytest

from agents._planner import Planner, PlannerInput
from agents._state import AgentState, Entry, initial_state
from agents._steps import CallTool, Escalate, Reply, Resolve, Step
from agents.errors import AgentConfigError
from agents.planners._errors import PlannerRequestError, PlannerUnavailable
from agents.planners._openai import OpenAIPlanner
from agents.planners._pricing import estimate_cost, price_for
from agents.planners._prompt import CONTROL_TOOLS, DEFAULT_INSTRUCTIONS
from tests._chat_server import (
    ChatServer,
    Scripted,
    error_response,
    text_reply,
    tool_reply,
)
from tools.retail import retail_registry

RETAIL_TOOLS = retail_registry().openai_schemas()
RETAIL_NAMES = [t["function"]["name"] for t in RETAIL_TOOLS]
CONTROL_NAMES = [t["function"]["name"] for t in CONTROL_TOOLS]
LOGGER = "agents.planners._openai"


def run(
    openai_planner: OpenAIPlanner, request: PlannerInput, *, watchdog: float | None = None
) -> Step:
    """One plan call in its own event loop, closing the planner's connections after it."""

    async def plan() -> Step:
        try:
            return await asyncio.wait_for(openai_planner.plan(request), watchdog)
        finally:
            await openai_planner.aclose()

    return asyncio.run(plan())


def planner(server: ChatServer, **options: Any) -> OpenAIPlanner:
    settings: dict[str, Any] = {"backoff_initial": 0.001, "backoff_max": 0.01, "timeout": 5.0}
    settings.update(options)
    return OpenAIPlanner("gpt-4o-mini", base_url=server.base_url, api_key="sk-test", **settings)


def state(*entries: Entry) -> AgentState:
    current = initial_state()
    current["trace"] = list(entries)
    return current


def ask(text: str = "Where is my order #W0000001?") -> PlannerInput:
    return PlannerInput(state(Entry(kind="customer", text=text)), RETAIL_TOOLS)


def roles(body: dict[str, Any]) -> list[str]:
    return [m["role"] for m in body["messages"]]


class FakeKnowledge:
    """Keyword retrieval over a few articles; records every query."""

    ARTICLES: ClassVar[list[dict[str, str]]] = [
        {"id": "cancel", "title": "Cancelling", "text": "Only pending orders can be cancelled."},
        {"id": "returns", "title": "Returns", "text": "Delivered items return within 30 days."},
        {"id": "address", "title": "Addresses", "text": "PASSAGE-ADDRESS-ONLY-IF-ASKED"},
        {"id": "payment", "title": "Payment", "text": "PASSAGE-PAYMENT-ONLY-IF-ASKED"},
    ]

    def __init__(self) -> None:
        self.queries: list[tuple[str, int]] = []

    def search(self, query: str, k: int = 3) -> list[dict[str, Any]]:
        self.queries.append((query, k))
        words = query.lower()
        hits = [a for a in self.ARTICLES if a["id"] in words]
        return [{**a, "score": 1.0} for a in hits][:k]


# -- messages and tools sent -------------------------------------------------------------------
CONVERSATION = (
    Entry(kind="customer", text="Cancel order #W1 please, email a@b.com", step=0),
    Entry(kind="tool", name="find_user_id_by_email", args={"email": "a@b.com"},
          call_id="call_find", ok=True, result={"user_id": "u1"}, step=1),
    Entry(kind="decision", name="cancel_pending_order",
          args={"order_id": "#W1", "reason": "no longer needed"}, call_id="call_cancel",
          effect="confirm", rules=["confirm-writes"], messages=["ask the customer first"],
          step=2),
    Entry(kind="agent", text="To confirm: cancel #W1? Please answer yes or no.", step=2),
    Entry(kind="customer", text="yes", step=2),
    Entry(kind="tool", name="cancel_pending_order",
          args={"order_id": "#W1", "reason": "no longer needed"}, call_id="call_cancel",
          ok=True, result={"order_id": "#W1", "status": "cancelled"}, step=3),
    Entry(kind="decision", name="modify_user_address", args={"user_id": "u1"},
          call_id="call_addr", effect="deny", rules=["no-address-change"],
          messages=["address changes need a person"], step=4),
    Entry(kind="tool", name="get_order_details", args={"order_id": "#W2"}, ok=False,
          result={"error": "order #W2 not found", "code": "not_found"}, step=5),
)  # fmt: skip


def test_trace_is_sent_as_roles_in_order_with_tool_results_and_policy_errors() -> None:
    with ChatServer(text_reply("Done."), text_reply("Done.")) as server:
        first = planner(server, temperature=0.3)
        request = PlannerInput(state(*CONVERSATION), RETAIL_TOOLS, policy_text="Be careful.")
        steps = [run(first, request), run(first, request)]
        server.assert_done()
    assert all(isinstance(s, Reply) and s.text == "Done." for s in steps)
    body = server.requests[0]
    assert server.paths == ["/v1/chat/completions"] * 2
    assert body["model"] == "gpt-4o-mini"
    assert body["tool_choice"] == "auto"
    assert body["temperature"] == 0.3
    assert roles(body) == [
        "system",
        "user",
        "assistant", "tool",  # find_user_id_by_email
        "assistant", "tool",  # cancel held for confirmation
        "assistant",          # the confirmation question
        "user",
        "assistant", "tool",  # the confirmed cancel ran
        "assistant", "tool",  # address change denied
        "assistant", "tool",  # a tool error, entry without call_id
    ]  # fmt: skip
    messages = body["messages"]
    assert messages[1]["content"] == "Cancel order #W1 please, email a@b.com"
    assert messages[6] == {
        "role": "assistant",
        "content": "To confirm: cancel #W1? Please answer yes or no.",
    }
    # every tool call is answered by the next message, with unique ids
    ids = []
    for call, result in itertools.pairwise(messages):
        if call["role"] == "assistant" and call.get("tool_calls"):
            (tool_call,) = call["tool_calls"]
            assert result["role"] == "tool"
            assert result["tool_call_id"] == tool_call["id"]
            ids.append(tool_call["id"])
    assert len(ids) == len(set(ids)) == 5
    assert ids[0] == "call_find" and ids[1] == "call_cancel" and ids[3] == "call_addr"
    find = messages[2]["tool_calls"][0]["function"]
    assert find["name"] == "find_user_id_by_email"
    assert json.loads(find["arguments"]) == {"email": "a@b.com"}
    assert json.loads(messages[3]["content"]) == {"user_id": "u1"}
    held = json.loads(messages[5]["content"])
    assert held["error"] == "not allowed by policy"
    assert held["effect"] == "confirm"
    assert held["messages"] == ["ask the customer first"]
    assert json.loads(messages[9]["content"]) == {"order_id": "#W1", "status": "cancelled"}
    denied = json.loads(messages[11]["content"])
    assert (denied["error"], denied["effect"]) == ("not allowed by policy", "deny")
    assert denied["messages"] == ["address changes need a person"]
    assert json.loads(messages[13]["content"])["code"] == "not_found"
    # the synthesized id is stable from one call to the next
    assert server.requests[1]["messages"] == messages


def test_reviewer_verdict_is_attached_to_the_held_call() -> None:
    trace = (
        Entry(kind="customer", text="Refund to my gift card"),
        Entry(kind="decision", name="return_delivered_order_items", args={"order_id": "#W3"},
              call_id="call_ret", effect="approve", rules=["big-refund"],
              messages=["refunds over $500 need review"]),
        Entry(kind="review", name="return_delivered_order_items", decision="reject",
              reviewer="ana", reason="outside the return window"),
    )  # fmt: skip
    with ChatServer(text_reply("Sorry.")) as server:
        run(planner(server), PlannerInput(state(*trace), RETAIL_TOOLS))
    messages = server.requests[0]["messages"]
    assert roles(server.requests[0]) == ["system", "user", "assistant", "tool"]
    held = json.loads(messages[3]["content"])
    assert held["effect"] == "approve"
    assert held["review"] == {"decision": "reject", "reason": "outside the return window"}


def test_domain_tools_are_sent_unchanged_plus_the_two_control_tools() -> None:
    with ChatServer(text_reply("Hello!")) as server:
        run(planner(server), ask())
    sent = server.requests[0]["tools"]
    assert [t["function"]["name"] for t in sent] == RETAIL_NAMES + CONTROL_NAMES
    assert sent[: len(RETAIL_TOOLS)] == RETAIL_TOOLS
    resolve = sent[-2]["function"]["parameters"]
    assert resolve["properties"]["outcome"]["enum"] == ["resolved", "refused"]


# -- replies mapped to steps ---------------------------------------------------------------------
def test_tool_call_becomes_call_tool_with_usage_and_cost() -> None:
    reply = tool_reply(
        ("get_order_details", '{"order_id": "#W0000001"}', "call_xyz"),
        prompt_tokens=1200,
        completion_tokens=30,
    )
    with ChatServer(reply) as server:
        step = run(planner(server), ask())
    assert isinstance(step, CallTool)
    assert (step.name, step.args, step.call_id) == (
        "get_order_details",
        {"order_id": "#W0000001"},
        "call_xyz",
    )
    assert step.usage is not None
    assert step.usage.model == "gpt-4o-mini-2024-07-18"
    assert (step.usage.prompt_tokens, step.usage.completion_tokens) == (1200, 30)
    assert step.usage.cost_usd == pytest.approx((1200 * 0.15 + 30 * 0.60) / 1e6)
    assert step.usage.latency_ms > 0


def test_only_the_first_of_several_tool_calls_is_taken() -> None:
    reply = tool_reply(
        ("get_user_details", '{"user_id": "u1"}', "call_a"),
        ("get_order_details", '{"order_id": "#W1"}', "call_b"),
    )
    with ChatServer(reply) as server:
        step = run(planner(server), ask())
    assert isinstance(step, CallTool)
    assert (step.name, step.call_id) == ("get_user_details", "call_a")


def test_plain_content_becomes_a_reply() -> None:
    with ChatServer(text_reply("Could you give me your email address?")) as server:
        step = run(planner(server), ask())
    assert isinstance(step, Reply)
    assert step.text == "Could you give me your email address?"


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        (
            "resolve_conversation",
            {"summary": "Order #W1 is cancelled.", "outcome": "resolved"},
            Resolve(summary="Order #W1 is cancelled.", outcome="resolved"),
        ),
        (
            "resolve_conversation",
            {"summary": "Delivered orders cannot be cancelled.", "outcome": "refused"},
            Resolve(summary="Delivered orders cannot be cancelled.", outcome="refused"),
        ),
        (
            "escalate_to_human",
            {"reason": "the customer asks for a manager"},
            Escalate(reason="the customer asks for a manager"),
        ),
        (
            "transfer_to_human_agents",
            {"summary": "wants a refund to a closed card"},
            Escalate(reason="wants a refund to a closed card"),
        ),
    ],
)
def test_control_tools_end_the_conversation(
    name: str, arguments: dict[str, Any], expected: Step
) -> None:
    with ChatServer(tool_reply((name, json.dumps(arguments)))) as server:
        step = run(planner(server), ask())
    assert step.model_copy(update={"usage": None}) == expected
    assert step.usage is not None and step.usage.prompt_tokens == 100


def test_unknown_model_costs_zero_but_tokens_are_recorded() -> None:
    with ChatServer(text_reply("Hi", model="llama-3.1-8b-instruct")) as server:
        step = run(planner(server), ask())
    assert step.usage is not None
    assert step.usage.model == "llama-3.1-8b-instruct"
    assert step.usage.prompt_tokens == 100
    # gpt-4o-mini was asked for, so the family price applies to the tokens used
    assert step.usage.cost_usd == pytest.approx(estimate_cost("gpt-4o-mini", 100, 20))
    with ChatServer(text_reply("Hi", model="llama-3.1-8b-instruct")) as server:
        local = OpenAIPlanner("llama-3.1-8b-instruct", base_url=server.base_url)
        step = run(local, ask())
    assert step.usage is not None and step.usage.cost_usd == 0.0
    assert server.headers[0]["authorization"] == "Bearer not-needed"


def test_pricing_matches_families_and_leaves_unknown_models_at_zero() -> None:
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")
    assert price_for("openai/gpt-4o") == price_for("gpt-4o")
    assert price_for("gpt-4o") != price_for("gpt-4o-mini")
    assert price_for("gpt-4oo") is None
    assert price_for("qwen2.5:7b") is None
    assert estimate_cost("qwen2.5:7b", 10_000, 10_000) == 0.0
    assert estimate_cost(None, 1, 1) == 0.0
    assert estimate_cost("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.5)


# -- malformed tool calls --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "arguments", "problem"),
    [
        ("get_order_details", '{"order_id": "#W1"', "not valid JSON"),
        ("get_order_details", '["#W1"]', "must be a JSON object"),
        ("delete_all_orders", '{"order_id": "#W1"}', "unknown tool 'delete_all_orders'"),
        ("resolve_conversation", '{"outcome": "done"}', "non-empty 'summary'"),
    ],
)
def test_malformed_tool_call_is_sent_back_and_repaired(
    name: str, arguments: str, problem: str
) -> None:
    bad = tool_reply((name, arguments, "call_bad"), content="Let me check.")
    good = tool_reply(("get_order_details", '{"order_id": "#W1"}', "call_good"))
    with ChatServer(bad, good) as server:
        step = run(planner(server), ask())
        server.assert_done()
    assert isinstance(step, CallTool)
    assert (step.name, step.args, step.call_id) == (
        "get_order_details",
        {"order_id": "#W1"},
        "call_good",
    )
    first, second = server.requests
    assert second["messages"][: len(first["messages"])] == first["messages"]
    echo, feedback = second["messages"][len(first["messages"]) :]
    assert echo["role"] == "assistant"
    assert echo["content"] == "Let me check."
    assert echo["tool_calls"][0]["id"] == "call_bad"
    assert echo["tool_calls"][0]["function"] == {"name": name, "arguments": arguments}
    assert feedback["role"] == "tool"
    assert feedback["tool_call_id"] == "call_bad"
    assert problem in json.loads(feedback["content"])["error"]
    # both completions count
    assert step.usage is not None and step.usage.prompt_tokens == 200


def test_repairs_are_bounded_then_the_planner_escalates() -> None:
    bad = [tool_reply(("get_order_details", "{not json", f"call_{i}")) for i in range(3)]
    with ChatServer(*bad) as server:
        step = run(planner(server, max_argument_repairs=2), ask())
        server.assert_done()
    assert isinstance(step, Escalate)
    assert "malformed" in step.reason and "not valid JSON" in step.reason
    assert len(server.requests) == 3
    assert [len(r["messages"]) for r in server.requests] == [2, 4, 6]
    assert step.usage is not None
    assert (step.usage.prompt_tokens, step.usage.completion_tokens) == (300, 60)


def test_an_empty_reply_is_asked_again() -> None:
    with ChatServer(text_reply(""), text_reply("How can I help?")) as server:
        step = run(planner(server), ask())
    assert step == Reply(text="How can I help?", usage=step.usage)
    note = server.requests[1]["messages"][-1]
    assert note["role"] == "user" and "empty" in note["content"]


# -- retries -----------------------------------------------------------------------------------
def test_rate_limits_and_server_errors_are_retried() -> None:
    with ChatServer(
        error_response(429, "slow down"),
        error_response(500),
        error_response(503),
        text_reply("Back."),
    ) as server:
        step = run(planner(server, max_retries=4), ask())
        server.assert_done()
    assert isinstance(step, Reply) and step.text == "Back."
    assert len(server.requests) == 4
    assert all(r == server.requests[0] for r in server.requests)


def test_retries_stop_after_max_retries() -> None:
    with ChatServer(*[error_response(500, "boom") for _ in range(3)]) as server:
        with pytest.raises(PlannerUnavailable) as caught:
            run(planner(server, max_retries=2), ask())
        server.assert_done()
    assert len(server.requests) == 3
    assert caught.value.attempts == 3
    assert caught.value.status_code == 500


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    with ChatServer(error_response(status, "bad tools schema"), text_reply("never")) as server:
        with pytest.raises(PlannerRequestError) as caught:
            run(planner(server), ask())
        assert len(server.queue) == 1  # the second response was never asked for
    assert len(server.requests) == 1
    assert caught.value.status_code == status
    assert caught.value.attempts == 1
    assert str(status) in str(caught.value) and "gpt-4o-mini" in str(caught.value)


def test_timeouts_and_dropped_connections_are_retried() -> None:
    with ChatServer(
        Scripted(delay=1.0, body={}),  # longer than the planner's timeout
        Scripted(drop=True),
        text_reply("Here now."),
    ) as server:
        step = run(planner(server, timeout=0.2), ask())
        server.assert_done()
    assert isinstance(step, Reply) and step.text == "Here now."
    assert len(server.requests) == 3


def _waits(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [r.retry_wait for r in caplog.records if hasattr(r, "retry_wait")]


def test_retry_after_is_honoured_but_capped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with ChatServer(
        error_response(429, headers={"Retry-After": "30"}),
        error_response(429, headers={"retry-after-ms": "20"}),
        text_reply("ok"),
    ) as server:
        capped = planner(server, backoff_initial=0.001, backoff_max=0.05)
        # a watchdog, not a timing assertion: an uncapped wait would take 30 s
        step = run(capped, ask(), watchdog=20)
    assert isinstance(step, Reply)
    assert len(server.requests) == 3
    assert _waits(caplog) == [0.05, pytest.approx(0.02)]


def test_backoff_is_capped_at_backoff_max(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with ChatServer(*[error_response(502) for _ in range(6)], text_reply("ok")) as server:
        step = run(planner(server, max_retries=6), ask())
    assert isinstance(step, Reply)
    assert len(server.requests) == 7
    waits = _waits(caplog)
    assert len(waits) == 6
    assert all(0 < w <= 0.01 for w in waits)
    assert waits[-1] == 0.01  # 0.001 * 2**5 is past the cap


def test_a_ready_client_is_used_with_its_own_retries_off() -> None:
    with ChatServer(*[error_response(500) for _ in range(3)]) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-ready", max_retries=5)
        ready = OpenAIPlanner("gpt-4o", client=client, max_retries=1, backoff_max=0.01)
        with pytest.raises(PlannerUnavailable):
            run(ready, ask())
    assert len(server.requests) == 2  # the planner's 1 retry; none from the client
    assert server.headers[0]["authorization"] == "Bearer sk-ready"
    assert ready.fingerprint()["base_url"] == server.base_url


# -- knowledge -------------------------------------------------------------------------------
def test_retrieved_passages_are_in_the_prompt_not_the_whole_policy() -> None:
    knowledge = FakeKnowledge()
    first = state(Entry(kind="customer", text="Can I cancel my order?"))
    second = state(
        *first["trace"],
        Entry(kind="agent", text="Pending orders can be cancelled."),
        Entry(kind="customer", text="And what about returns?"),
    )
    with ChatServer(text_reply("a"), text_reply("b")) as server:
        openai_planner = planner(server, knowledge_k=2)
        rules = "Authenticate first. Confirm every write."
        run(openai_planner, PlannerInput(first, RETAIL_TOOLS, knowledge, rules))
        run(openai_planner, PlannerInput(second, RETAIL_TOOLS, knowledge, rules))
    assert knowledge.queries == [("Can I cancel my order?", 2), ("And what about returns?", 2)]
    system_first = server.requests[0]["messages"][0]
    system_second = server.requests[1]["messages"][0]
    assert system_first["role"] == system_second["role"] == "system"
    assert rules in system_first["content"]
    assert "Only pending orders can be cancelled." in system_first["content"]
    assert "Delivered items return within 30 days." not in system_first["content"]
    assert "Delivered items return within 30 days." in system_second["content"]
    assert "Only pending orders can be cancelled." not in system_second["content"]
    for system in (system_first, system_second):
        assert "PASSAGE-ADDRESS-ONLY-IF-ASKED" not in system["content"]
        assert "PASSAGE-PAYMENT-ONLY-IF-ASKED" not in system["content"]
    # the system prompt is only the first message; passages are not repeated elsewhere
    later = json.dumps(server.requests[1]["messages"][1:])
    assert "Delivered items return within 30 days." not in later


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_planner_reused_under_a_new_event_loop_reconnects() -> None:
    # asyncio.run per conversation with one planner: connections of a closed loop are dropped
    with ChatServer(text_reply("one"), text_reply("two")) as server:
        reused = planner(server)
        first = asyncio.run(reused.plan(ask()))
        second = run(reused, ask())
        gc.collect()  # the first loop's abandoned connection is reclaimed here
        server.assert_done()
    assert [first, second] == [
        Reply(text="one", usage=first.usage),
        Reply(text="two", usage=second.usage),
    ]


def test_without_knowledge_nothing_is_retrieved() -> None:
    with ChatServer(text_reply("a")) as server:
        run(planner(server), ask())
    system = server.requests[0]["messages"][0]["content"]
    assert system.startswith(DEFAULT_INSTRUCTIONS)
    assert "Cancelling" not in system


# -- settings and identity -------------------------------------------------------------------
def test_from_env_reads_the_local_server_and_model(monkeypatch: pytest.MonkeyPatch) -> None:
    with ChatServer(text_reply("env"), text_reply("override")) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
        monkeypatch.setenv("RESOLVE_OPENAI_MODEL", "gpt-4.1-mini")
        from_env = OpenAIPlanner.from_env(backoff_max=0.01)
        step = run(from_env, ask())
        run(OpenAIPlanner.from_env("gpt-4o"), ask())
    assert isinstance(step, Reply) and step.text == "env"
    assert [r["model"] for r in server.requests] == ["gpt-4.1-mini", "gpt-4o"]
    assert server.headers[0]["authorization"] == "Bearer sk-from-env"
    assert from_env.fingerprint()["base_url"] == server.base_url
    assert from_env.fingerprint()["model"] == "gpt-4.1-mini"


def test_from_env_defaults_to_gpt_4o_mini(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESOLVE_OPENAI_MODEL", raising=False)
    assert OpenAIPlanner.from_env().model == "gpt-4o-mini"


def test_fingerprint_identifies_model_prompt_and_server() -> None:
    one = OpenAIPlanner("gpt-4o-mini", base_url="http://127.0.0.1:9/v1")
    same = OpenAIPlanner("gpt-4o-mini", base_url="http://127.0.0.1:9/v1", temperature=0.5)
    other_prompt = OpenAIPlanner(
        "gpt-4o-mini", base_url="http://127.0.0.1:9/v1", system_prompt="You sell shoes."
    )
    assert isinstance(one, Planner)
    assert one.name == "openai"
    fingerprint = one.fingerprint()
    assert set(fingerprint) == {"planner", "model", "prompt_hash", "base_url"}
    assert fingerprint["planner"] == "openai"
    assert fingerprint["base_url"] == "http://127.0.0.1:9/v1"
    assert len(fingerprint["prompt_hash"]) == 64
    assert fingerprint == same.fingerprint()
    assert other_prompt.fingerprint()["prompt_hash"] != fingerprint["prompt_hash"]


def test_a_custom_system_prompt_keeps_policy_and_passages() -> None:
    with ChatServer(text_reply("a")) as server:
        custom = planner(server, system_prompt="You sell shoes.")
        request = PlannerInput(
            state(Entry(kind="customer", text="cancel it")), [], FakeKnowledge(), "Rule one."
        )
        run(custom, request)
    system = server.requests[0]["messages"][0]["content"]
    assert system.startswith("You sell shoes.")
    assert "Rule one." in system and "Only pending orders can be cancelled." in system
    assert DEFAULT_INSTRUCTIONS not in system
    assert [t["function"]["name"] for t in server.requests[0]["tools"]] == CONTROL_NAMES


def test_misconfiguration_is_reported() -> None:
    client = openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k")
    with pytest.raises(AgentConfigError, match="not both"):
        OpenAIPlanner("gpt-4o-mini", client=client, base_url="http://127.0.0.1:9/v1")
    with pytest.raises(AgentConfigError, match="api_key"):
        OpenAIPlanner("gpt-4o-mini")
    with pytest.raises(AgentConfigError):
        OpenAIPlanner("gpt-4o-mini", api_key="k", max_retries=-1)
    with pytest.raises(AgentConfigError):
        OpenAIPlanner("gpt-4o-mini", api_key="k", backoff_max=-1.0)
