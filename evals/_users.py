"""Simulated customers: scripted lines, a deterministic persona, or a model playing the part.

The runner shows a user each agent reply as an :class:`AgentView` and sends back whatever the
user says; ``None`` ends the conversation from the customer's side.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from evals._scenario import ExpectedAction, Scenario

__all__ = [
    "AgentView",
    "LlmUser",
    "PersonaUser",
    "ScriptedUser",
    "SimulatedUser",
    "make_user",
    "same_call",
]

GOODBYE = "No, that's all, thanks."
YES = "Yes, please go ahead."
NO = "No, please don't do that."
DONT_KNOW = "Sorry, I don't know that."
STOP_TOKEN = "###STOP###"


@dataclass(frozen=True)
class AgentView:
    """What the customer sees of one agent turn (plus what a test user may peek at).

    Attributes:
        text: The agent's message(s).
        status: The conversation's status after the turn.
        wants: The fact keys the agent's question named (``Ask.wants``), if any.
        pending: The call waiting for the customer's yes (``{"name", "args"}``), if any.
    """

    text: str
    status: str
    wants: tuple[str, ...] = ()
    pending: dict[str, Any] | None = None


class SimulatedUser(Protocol):
    """A customer in an eval conversation."""

    def opening(self) -> str:
        """The first message."""
        ...

    async def respond(self, view: AgentView) -> str | None:
        """The next message after the agent's turn, or ``None`` to stop."""
        ...


def _normal(value: Any) -> Any:
    """Arguments compared as a customer's intent: lists as multisets, numbers as numbers."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items()) if v not in (None, "")}
    if isinstance(value, list):
        return sorted(json.dumps(_normal(v), sort_keys=True) for v in value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return round(float(value), 2)
    return str(value).strip()


@functools.cache
def _optional_arguments(name: str) -> frozenset[str]:
    from tools.retail import retail_registry

    registry = retail_registry()
    if name not in registry:
        return frozenset()
    fields = registry.get(name).input_model.model_fields
    return frozenset(key for key, field in fields.items() if not field.is_required())


def same_call(name: str, args: dict[str, Any], expected: ExpectedAction) -> bool:
    """Whether a proposed call is the expected one (same tool, same arguments).

    An optional argument the expected call leaves out (a reroute's tracking id, when the
    order has one shipment) does not count against a call that names it.
    """
    if name != expected.name:
        return False
    ignored = _optional_arguments(name) - set(expected.kwargs)
    proposed = {k: v for k, v in args.items() if k not in ignored}
    return bool(_normal(proposed) == _normal(expected.kwargs))


class ScriptedUser:
    """Says the scenario's ``turns`` in order, whatever the agent says.

    Args:
        turns: The customer's messages; the first is the opening.
    """

    def __init__(self, turns: Sequence[str]) -> None:
        self._turns = list(turns)
        self._next = 1

    def opening(self) -> str:
        """The first scripted message."""
        return self._turns[0]

    async def respond(self, view: AgentView) -> str | None:
        """The next scripted message, or ``None`` when the script is done."""
        if self._next >= len(self._turns):
            return None
        self._next += 1
        return self._turns[self._next - 1]


# Words that show what a question asks for, by fact key (checked in this order).
_ASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("email", ("email", "e-mail")),
    ("zip", ("zip", "postal", "postcode")),
    ("first_name", ("your name", "full name", "first name", "last name")),
    ("order_id", ("order number", "order id", "which order", "order #", "order no")),
    ("new_variant", ("which option", "size", "colour", "color", "which variant", "instead")),
    ("item", ("which item", "which product", "which one", "items")),
    ("payment", ("payment method", "refund to", "refunded to", "pay with", "which card")),
    ("reason", ("reason", "why")),
    ("address", ("address",)),
)


def _answer(key: str, facts: dict[str, str]) -> str | None:
    value = facts.get(key)
    if key in ("first_name", "last_name"):
        first, last = facts.get("first_name"), facts.get("last_name")
        return f"My name is {first} {last}." if first and last else None
    if value is None:
        return None
    return {
        "email": f"My email is {value}.",
        "zip": f"My zip code is {value}.",
        "order_id": f"The order number is {value}.",
        "item": f"It's {value}.",
        "new_variant": f"I'd like {value}.",
        "payment": f"Please use {value}.",
        "reason": f"{value[:1].upper()}{value[1:]}.",
        "address": f"The address is {value}.",
    }[key]


class PersonaUser:
    """The deterministic customer of a persona scenario.

    It opens with the scenario's ``opening``; answers the agent's questions from ``facts``
    (by the keys the question names, otherwise by the question's words); says yes to a
    confirmation only when ``confirms`` holds and the pending call is an expected action;
    when the agent replies without a question, asks its ``asks`` questions one at a time, then
    says it has nothing more; stops when the agent has set an outcome or after ``max_turns``
    messages.

    Args:
        scenario: The scenario (persona or llm kind: its opening and facts are used).
    """

    def __init__(self, scenario: Scenario) -> None:
        self._spec = scenario.user
        self._expected = scenario.expect.actions
        self._facts = scenario.user.facts.known()
        self._said = 1
        self._said_goodbye = False
        self._answered: Counter[str] = Counter()
        self._questions = list(scenario.user.asks)

    def opening(self) -> str:
        """The scenario's opening message."""
        assert self._spec.opening is not None
        return self._spec.opening

    def _question_keys(self, view: AgentView) -> list[str]:
        if view.wants:
            return list(view.wants)
        lowered = view.text.lower()
        keys = [key for key, words in _ASKS if any(w in lowered for w in words)]
        if "name" in lowered and "first_name" not in keys and ("zip" in keys or "email" in keys):
            keys.append("first_name")
        return keys

    def _reply(self, view: AgentView) -> str | None:
        if view.status in ("resolved", "refused", "escalated", "awaiting_review"):
            return None
        if view.status == "awaiting_confirmation" and view.pending is not None:
            name, args = str(view.pending.get("name")), dict(view.pending.get("args") or {})
            wanted = any(same_call(name, args, e) for e in self._expected)
            return YES if self._spec.confirms and wanted else NO
        keys = self._question_keys(view)
        if keys:
            answers: list[str] = []
            for key in keys:
                answer = _answer(key, self._facts)
                if answer is not None and answer not in answers:
                    answers.append(answer)
            if answers:
                text = " ".join(answers)
                self._answered[text] += 1
                # The same answer a third time: the agent is stuck; the customer leaves.
                return text if self._answered[text] <= 2 else None
            if "?" in view.text:
                return DONT_KNOW
        if self._questions:
            return self._questions.pop(0)
        if self._said_goodbye:
            return None
        self._said_goodbye = True
        return GOODBYE

    async def respond(self, view: AgentView) -> str | None:
        """The persona's next message, or ``None`` when it is done."""
        if self._said >= self._spec.max_turns:
            return None
        message = self._reply(view)
        if message is not None:
            self._said += 1
        return message


@dataclass
class LlmUser:
    """A model plays the customer, τ-bench style, through the OpenAI chat-completions API.

    The model gets the goal and facts as its instructions and writes one customer message at
    a time; it ends the conversation by writing ``###STOP###``.

    Args:
        scenario: The scenario (``user.goal`` and ``user.facts``).
        client: An ``openai.AsyncOpenAI`` client (any OpenAI-compatible server).
        model: The model name.
        temperature: Sampling temperature (0 for repeatable runs where the server allows).
    """

    scenario: Scenario
    client: Any
    model: str
    temperature: float = 0.0
    history: list[dict[str, str]] = field(default_factory=list)
    usage: Counter[str] = field(default_factory=Counter)

    def _system(self) -> str:
        facts = "\n".join(f"- {k}: {v}" for k, v in self.scenario.user.facts.known().items())
        return (
            "You are a customer talking to a shop's customer-service agent. Your goal: "
            f"{self.scenario.user.goal}\nWhat you know (share it only when asked):\n{facts}\n"
            "Write one short message at a time, as a real customer would. Never invent facts "
            "you were not given. Say yes to a confirmation only if it matches your goal. When "
            f"your goal is met, or it cannot be, write {STOP_TOKEN}."
        )

    def opening(self) -> str:
        """The scenario's opening (the model takes over from the second message)."""
        assert self.scenario.user.opening is not None
        self.history.append({"role": "assistant", "content": self.scenario.user.opening})
        return self.scenario.user.opening

    async def respond(self, view: AgentView) -> str | None:
        """Ask the model for the customer's next message."""
        if view.status in ("resolved", "refused", "escalated", "awaiting_review"):
            return None
        if sum(1 for m in self.history if m["role"] == "assistant") >= self.scenario.user.max_turns:
            return None
        # Roles are swapped: the model is the customer, the agent's words come in as "user".
        self.history.append({"role": "user", "content": view.text})
        completion = await self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": self._system()}, *self.history],
            temperature=self.temperature,
        )
        if completion.usage is not None:
            self.usage["prompt_tokens"] += completion.usage.prompt_tokens
            self.usage["completion_tokens"] += completion.usage.completion_tokens
        text = str(completion.choices[0].message.content or "").strip()
        if not text or STOP_TOKEN in text:
            return None
        self.history.append({"role": "assistant", "content": text})
        return re.sub(r"\s+", " ", text)


def make_user(scenario: Scenario, *, llm_client: Any = None, llm_model: str = "") -> SimulatedUser:
    """The simulated customer a scenario asks for.

    Args:
        scenario: The scenario.
        llm_client: An ``AsyncOpenAI`` client for ``llm`` users.
        llm_model: The model for ``llm`` users.

    Raises:
        ValueError: An ``llm`` user without a client.
    """
    kind = scenario.user.kind
    if kind == "scripted":
        return ScriptedUser(scenario.user.turns)
    if kind == "persona":
        return PersonaUser(scenario)
    if llm_client is None:
        raise ValueError(f"scenario {scenario.id} has an llm user: configure a model endpoint")
    return LlmUser(scenario, llm_client, llm_model)
