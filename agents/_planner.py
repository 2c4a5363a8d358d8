"""The planner protocol: given the conversation, propose ONE next step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from agents._state import AgentState
from agents._steps import Step

__all__ = ["Knowledge", "Planner", "PlannerInput"]


@runtime_checkable
class Knowledge(Protocol):
    """Retrieves the few policy passages relevant to a question."""

    def search(self, query: str, k: int = 3) -> list[dict[str, Any]]:
        """Return up to ``k`` passages: ``{"id", "title", "text", "score"}``."""
        ...


class PlannerInput:
    """What a planner sees for one decision.

    Attributes:
        state: The conversation's state (trace, customer, pending action, status...).
        tools: The OpenAI function schemas of the tools it may propose.
        knowledge: Retrieval over the domain's policy articles, when configured.
        policy_text: A short statement of the rules, for model planners' system prompts.
    """

    def __init__(
        self,
        state: AgentState,
        tools: Sequence[dict[str, Any]],
        knowledge: Knowledge | None = None,
        policy_text: str = "",
    ) -> None:
        self.state = state
        self.tools = list(tools)
        self.knowledge = knowledge
        self.policy_text = policy_text


@runtime_checkable
class Planner(Protocol):
    """Proposes the next step. Implementations: scripted, openai, offline."""

    name: str

    async def plan(self, request: PlannerInput) -> Step:
        """Return the one next step for the conversation in ``request.state``."""
        ...

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this planner's behaviour (name, model, prompt hash)."""
        ...
