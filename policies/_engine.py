"""The policy engine: deterministic, default-deny for writes, every decision explained.

For a proposed call the engine collects the rules that govern the tool and whose condition
holds. Any ``deny`` wins, then ``escalate``, ``approve``, ``confirm``; a write tool needs a
matching ``allow`` to run at all (without one it is denied, not confirmed or reviewed, unless
a rule escalates it), a read tool is allowed unless something stronger matched.
A condition that fails to evaluate (a missing fact, a type mismatch) fails closed: it counts
as matched for restrictive rules and as not matched for ``allow`` rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cel

from policies._audit import AuditRecord, AuditSink
from policies._pack import CompiledPack, CompiledRule
from policies._pii import mask_pii
from policies._types import (
    DEFAULT_DENY_RULE,
    EFFECT_PRIORITY,
    Decision,
    Effect,
    FiredRule,
    ProposedCall,
)

__all__ = ["PolicyEngine"]


def _evaluate(rule: CompiledRule, context: Any) -> tuple[bool, str | None]:
    if rule.program is None:
        return True, None
    try:
        value = rule.program.execute(context)
    except Exception as error:
        return rule.rule.effect != "allow", f"condition failed to evaluate: {error}"
    if not isinstance(value, bool):
        return rule.rule.effect != "allow", f"condition gave {value!r}, not true or false"
    return value, None


class PolicyEngine:
    """Decides on proposed tool calls with a compiled pack.

    Args:
        pack: The compiled policy pack.
        tool_effects: Tool name -> ``"read"`` or ``"write"`` (from the registry). Unknown
            tools are treated as writes: default-deny.
        audit: Where every decision is recorded (optional).
    """

    def __init__(
        self,
        pack: CompiledPack,
        tool_effects: Mapping[str, str],
        *,
        audit: AuditSink | None = None,
    ) -> None:
        self.pack = pack
        self.tool_effects = dict(tool_effects)
        self.audit = audit

    def is_write(self, tool: str) -> bool:
        """True when ``tool`` changes the business system (or is unknown)."""
        return self.tool_effects.get(tool, "write") != "read"

    def evaluate(self, call: ProposedCall, context: Mapping[str, Any]) -> Decision:
        """Decide on ``call`` in ``context`` without recording it (a pure function).

        Args:
            call: The proposed tool call.
            context: The facts: ``tool``, ``args``, ``customer``, ``order``, ``orders``,
                ``action``, ``conversation``, ``params``, ``now`` (see ``policies.facts``).
        """
        fired: list[FiredRule] = []
        rules = self.pack.rules_for(call.tool)
        # Convert the facts to CEL values once per decision, not once per rule.
        cel_context = cel.Context(variables=dict(context)) if rules else None
        for rule in rules:
            matched, error = _evaluate(rule, cel_context)
            if matched:
                fired.append(
                    FiredRule(
                        id=rule.rule.id,
                        effect=rule.rule.effect,
                        message=rule.rule.message,
                        error=error,
                    )
                )
        strongest = max((EFFECT_PRIORITY[f.effect] for f in fired), default=0)
        allowed = any(f.effect == "allow" for f in fired)
        effect: Effect
        if self.is_write(call.tool) and not allowed and strongest < EFFECT_PRIORITY["escalate"]:
            # Default-deny: without an allow, a write is never worth confirming or reviewing.
            effect = "deny"
            fired.append(
                FiredRule(
                    id=DEFAULT_DENY_RULE,
                    effect="deny",
                    message=f"no rule allows {call.tool} here",
                )
            )
        elif strongest > EFFECT_PRIORITY["allow"]:
            effect = next(f.effect for f in fired if EFFECT_PRIORITY[f.effect] == strongest)
        else:
            effect = "allow"
        fired.sort(key=lambda f: -EFFECT_PRIORITY[f.effect])
        messages = [f.message for f in fired if f.effect == effect and f.message]
        return Decision(
            effect=effect,
            tool=call.tool,
            rules=fired,
            messages=messages,
            facts=dict(context),
            pack=self.pack.label,
            decided_at=context.get("now"),
        )

    def decide(
        self,
        call: ProposedCall,
        context: Mapping[str, Any],
        *,
        conversation_id: str = "",
        step: int = 0,
    ) -> Decision:
        """Decide on ``call`` and record the decision in the audit sink."""
        decision = self.evaluate(call, context)
        if self.audit is not None:
            # The audit log keeps the reasons, not the customer's personal data.
            masked = decision.model_copy(update={"facts": mask_pii(decision.facts)})
            self.audit.record(
                AuditRecord(
                    conversation_id=conversation_id,
                    step=step,
                    tool=call.tool,
                    args=mask_pii(call.args),
                    decision=masked,
                    recorded_at=decision.decided_at,
                )
            )
        return decision
