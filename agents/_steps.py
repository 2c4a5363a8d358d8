"""The agent's contract: the one next step a planner proposes, and what a turn returns."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Ask",
    "CallTool",
    "Escalate",
    "Reply",
    "Resolve",
    "Status",
    "Step",
    "StepUsage",
]

Status = Literal[
    "active",
    "awaiting_customer",
    "awaiting_confirmation",
    "awaiting_review",
    "resolved",
    "refused",
    "escalated",
]
"""Where a conversation stands. The last three are outcomes the agent sets itself."""


class StepUsage(BaseModel):
    """What producing a step cost (model planners fill it)."""

    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    usage: StepUsage | None = None


class CallTool(_Step):
    """Call one tool (it goes through the policy guard first)."""

    kind: Literal["call_tool"] = "call_tool"
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    call_id: str | None = None


class Ask(_Step):
    """Ask the customer something; ``wants`` names the facts wanted (``email``, ``order_id``...)."""

    kind: Literal["ask"] = "ask"
    text: str
    wants: list[str] = Field(default_factory=list)


class Reply(_Step):
    """Say something to the customer and wait for their next message."""

    kind: Literal["reply"] = "reply"
    text: str


class Resolve(_Step):
    """The request is done (``outcome="resolved"``) or declined under the policy (``"refused"``)."""

    kind: Literal["resolve"] = "resolve"
    summary: str
    outcome: Literal["resolved", "refused"] = "resolved"


class Escalate(_Step):
    """Hand the conversation to a person, with the reason.

    Attributes:
        reason: Why a person takes over (the review item's note; not shown to the customer).
        message: What to tell the customer before the handoff, e.g. why the agent cannot do
            it itself; said before the handoff sentence, through the output rails.
    """

    kind: Literal["escalate"] = "escalate"
    reason: str
    message: str | None = None


Step = Annotated[CallTool | Ask | Reply | Resolve | Escalate, Field(discriminator="kind")]
"""One next step: exactly one of the five."""
