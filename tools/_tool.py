"""A tool: a typed function with an effect tag, whose schema comes from its input model."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, get_type_hints

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from tools._context import ToolContext
from tools.errors import ToolConfigError

__all__ = ["Effect", "Tool", "tool"]

Effect = Literal["read", "write"]
"""``read`` tools never change the business system; ``write`` tools do (default-deny)."""

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)

_SECTION_HEADERS = ("Args:", "Arguments:", "Returns:", "Raises:", "Examples:", "Note:")


class _NoTitles(GenerateJsonSchema):
    """JSON schema without the auto-generated titles (noise in a tool schema)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _description(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn)
    if not doc:
        raise ToolConfigError(f"tool {fn.__name__!r} needs a docstring: it is the description")
    lines: list[str] = []
    for line in doc.splitlines():
        if line.strip() in _SECTION_HEADERS:
            break
        lines.append(line)
    return " ".join(" ".join(lines).split())


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = dict(defs[ref.removeprefix("#/$defs/")])
            target.pop("title", None)
            # The field's own keys (its description) win over the referenced model's.
            target.update({key: value for key, value in node.items() if key != "$ref"})
            return _inline_refs(target, defs)
        return {key: _inline_refs(value, defs) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    return node


@dataclass(frozen=True)
class Tool(Generic[In, Out]):
    """A typed tool adapter.

    Attributes:
        name: The name the model calls it by.
        description: What it does, from the function's docstring.
        effect: ``read`` or ``write``.
        input_model: The pydantic model of its arguments (the schema's source).
        output_model: The pydantic model of its result.
        fn: The implementation, called with validated arguments and a bound context.
    """

    name: str
    description: str
    effect: Effect
    input_model: type[In]
    output_model: type[Out]
    fn: Callable[[In, ToolContext], Out]

    def parameters_schema(self) -> dict[str, Any]:
        """Return the JSON schema of the arguments, derived from the input model."""
        schema = self.input_model.model_json_schema(schema_generator=_NoTitles)
        schema.pop("title", None)
        schema.pop("description", None)
        inlined: dict[str, Any] = _inline_refs(schema, schema.get("$defs", {}))
        inlined.setdefault("properties", {})
        inlined.setdefault("required", [])
        return inlined

    def openai_schema(self) -> dict[str, Any]:
        """Return the OpenAI function-calling schema (``{"type": "function", ...}``)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters_schema(),
            },
        }


def tool(
    *, effect: Effect, name: str | None = None
) -> Callable[[Callable[[In, ToolContext], Out]], Tool[In, Out]]:
    """Turn a function ``(args: InputModel, ctx: ToolContext) -> OutputModel`` into a Tool.

    The input and output models come from the type hints, the description from the docstring.

    Args:
        effect: ``read`` or ``write``.
        name: The tool's name; defaults to the function's name.

    Raises:
        ToolConfigError: The function lacks a docstring or pydantic-typed argument/return.
    """

    def decorate(fn: Callable[[In, ToolContext], Out]) -> Tool[In, Out]:
        hints = get_type_hints(fn)
        params = list(inspect.signature(fn).parameters)
        if len(params) != 2:
            raise ToolConfigError(f"tool {fn.__name__!r} must take (args, ctx)")
        input_model = hints.get(params[0])
        output_model = hints.get("return")
        for role, model in (("argument", input_model), ("return", output_model)):
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise ToolConfigError(
                    f"tool {fn.__name__!r}: the {role} type must be a pydantic model"
                )
        return Tool(
            name=name or fn.__name__,
            description=_description(fn),
            effect=effect,
            input_model=input_model,  # type: ignore[arg-type]
            output_model=output_model,  # type: ignore[arg-type]
            fn=fn,
        )

    return decorate
