"""The oracle planner: the harness's self-test.

It drives a scenario's expected actions through the whole graph (policy guard, the
customer's confirmation, act) and ends with the expected outcome and a reply that states the
``must_say`` facts. A suite that the oracle does not score at 100% has a broken scenario (or
a broken harness); a planner that deviates from the oracle shows up in the state diff.
"""

from __future__ import annotations

import functools
from typing import Any

from agents import Ask, CallTool, Escalate, PlannerInput, Resolve, Step
from evals._scenario import Scenario
from evals._users import same_call
from tools.retail import retail_registry

__all__ = ["OraclePlanner"]


@functools.cache
def _retail_writes() -> frozenset[str]:
    return frozenset({*retail_registry().write_tools(), "transfer_to_human_agents"})


class OraclePlanner:
    """Proposes exactly the scenario's expected actions, then its expected outcome.

    Args:
        scenario: The scenario whose expectations it plays.
    """

    name = "oracle"

    def __init__(self, scenario: Scenario, writes: frozenset[str] | None = None) -> None:
        self.scenario = scenario
        self._writes = writes if writes is not None else _retail_writes()

    def fingerprint(self) -> dict[str, Any]:
        """The oracle has no model and no prompt."""
        return {"planner": self.name}

    def _authenticate(self, request: PlannerInput) -> Step | None:
        facts = self.scenario.user.facts
        tried = [
            e
            for e in request.state.get("trace", [])
            if e.get("kind") == "tool" and str(e.get("name", "")).startswith("find_user_id")
        ]
        if tried:
            return Escalate(reason="the customer's identity could not be verified")
        if facts.email:
            return CallTool(name="find_user_id_by_email", args={"email": facts.email})
        if facts.first_name and facts.last_name and facts.zip:
            args = {"first_name": facts.first_name, "last_name": facts.last_name, "zip": facts.zip}
            return CallTool(name="find_user_id_by_name_zip", args=args)
        return Ask(text="Could you tell me the email address on your account?", wants=["email"])

    def _finish(self) -> Step:
        expect = self.scenario.expect
        said = " ".join(expect.must_say) or "All done."
        if expect.outcome == "escalated":
            return Escalate(reason="the scenario ends with a person", message=said)
        outcome = "refused" if expect.outcome == "refused" else "resolved"
        return Resolve(summary=said, outcome=outcome)

    async def plan(self, request: PlannerInput) -> Step:
        """The next expected write, or the expected ending once they are all settled.

        Expected reads change nothing and are skipped. An expected write that the policy
        denies or that fails as a tool call is settled too (the benchmarks' ground truth
        contains such calls: they leave the state as it was); a declined confirmation ends
        the conversation.
        """
        trace = request.state.get("trace", [])
        remaining = [a for a in self.scenario.expect.actions if a.name in self._writes]
        for entry in trace:
            if not remaining or entry.get("kind") not in ("tool", "decision"):
                continue
            if not same_call(str(entry.get("name")), dict(entry.get("args") or {}), remaining[0]):
                continue
            if entry.get("kind") == "decision" and entry.get("effect") == "declined":
                return self._finish()
            if entry.get("kind") == "tool" or entry.get("effect") == "deny":
                remaining.pop(0)
        if not remaining:
            return self._finish()
        if request.state.get("customer_id") is None:
            step = self._authenticate(request)
            if step is not None:
                return step
        action = remaining[0]
        return CallTool(name=action.name, args=dict(action.kwargs))
