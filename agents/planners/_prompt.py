"""Prompt building for chat-model planners: the system prompt and the messages from a trace.

The trace is rendered in the chat completions wire format (plain JSON-ready dicts):

* customer messages become ``user`` messages, the agent's messages ``assistant`` messages;
* a tool call becomes an ``assistant`` message with ``tool_calls`` followed by the ``tool``
  message carrying its JSON result;
* a policy decision that held a call back (deny, confirm, approve, escalate, declined) becomes
  the same pair, the ``tool`` message saying why, so the model learns what the policy wants;
  a reviewer's verdict is added to the decision it answers.

Two control tools are offered next to the domain's tools so the model can end a conversation:
``resolve_conversation`` and ``escalate_to_human``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from agents._state import AgentState, Entry

__all__ = [
    "CONTROL_TOOLS",
    "DEFAULT_INSTRUCTIONS",
    "ESCALATE_TOOL",
    "HANDOFF_TOOLS",
    "RESOLVE_TOOL",
    "SYSTEM_TEMPLATE",
    "build_messages",
    "build_system_prompt",
    "last_customer_message",
    "offered_tools",
    "prompt_hash",
    "system_template",
    "tool_name",
]

RESOLVE_TOOL = "resolve_conversation"
ESCALATE_TOOL = "escalate_to_human"
HANDOFF_TOOLS = ("transfer_to_human_agents",)
"""Domain tools that hand the conversation to a person (they map to an escalation)."""

DEFAULT_INSTRUCTIONS = """\
You are a customer service agent. You resolve one customer's request in this conversation, \
acting only through the tools offered. Every tool call is checked against the company policy \
before it runs; a call the policy holds back comes back as an error that says why.

How to work:
- Identify the customer with the lookup tools before you read or change their account.
- Gather every detail a change needs (ids, items, payment method) before you propose it; \
the system asks the customer to confirm changes, so do not ask for confirmation yourself.
- Make one tool call at a time. Never invent ids, amounts or rules: ask the customer.
- Keep answers short and in the customer's language. Ask one question at a time.
- When the request is done, call resolve_conversation with outcome "resolved" and a summary \
for the customer. When the policy does not allow it, call resolve_conversation with outcome \
"refused" and a summary that says why.
- When the customer asks for a person, or the request is beyond what the tools and the \
policy allow, call escalate_to_human with the reason."""
"""The agent's role and working rules (replaceable with ``system_prompt=``)."""

SYSTEM_TEMPLATE = """\
{instructions}

# Policy
{policy}

# Relevant policy passages
{passages}"""
"""The system prompt's layout; ``{policy}`` and ``{passages}`` are filled each turn."""

_NO_POLICY = "(no policy statement was given)"
_NO_PASSAGES = "(none retrieved for this message)"

CONTROL_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": RESOLVE_TOOL,
            "description": (
                "End the conversation: the request is done (outcome 'resolved'), or it is "
                "declined under the policy (outcome 'refused'). The summary is shown to the "
                "customer as your last message."
            ),
            "parameters": {
                "type": "object",
                "properties": {
                    "summary": {
                        "type": "string",
                        "description": "What was done, or why it was declined.",
                    },
                    "outcome": {"type": "string", "enum": ["resolved", "refused"]},
                },
                "required": ["summary", "outcome"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": ESCALATE_TOOL,
            "description": "Hand the conversation to a human agent, with the reason.",
            "parameters": {
                "type": "object",
                "properties": {
                    "reason": {
                        "type": "string",
                        "description": "Why a person is needed, for the person.",
                    }
                },
                "required": ["reason"],
                "additionalProperties": False,
            },
        },
    },
]
"""The control tools offered besides the domain's tools."""


def system_template(instructions: str) -> str:
    """Return the system prompt template: the instructions in the fixed layout."""
    return SYSTEM_TEMPLATE.replace("{instructions}", instructions)


def prompt_hash(instructions: str) -> str:
    """A sha256 of the system prompt template and the control tools' schemas."""
    material = json.dumps(
        {"template": system_template(instructions), "control_tools": CONTROL_TOOLS},
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _passage_text(passage: dict[str, Any]) -> str:
    title = str(passage.get("title") or passage.get("id") or "").strip()
    text = str(passage.get("text", "")).strip()
    return f"- {title}: {text}" if title else f"- {text}"


def build_system_prompt(
    instructions: str, policy_text: str, passages: Sequence[dict[str, Any]] = ()
) -> str:
    """Fill the template with the rules summary and the passages retrieved for this turn."""
    rendered = "\n".join(_passage_text(p) for p in passages) or _NO_PASSAGES
    return (
        system_template(instructions)
        .replace("{policy}", policy_text.strip() or _NO_POLICY)
        .replace("{passages}", rendered)
    )


def offered_tools(domain_tools: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The domain's tool schemas plus the control tools (a domain tool keeps its name)."""
    tools = list(domain_tools)
    names = {tool_name(t) for t in tools}
    return tools + [t for t in CONTROL_TOOLS if tool_name(t) not in names]


def tool_name(schema: dict[str, Any]) -> str:
    """The tool's name in a function schema (nested ``function`` or flat)."""
    function = schema.get("function")
    if isinstance(function, dict):
        return str(function.get("name", ""))
    return str(schema.get("name", ""))


def last_customer_message(state: AgentState) -> str | None:
    """The text of the customer's latest message, if any."""
    for entry in reversed(state.get("trace", [])):
        if entry.get("kind") == "customer":
            return str(entry.get("text", ""))
    return None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _held_back(entry: Entry) -> dict[str, Any]:
    effect = entry.get("effect", "deny")
    payload: dict[str, Any] = {
        "error": "not allowed by policy",
        "effect": effect,
        "messages": list(entry.get("messages", [])),
    }
    if entry.get("rules"):
        payload["rules"] = list(entry.get("rules", []))
    if effect == "confirm":
        payload["note"] = "not run yet: the customer was asked to confirm it"
    elif effect == "approve":
        payload["note"] = "not run yet: it was sent to a human reviewer"
    elif effect == "declined":
        payload["note"] = "not run: the customer did not confirm it"
    return payload


class _Renderer:
    """Turns trace entries into wire-format messages, keeping tool call ids unique."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._used: set[str] = set()
        self._awaiting_review: dict[str, dict[str, Any]] = {}

    def call_id(self, entry: Entry, index: int) -> str:
        # A call held for confirmation and later run shares its id: both appear in the
        # history, and ids must be unique within a conversation.
        base = entry.get("call_id") or f"call_{entry.get('step', 0)}_{index}"
        call_id = base if base not in self._used else f"{base}_{index}"
        self._used.add(call_id)
        return call_id

    def tool_pair(self, entry: Entry, index: int, content: str) -> dict[str, Any]:
        call_id = self.call_id(entry, index)
        call = {"name": entry.get("name", ""), "arguments": _json(entry.get("args", {}))}
        self.messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": call_id, "type": "function", "function": call}],
            }
        )
        result: dict[str, Any] = {"role": "tool", "tool_call_id": call_id, "content": content}
        self.messages.append(result)
        return result

    def add(self, entry: Entry, index: int) -> None:
        kind = entry.get("kind")
        if kind == "customer":
            self.messages.append({"role": "user", "content": entry.get("text", "")})
        elif kind == "agent":
            self.messages.append({"role": "assistant", "content": entry.get("text", "")})
        elif kind == "tool":
            self.tool_pair(entry, index, _json(entry.get("result")))
        elif kind == "decision" and entry.get("effect") != "allow":
            message = self.tool_pair(entry, index, _json(_held_back(entry)))
            if entry.get("effect") == "approve":
                self._awaiting_review[entry.get("name", "")] = message
        elif kind == "review":
            self._reviewed(entry)

    def _reviewed(self, entry: Entry) -> None:
        message = self._awaiting_review.pop(entry.get("name", ""), None)
        if message is None:
            return
        payload = json.loads(message["content"])
        payload["review"] = {"decision": entry.get("decision", ""), "reason": entry.get("reason")}
        message["content"] = _json(payload)


def build_messages(state: AgentState, system_prompt: str) -> list[dict[str, Any]]:
    """Render the conversation's trace as chat completions messages, system prompt first."""
    renderer = _Renderer()
    renderer.messages.append({"role": "system", "content": system_prompt})
    for index, entry in enumerate(state.get("trace", [])):
        renderer.add(entry, index)
    return renderer.messages
