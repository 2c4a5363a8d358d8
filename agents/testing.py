"""Test doubles shipped with the package: a scripted planner for users' own tests.

Like openai-agents' ScriptedModel or pydantic-ai's FunctionModel: a queue of steps, or a
function of the state. It records every request, fails when asked for a step it does not
have, and ``assert_done()`` fails when steps were left over.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from agents._planner import PlannerInput
from agents._state import AgentState
from agents._steps import Step

__all__ = ["ScriptExhausted", "ScriptedPlanner"]


class ScriptExhausted(AssertionError):
    """The scripted planner was asked for more steps than it was given (or left some)."""


class ScriptedPlanner:
    """A planner that replays given steps, or asks a function of the state.

    Args:
        steps: The steps to return, in order; or a function ``state -> Step``.
        name: The planner's name in fingerprints.
    """

    def __init__(
        self,
        steps: Iterable[Step] | Callable[[AgentState], Step],
        *,
        name: str = "scripted",
    ) -> None:
        self.name = name
        self.requests: list[PlannerInput] = []
        if callable(steps):
            self._function: Callable[[AgentState], Step] | None = steps
            self._queue: deque[Step] = deque()
        else:
            self._function = None
            self._queue = deque(steps)

    async def plan(self, request: PlannerInput) -> Step:
        """Return the next scripted step."""
        self.requests.append(request)
        if self._function is not None:
            return self._function(request.state)
        if not self._queue:
            raise ScriptExhausted(
                f"scripted planner asked for step {len(self.requests)} but has no more steps"
            )
        return self._queue.popleft()

    def add(self, *steps: Step) -> None:
        """Queue more steps."""
        self._queue.extend(steps)

    @property
    def remaining(self) -> int:
        """Steps not used yet."""
        return len(self._queue)

    def assert_done(self) -> None:
        """Fail when scripted steps were left over."""
        if self._queue:
            raise ScriptExhausted(f"{len(self._queue)} scripted steps were never used")

    def fingerprint(self) -> dict[str, Any]:
        """Name and a hash of the script."""
        script = repr(list(self._queue)) if self._function is None else repr(self._function)
        return {"planner": self.name, "script": hashlib.sha256(script.encode()).hexdigest()[:12]}
