"""Loading a policy pack: YAML -> validated pydantic -> compiled CEL conditions.

A pack that cannot be enforced exactly as written is refused at load, with a message naming
the rule: a condition that does not compile (with its position), a condition that reads a
variable the context does not have, a rule without an effect, a tool name no registry knows.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cel
import yaml
from pydantic import ValidationError

from policies._types import PolicyPack, Rule
from policies.errors import PolicyLoadError

__all__ = ["CONTEXT_VARIABLES", "CompiledPack", "CompiledRule", "builtin_pack_path", "load_pack"]

CONTEXT_VARIABLES = frozenset(
    {"tool", "args", "customer", "order", "orders", "action", "conversation", "params", "now"}
)
"""The names a condition may read; anything else is a load-time error."""


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its compiled condition (None: always matches)."""

    rule: Rule
    program: Any | None

    def governs(self, tool: str) -> bool:
        """True when the rule applies to ``tool``."""
        return any(fnmatch.fnmatchcase(tool, pattern) for pattern in self.rule.tools)


@dataclass(frozen=True)
class CompiledPack:
    """A loaded pack, ready for the engine.

    Attributes:
        pack: The validated pack.
        rules: Its rules, compiled, in file order.
        source: Where it came from.
        digest: SHA-256 of the pack's text (part of an eval run's fingerprint).
    """

    pack: PolicyPack
    rules: tuple[CompiledRule, ...]
    source: str
    digest: str
    _by_tool: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        """``name@version``."""
        return f"{self.pack.metadata.name}@{self.pack.metadata.version}"

    def rules_for(self, tool: str) -> tuple[CompiledRule, ...]:
        """The rules that govern ``tool``, in file order (cached)."""
        found = self._by_tool.get(tool)
        if found is None:
            found = tuple(rule for rule in self.rules if rule.governs(tool))
            self._by_tool[tool] = found
        return found


def builtin_pack_path(name: str) -> Path:
    """Return the path of a pack shipped with the package (``"retail"``)."""
    return Path(str(resources.files("policies") / "packs" / f"{name}.yaml"))


def _resolve(source: str | Path) -> Path:
    path = Path(source)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    return builtin_pack_path(str(source))


def _rule_label(raw: Any, index: int) -> str:
    rules = raw.get("rules") if isinstance(raw, dict) else None
    if isinstance(rules, list) and index < len(rules) and isinstance(rules[index], dict):
        rule_id = rules[index].get("id")
        if rule_id:
            return f"rule {rule_id!r}"
    return f"rule #{index + 1}"


def _validation_message(name: str, raw: Any, error: ValidationError) -> str:
    problems = []
    for problem in error.errors(include_url=False):
        loc = problem["loc"]
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            where = _rule_label(raw, loc[1])
            rest = ".".join(str(part) for part in loc[2:]) or "rule"
            problems.append(f"{where}: {rest}: {problem['msg']}")
        else:
            problems.append(f"{'.'.join(str(p) for p in loc)}: {problem['msg']}")
    return f"policy pack {name}: " + "; ".join(problems)


def _compile(name: str, rule: Rule) -> Any | None:
    if not rule.when.strip():
        return None
    try:
        program = cel.compile(rule.when)
    except ValueError as error:
        raise PolicyLoadError(
            f"policy pack {name}: rule {rule.id!r}: condition does not compile: {error}"
        ) from None
    unknown = sorted(set(program.variables()) - CONTEXT_VARIABLES)
    if unknown:
        raise PolicyLoadError(
            f"policy pack {name}: rule {rule.id!r}: condition reads unknown "
            f"{'variables' if len(unknown) > 1 else 'variable'} {', '.join(unknown)}; the context "
            f"has {', '.join(sorted(CONTEXT_VARIABLES))}"
        )
    return program


def _check_tools(name: str, rule: Rule, known_tools: Mapping[str, str]) -> None:
    for pattern in rule.tools:
        if any(ch in pattern for ch in "*?["):
            if not any(fnmatch.fnmatchcase(tool, pattern) for tool in known_tools):
                raise PolicyLoadError(
                    f"policy pack {name}: rule {rule.id!r}: tool pattern {pattern!r} matches "
                    "no known tool"
                )
        elif pattern not in known_tools:
            raise PolicyLoadError(
                f"policy pack {name}: rule {rule.id!r}: unknown tool {pattern!r}; known tools: "
                f"{', '.join(sorted(known_tools))}"
            )


def load_pack(
    source: str | Path = "retail", *, known_tools: Mapping[str, str] | None = None
) -> CompiledPack:
    """Load, validate and compile a pack.

    Args:
        source: A YAML file path or the name of a shipped pack (``"retail"``).
        known_tools: Tool name -> effect of the domain's registry; when given, every tool a
            rule names must exist (globs must match at least one).

    Raises:
        PolicyLoadError: The pack cannot be enforced as written; the message names the rule.
    """
    path = _resolve(source)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyLoadError(f"cannot read policy pack {path}: {error}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyLoadError(f"policy pack {name} is not valid YAML: {error}") from None
    try:
        pack = PolicyPack.model_validate(raw)
    except ValidationError as error:
        raise PolicyLoadError(_validation_message(name, raw, error)) from None
    compiled = []
    for rule in pack.rules:
        if known_tools is not None:
            _check_tools(name, rule, known_tools)
        compiled.append(CompiledRule(rule=rule, program=_compile(name, rule)))
    return CompiledPack(
        pack=pack,
        rules=tuple(compiled),
        source=str(path),
        digest=hashlib.sha256(text.encode()).hexdigest(),
    )
