"""Eval scenarios: who the customer is, what they want, and what the end state must be.

A suite is one or more YAML files, each a list of scenarios. The schema is strict (unknown
keys are errors) so that a typo in a suite fails loudly instead of silently testing less.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from evals.errors import EvalConfigError

__all__ = [
    "ExpectedAction",
    "ExpectedOutcome",
    "Expectation",
    "Facts",
    "Outcome",
    "Scenario",
    "UserSpec",
    "load_scenarios",
    "scenario_files",
]

Outcome = Literal["resolved", "escalated", "refused"]
"""How a conversation ended, as the agent set it."""

ExpectedOutcome = Literal["resolved", "escalated", "refused", "any"]
"""An expected outcome; ``any`` leaves it to the end state (τ-bench grades only that)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Facts(_Strict):
    """What the simulated customer knows, in a fixed vocabulary (unknown keys are errors).

    Attributes:
        email: The account's email.
        first_name: The customer's first name.
        last_name: The customer's last name.
        zip: The zip code of the customer's default address.
        order_id: The order concerned, as the customer would type it ("#W1234567").
        item: Natural description of the item or items concerned ("the keyboard").
        new_variant: Natural description of the wanted option values ("size L, blue").
        payment: Natural description of a payment method ("gift card", "the visa ending 1234").
        reason: Why (e.g. a cancellation reason).
        address: An address on one line.
    """

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    order_id: str | None = None
    item: str | None = None
    new_variant: str | None = None
    payment: str | None = None
    reason: str | None = None
    address: str | None = None

    def known(self) -> dict[str, str]:
        """The facts that are set, by key."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class UserSpec(_Strict):
    """The simulated customer.

    Attributes:
        kind: ``scripted`` (says ``turns`` in order), ``persona`` (answers from ``facts``,
            deterministic) or ``llm`` (a model plays the customer from ``goal`` and ``facts``).
        opening: The first message (persona and llm users).
        facts: What the customer knows.
        goal: The customer's aim in plain words (for llm users; documentation otherwise).
        confirms: Whether the customer says yes when the agent's pending action is one of
            the expected actions (a persona never confirms an unexpected action).
        turns: The messages of a scripted user, in order.
        asks: Questions a persona asks, one at a time, once the agent has nothing left to
            ask (before saying it has nothing more).
        max_turns: The customer gives up after this many messages.
    """

    kind: Literal["scripted", "persona", "llm"] = "persona"
    opening: str | None = None
    facts: Facts = Field(default_factory=Facts)
    goal: str | None = None
    confirms: bool = True
    turns: list[str] = Field(default_factory=list)
    asks: list[str] = Field(default_factory=list)
    max_turns: int = Field(default=12, ge=1, le=100)

    @model_validator(mode="after")
    def _complete(self) -> UserSpec:
        if self.kind == "scripted" and not self.turns:
            raise ValueError("a scripted user needs at least one entry in 'turns'")
        if self.kind != "scripted" and not self.opening:
            raise ValueError(f"a {self.kind} user needs an 'opening' message")
        if self.kind == "llm" and not self.goal:
            raise ValueError("an llm user needs a 'goal'")
        return self


class ExpectedAction(_Strict):
    """A tool call the agent should make; replayed to get the expected end state.

    Attributes:
        name: The tool.
        kwargs: Its arguments.
    """

    name: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


class Expectation(_Strict):
    """What a successful conversation achieves.

    Attributes:
        actions: Write calls whose replay gives the expected end state (reads may be listed;
            they change nothing).
        outcome: How the conversation should end (``any``: not checked, only the state).
        must_say: Facts the agent's replies must contain (case-insensitive).
        must_not_call: Tools the agent must never run.
    """

    actions: list[ExpectedAction] = Field(default_factory=list)
    outcome: ExpectedOutcome = "resolved"
    must_say: list[str] = Field(default_factory=list)
    must_not_call: list[str] = Field(default_factory=list)


class Scenario(_Strict):
    """One eval case.

    Attributes:
        id: Unique within a run.
        domain: The business domain (``retail``).
        seed: Starting data: ``demo`` (the generated demo shop, seed 7) or ``taubench``.
        tags: Free labels for per-tag accuracy (intents, ``adversarial``, ``heldout``...).
        user: The simulated customer.
        expect: What must hold at the end.
        source: The file the scenario came from (set by the loader).
    """

    id: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$")
    domain: Literal["retail"] = "retail"
    seed: Literal["demo", "taubench"] = "demo"
    tags: list[str] = Field(default_factory=list)
    user: UserSpec
    expect: Expectation = Field(default_factory=Expectation)
    source: str | None = None


def scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """The YAML files named, with folders expanded (sorted, recursively).

    Raises:
        EvalConfigError: A path does not exist, or a folder holds no YAML file.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")])
            if not found:
                raise EvalConfigError(f"no scenario files (*.yaml) in {path}")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise EvalConfigError(f"no such suite file or folder: {path}")
    return files


def _location(error: ErrorDetails) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(scenario)"


def load_scenarios(paths: Iterable[str | Path]) -> list[Scenario]:
    """Read and validate every scenario in the files and folders given.

    Raises:
        EvalConfigError: Unreadable YAML, a file that is not a list, an invalid scenario
            (the message names the file, the scenario and the field) or a duplicate id.
    """
    scenarios: list[Scenario] = []
    seen: dict[str, Path] = {}
    for file in scenario_files(paths):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise EvalConfigError(f"{file}: not valid YAML: {exc}") from None
        if data is None:
            continue
        if not isinstance(data, list):
            raise EvalConfigError(f"{file}: a scenario file is a YAML list of scenarios")
        for position, raw in enumerate(data):
            label = raw.get("id", f"#{position + 1}") if isinstance(raw, dict) else position + 1
            try:
                scenario = Scenario.model_validate({**raw, "source": str(file)})
            except (ValidationError, TypeError) as exc:
                if isinstance(exc, ValidationError):
                    problems = "; ".join(
                        f"{_location(e)}: {e['msg']}" for e in exc.errors(include_url=False)
                    )
                else:
                    problems = "a scenario is a mapping"
                raise EvalConfigError(f"{file}: scenario {label}: {problems}") from None
            if scenario.id in seen:
                raise EvalConfigError(
                    f"{file}: duplicate scenario id {scenario.id!r} (also in {seen[scenario.id]})"
                )
            seen[scenario.id] = file
            scenarios.append(scenario)
    return scenarios
