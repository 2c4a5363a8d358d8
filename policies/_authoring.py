"""Tools for policy authors: a pack's own test cases, and a linter.

A pack ships its tests next to it (``retail.yaml`` -> ``retail.tests.yaml``): each case is a
proposed call with the facts of its context, and the effect and rule ids it must produce. The
cases need no database: the facts are written out in the case, over shared ``defaults``.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policies._engine import PolicyEngine
from policies._pack import CompiledPack
from policies._types import Decision, Effect, ProposedCall
from policies.errors import PolicyLoadError

__all__ = [
    "LintFinding",
    "PackCase",
    "PackCaseResult",
    "lint_pack",
    "load_pack_cases",
    "run_pack_cases",
    "tests_path_for",
]

_TEST_NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


class _Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effect: Effect
    rules: list[str] = Field(default_factory=list)


class PackCase(BaseModel):
    """One test case of a pack: a call, its facts, what the pack must decide."""

    model_config = ConfigDict(extra="forbid")

    name: str
    call: ProposedCall
    context: dict[str, Any] = Field(default_factory=dict)
    expect: _Expect


class _CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: dict[str, Any] = Field(default_factory=dict)
    cases: list[PackCase] = Field(min_length=1)


@dataclass(frozen=True)
class PackCaseResult:
    """The outcome of one case."""

    case: PackCase
    decision: Decision
    passed: bool
    problem: str


@dataclass(frozen=True)
class LintFinding:
    """Something wrong or suspicious in a pack."""

    kind: str
    rule: str | None
    message: str


def tests_path_for(pack: CompiledPack) -> Path:
    """Return where a pack's tests live: ``<pack>.tests.yaml`` beside it."""
    source = Path(pack.source)
    return source.with_name(source.stem + ".tests.yaml")


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return copy.deepcopy(override)


def load_pack_cases(path: str | Path) -> tuple[dict[str, Any], list[PackCase]]:
    """Read a pack's test file; returns its defaults and cases.

    Raises:
        PolicyLoadError: The file is missing or malformed (the message names the case).
    """
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyLoadError(f"cannot read pack tests {file}: {error}") from None
    except yaml.YAMLError as error:
        raise PolicyLoadError(f"pack tests {file.name} are not valid YAML: {error}") from None
    try:
        parsed = _CaseFile.model_validate(raw)
    except ValidationError as error:
        raise PolicyLoadError(f"pack tests {file.name}: {error}") from None
    return parsed.defaults, parsed.cases


def case_context(pack: CompiledPack, defaults: Mapping[str, Any], case: PackCase) -> dict[str, Any]:
    """The full context of a case: defaults, then the case's facts, then the call itself."""
    context: dict[str, Any] = _merge(copy.deepcopy(dict(defaults)), case.context)
    context["tool"] = case.call.tool
    context["args"] = dict(case.call.args)
    context.setdefault("params", {})
    context["params"] = {**pack.pack.params, **context["params"]}
    context.setdefault("now", _TEST_NOW)
    if isinstance(context["now"], str):
        context["now"] = datetime.fromisoformat(context["now"])
    for key in ("customer", "order", "action"):
        context.setdefault(key, None)
    context.setdefault("orders", [])
    context.setdefault("conversation", {})
    return context


def run_pack_cases(
    pack: CompiledPack, engine: PolicyEngine, path: str | Path | None = None
) -> list[PackCaseResult]:
    """Run every case of the pack's test file and say which passed."""
    defaults, cases = load_pack_cases(path or tests_path_for(pack))
    results = []
    for case in cases:
        decision = engine.evaluate(case.call, case_context(pack, defaults, case))
        problems = []
        if decision.effect != case.expect.effect:
            problems.append(f"effect {decision.effect}, expected {case.expect.effect}")
        missing = [rule for rule in case.expect.rules if rule not in decision.rule_ids]
        if missing:
            problems.append(f"rules {missing} did not fire (fired: {decision.rule_ids})")
        results.append(
            PackCaseResult(
                case=case, decision=decision, passed=not problems, problem="; ".join(problems)
            )
        )
    return results


def _constant(rule_program: Any) -> bool | None:
    if rule_program is None:
        return True
    if rule_program.variables():
        return None
    try:
        value = rule_program.execute({})
    except Exception:
        return None
    return value if isinstance(value, bool) else None


def lint_pack(pack: CompiledPack, tool_effects: Mapping[str, str]) -> list[LintFinding]:
    """Report unknown tools, write tools no rule allows, and rules that can never matter."""
    findings: list[LintFinding] = []
    for compiled in pack.rules:
        rule = compiled.rule
        for pattern in rule.tools:
            if not any(fnmatch.fnmatchcase(tool, pattern) for tool in tool_effects):
                findings.append(
                    LintFinding("unknown-tool", rule.id, f"{pattern!r} matches no known tool")
                )
        if _constant(compiled.program) is False:
            findings.append(LintFinding("unreachable", rule.id, "its condition is always false"))
    for tool, effect in sorted(tool_effects.items()):
        rules = pack.rules_for(tool)
        if effect == "write" and not any(r.rule.effect == "allow" for r in rules):
            findings.append(
                LintFinding("no-allow", None, f"write tool {tool} has no allow rule: always denied")
            )
        blockers = [r for r in rules if r.rule.effect == "deny" and _constant(r.program) is True]
        if blockers:
            for compiled in rules:
                if compiled.rule.effect != "deny" and all(
                    any(b.governs(t) for b in blockers) for t in tool_effects if compiled.governs(t)
                ):
                    findings.append(
                        LintFinding(
                            "unreachable",
                            compiled.rule.id,
                            f"rule {blockers[0].rule.id!r} always denies {tool} first",
                        )
                    )
    unique: dict[tuple[str, str | None, str], LintFinding] = {}
    for finding in findings:
        unique.setdefault((finding.kind, finding.rule, finding.message), finding)
    return list(unique.values())
