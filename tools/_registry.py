"""The registry: lists a domain's tools, derives their schemas and invokes them safely."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from tools._context import ToolContext
from tools._retry import RetryPolicy
from tools._tool import Effect, Tool
from tools.errors import ToolConfigError, ToolError

__all__ = ["ToolRegistry", "ToolResult"]

MAX_ARGUMENT_BYTES = 64_000


@dataclass
class ToolResult:
    """The outcome of one tool call: an output or a :class:`ToolError`, never a crash.

    Attributes:
        tool: The tool's name as called.
        arguments: The arguments as given (after JSON decoding).
        effect: The tool's effect tag, or None when the tool is unknown.
        output: The typed result on success.
        error: The error the model should see on failure.
        replayed: True when a keyed write returned the stored result of an earlier call.
        attempts: How many times the call was tried (retries on transient faults).
    """

    tool: str
    arguments: dict[str, Any]
    effect: Effect | None
    output: BaseModel | None = None
    error: ToolError | None = None
    replayed: bool = False
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.error is None

    def payload(self) -> Any:
        """Return the JSON-ready value the model is shown (the output, or the error)."""
        if self.error is not None:
            return self.error.to_dict()
        assert self.output is not None
        return self.output.model_dump(mode="json", exclude_none=True)

    def content(self) -> str:
        """Return the result as the JSON text a model receives as the tool message."""
        return json.dumps(self.payload(), ensure_ascii=False)


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "arguments"


def _validation_error(tool_name: str, error: ValidationError) -> ToolError:
    problems = error.errors(include_url=False)
    described = "; ".join(f"{_field_name(p['loc'])}: {p['msg']}" for p in problems[:5])
    first = _field_name(problems[0]["loc"]) if problems else None
    return ToolError(
        f"invalid arguments for {tool_name}: {described}", code="invalid_arguments", field=first
    )


class ToolRegistry:
    """The tools of one domain, by name.

    Args:
        domain: The domain's name (``"retail"``).
        tools: The tools; names must be unique.
        retry: How transient backend faults are retried.
    """

    def __init__(
        self, domain: str, tools: Iterable[Tool[Any, Any]], *, retry: RetryPolicy | None = None
    ) -> None:
        self.domain = domain
        self.retry = retry or RetryPolicy()
        self._tools: dict[str, Tool[Any, Any]] = {}
        self._schemas: list[dict[str, Any]] | None = None
        for item in tools:
            if item.name in self._tools:
                raise ToolConfigError(f"tool {item.name!r} is registered twice in {domain!r}")
            self._tools[item.name] = item

    def __iter__(self) -> Iterator[Tool[Any, Any]]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    @property
    def names(self) -> list[str]:
        """Tool names in registration order."""
        return list(self._tools)

    def get(self, name: str) -> Tool[Any, Any]:
        """Return the tool called ``name``.

        Raises:
            ToolError: No such tool (the model may have invented one).
        """
        try:
            return self._tools[name]
        except KeyError:
            raise ToolError(
                f"unknown tool {name!r}; available: {', '.join(self._tools)}", code="unknown_tool"
            ) from None

    def write_tools(self) -> list[str]:
        """Names of the tools whose effect is ``write``."""
        return [t.name for t in self if t.effect == "write"]

    def openai_schemas(self) -> list[dict[str, Any]]:
        """Every tool's OpenAI function-calling schema (built once; treat them as read-only)."""
        if self._schemas is None:
            self._schemas = [t.openai_schema() for t in self]
        return list(self._schemas)

    def fingerprint(self) -> str:
        """A hash of every tool's name, effect and schema (changes when a contract changes)."""
        material = [{"name": t.name, "effect": t.effect, "schema": t.openai_schema()} for t in self]
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]

    def validate(self, name: str, arguments: Mapping[str, Any] | str | None) -> BaseModel:
        """Return the validated input model for a call.

        Raises:
            ToolError: Unknown tool, undecodable JSON or invalid arguments (names the field).
        """
        item = self.get(name)
        try:
            model: BaseModel = item.input_model.model_validate(self._decode(name, arguments))
        except ValidationError as error:
            raise _validation_error(name, error) from None
        return model

    @staticmethod
    def _decode(name: str, arguments: Mapping[str, Any] | str | None) -> dict[str, Any]:
        if arguments is None:
            return {}
        if isinstance(arguments, str):
            if len(arguments.encode()) > MAX_ARGUMENT_BYTES:
                raise ToolError(f"arguments for {name} are too large", code="invalid_arguments")
            try:
                arguments = json.loads(arguments or "{}")
            except json.JSONDecodeError as error:
                raise ToolError(
                    f"arguments for {name} are not valid JSON: {error.msg}",
                    code="invalid_arguments",
                ) from None
            except RecursionError:
                raise ToolError(
                    f"arguments for {name} are nested too deeply", code="invalid_arguments"
                ) from None
        if not isinstance(arguments, Mapping):
            raise ToolError(f"arguments for {name} must be a JSON object", code="invalid_arguments")
        return dict(arguments)

    def invoke(
        self,
        name: str,
        arguments: Mapping[str, Any] | str | None,
        ctx: ToolContext,
    ) -> ToolResult:
        """Validate and run one tool call; every model-facing failure comes back as a value.

        Read tools, and write tools that carry an idempotency key, are retried on transient
        backend faults; an unkeyed write is tried once, since a retry could apply it twice.
        A read with a context already bound to a session runs in that session's transaction
        (several reads, one snapshot); retrying it is then up to the transaction's owner.

        Raises:
            BackendFailure: The backend stayed unavailable after the allowed retries.
        """
        try:
            decoded = self._decode(name, arguments)
        except ToolError as error:
            return ToolResult(tool=name, arguments={}, effect=None, error=error)
        result = ToolResult(tool=name, arguments=decoded, effect=None)
        try:
            item = self.get(name)
            result.effect = item.effect
            try:
                args = item.input_model.model_validate(decoded)
            except ValidationError as error:
                raise _validation_error(name, error) from None
            self._run(item, args, ctx, result)
        except ToolError as error:
            result.error = error
        return result

    def _run(
        self, item: Tool[Any, Any], args: BaseModel, ctx: ToolContext, result: ToolResult
    ) -> None:
        if item.effect == "read" and ctx.session is not None:
            result.output = item.fn(args, ctx)
            return
        backend = ctx.backend
        retry_safe = item.effect == "read" or ctx.idempotency_key is not None
        policy = self.retry if retry_safe else RetryPolicy(attempts=1)

        def attempt() -> None:
            if item.effect == "read":
                result.output = backend.read(lambda session: item.fn(args, ctx.bind(session)))
                return
            outcome = backend.write(
                lambda session: item.fn(args, ctx.bind(session)),
                tool=item.name,
                request=args.model_dump(mode="json"),
                idempotency_key=ctx.idempotency_key,
                output_model=item.output_model,
            )
            result.output, result.replayed = outcome.result, outcome.replayed

        def count_retry(attempt_number: int) -> None:
            result.attempts = attempt_number + 1

        policy.run(attempt, on_retry=count_retry)
