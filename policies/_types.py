"""The policy contract: packs and rules (validated YAML), proposed calls, decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "EFFECT_PRIORITY",
    "DEFAULT_DENY_RULE",
    "ConversationFacts",
    "Decision",
    "Effect",
    "FiredRule",
    "PackMetadata",
    "PolicyPack",
    "ProposedCall",
    "Rule",
]

Effect = Literal["allow", "deny", "confirm", "approve", "escalate"]
"""What a rule asks for. ``deny`` wins, then ``escalate``, ``approve``, ``confirm``, ``allow``."""

EFFECT_PRIORITY: dict[str, int] = {"deny": 5, "escalate": 4, "approve": 3, "confirm": 2, "allow": 1}
DEFAULT_DENY_RULE = "default-deny"


class Rule(BaseModel):
    """One rule of a pack.

    Attributes:
        id: Stable identifier, cited in every decision it takes part in.
        tools: Tool names or globs (``"*"``, ``"modify_pending_order_*"``) the rule governs.
        when: A CEL condition over the context (``tool``, ``args``, ``customer``, ``order``,
            ``orders``, ``action``, ``conversation``, ``params``, ``now``); empty means always.
        effect: What the rule asks for when it matches.
        message: Customer-facing reason (deny), reviewer-facing note (approve), or the reason
            for confirming or escalating.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    tools: list[str] = Field(min_length=1)
    when: str = ""
    effect: Effect
    message: str = ""
    description: str = ""


class PackMetadata(BaseModel):
    """Who a pack is for and which version it is."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    domain: str = "retail"
    description: str = ""


class PolicyPack(BaseModel):
    """A policy pack as written in YAML."""

    model_config = ConfigDict(extra="forbid")

    metadata: PackMetadata
    params: dict[str, Any] = Field(default_factory=dict)
    rules: list[Rule] = Field(min_length=1)

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return rules


class ConversationFacts(BaseModel):
    """What the conversation so far tells the policy.

    Attributes:
        id: The conversation (thread) id.
        turn: Customer messages so far.
        confirmed: The customer explicitly said yes to exactly this pending action.
        approved: A reviewer approved exactly this pending action.
        actions_taken: Names of the write tools already executed, in order.
        customers_seen: Every customer id a lookup returned in this conversation.
        flags: Input-rail flags raised on customer messages ("ignore_instructions", ...).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    turn: int = 0
    confirmed: bool = False
    approved: bool = False
    actions_taken: list[str] = Field(default_factory=list)
    customers_seen: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)


class ProposedCall(BaseModel):
    """A tool call the planner proposes, before it may run."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class FiredRule(BaseModel):
    """A rule that matched a call."""

    id: str
    effect: Effect
    message: str
    error: str | None = None


class Decision(BaseModel):
    """The engine's answer for one proposed call, with its reasons.

    Attributes:
        effect: The winning effect.
        tool: The tool the call was for.
        rules: Every rule that matched (a ``default-deny`` entry when a write tool had no
            allow), strongest first.
        messages: The messages of the rules with the winning effect.
        facts: The context the conditions saw (with PII masked when recorded).
        pack: ``name@version`` of the pack that decided.
        decided_at: When the decision was taken (the context's ``now``).
    """

    effect: Effect
    tool: str
    rules: list[FiredRule]
    messages: list[str]
    facts: dict[str, Any] = Field(default_factory=dict)
    pack: str = ""
    decided_at: datetime | None = None

    @property
    def allowed(self) -> bool:
        """True when the call may run now."""
        return self.effect == "allow"

    @property
    def rule_ids(self) -> list[str]:
        """Ids of the rules that matched, strongest first."""
        return [rule.id for rule in self.rules]

    def summary(self) -> dict[str, Any]:
        """The short JSON form: ``{"effect", "rules", "messages"}``."""
        return {"effect": self.effect, "rules": self.rule_ids, "messages": self.messages}
