"""The tool framework: the decorator, schema derivation, and the registry's error values."""

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import MetaData

from tools import (
    SqlBackend,
    Tool,
    ToolConfigError,
    ToolContext,
    ToolError,
    ToolRegistry,
    ToolResult,
    tool,
)
from tools.retail import retail_registry

# --- a tiny domain defined here, so the framework is tested apart from retail ----------------


class Address(BaseModel):
    """A destination."""

    model_config = ConfigDict(extra="forbid")

    city: str = Field(description="The city.")
    zip: str = Field(description="The zip code.")


class GreetInput(BaseModel):
    """Arguments of greet."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Who to greet.")
    times: int = Field(default=1, ge=1, le=3, description="How many times to say it.")


class SendInput(BaseModel):
    """Arguments of send_card."""

    model_config = ConfigDict(extra="forbid")

    to: Address = Field(description="Where the card goes.")
    words: list[str] = Field(description="What the card says.")


class Greeting(BaseModel):
    """What greet returns."""

    text: str


@tool(effect="read")
def greet(args: GreetInput, ctx: ToolContext) -> Greeting:
    """Greet someone by name.

    Says it more than once when asked.

    Args:
        args: The validated arguments.
        ctx: The call's context.

    Returns:
        The greeting.
    """
    return Greeting(text=" ".join([f"hello {args.name}"] * args.times))


@tool(effect="write", name="send_card")
def send(args: SendInput, ctx: ToolContext) -> Greeting:
    """Send a card to an address."""
    return Greeting(text=f"{' '.join(args.words)} -> {args.to.city}")


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ToolContext]:
    backend = SqlBackend(tmp_path / "framework.db", MetaData())
    backend.create_schema()
    yield ToolContext(backend)
    backend.dispose()


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry("demo", [greet, send])


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


# --- schema derivation ------------------------------------------------------------------------


def test_schema_is_derived_from_the_model_and_docstring() -> None:
    assert greet.openai_schema() == {
        "type": "function",
        "function": {
            "name": "greet",
            "description": "Greet someone by name. Says it more than once when asked.",
            "parameters": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "Who to greet."},
                    "times": {
                        "type": "integer",
                        "description": "How many times to say it.",
                        "default": 1,
                        "minimum": 1,
                        "maximum": 3,
                    },
                },
                "required": ["name"],
                "additionalProperties": False,
            },
        },
    }
    assert greet.effect == "read"
    assert greet.input_model is GreetInput
    assert greet.output_model is Greeting


def test_nested_models_are_inlined_without_titles_or_refs() -> None:
    parameters = send.openai_schema()["function"]["parameters"]
    to = parameters["properties"]["to"]

    assert send.name == "send_card"
    assert send.effect == "write"
    assert to["type"] == "object"
    assert to["properties"] == {
        "city": {"type": "string", "description": "The city."},
        "zip": {"type": "string", "description": "The zip code."},
    }
    assert to["required"] == ["city", "zip"]
    assert to["additionalProperties"] is False
    assert parameters["properties"]["words"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "What the card says.",
    }
    assert parameters["required"] == ["to", "words"]
    keys = {key for key, _ in _walk(parameters)}
    assert not keys & {"title", "$ref", "$defs"}


def test_nested_model_field_keeps_its_own_description() -> None:
    to = send.openai_schema()["function"]["parameters"]["properties"]["to"]

    assert to["description"] == "Where the card goes."


def test_decorator_refuses_a_function_without_docstring() -> None:
    def undocumented(args: GreetInput, ctx: ToolContext) -> Greeting:
        return Greeting(text="")

    with pytest.raises(ToolConfigError, match="docstring"):
        tool(effect="read")(undocumented)


@pytest.mark.parametrize("role", ["argument", "return"])
def test_decorator_refuses_types_that_are_not_pydantic_models(role: str) -> None:
    if role == "argument":

        def bad(args: dict[str, str], ctx: ToolContext) -> Greeting:
            """Take a plain dict."""
            return Greeting(text="")

    else:

        def bad(args: GreetInput, ctx: ToolContext) -> str:  # type: ignore[misc]
            """Return a plain string."""
            return ""

    with pytest.raises(ToolConfigError, match=f"{role} type must be a pydantic model"):
        tool(effect="read")(bad)  # type: ignore[type-var]


def test_decorator_refuses_a_function_that_does_not_take_args_and_ctx() -> None:
    def one_parameter(args: GreetInput) -> Greeting:
        """Forget the context."""
        return Greeting(text="")

    with pytest.raises(ToolConfigError, match=r"\(args, ctx\)"):
        tool(effect="read")(one_parameter)  # type: ignore[arg-type]


# --- the retail tools' schemas ----------------------------------------------------------------

TAU_BENCH_ARGUMENTS = {
    "calculate": {"expression"},
    "cancel_pending_order": {"order_id", "reason"},
    "exchange_delivered_order_items": {"order_id", "item_ids", "new_item_ids", "payment_method_id"},
    "find_user_id_by_email": {"email"},
    "find_user_id_by_name_zip": {"first_name", "last_name", "zip"},
    "get_order_details": {"order_id"},
    "get_product_details": {"product_id"},
    "get_user_details": {"user_id"},
    "list_all_product_types": set(),
    "modify_pending_order_address": {
        "order_id",
        "address1",
        "address2",
        "city",
        "state",
        "country",
        "zip",
    },
    "modify_pending_order_items": {"order_id", "item_ids", "new_item_ids", "payment_method_id"},
    "modify_pending_order_payment": {"order_id", "payment_method_id"},
    "modify_user_address": {"user_id", "address1", "address2", "city", "state", "country", "zip"},
    "return_delivered_order_items": {"order_id", "item_ids", "payment_method_id"},
    "transfer_to_human_agents": {"summary"},
}
WRITE_TOOLS = {
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_payment",
    "modify_pending_order_items",
    "return_delivered_order_items",
    "exchange_delivered_order_items",
    "modify_user_address",
    "reroute_shipment",
}


def test_retail_registry_holds_the_tau_bench_tools_and_three_more() -> None:
    registry = retail_registry()

    assert len(registry) == 19
    assert set(registry.names) == set(TAU_BENCH_ARGUMENTS) | {
        "track_shipment",
        "reroute_shipment",
        "get_refund_status",
        "search_knowledge",
    }
    assert set(registry.write_tools()) == WRITE_TOOLS


@pytest.mark.parametrize("item", list(retail_registry()), ids=lambda t: t.name)
def test_every_retail_schema_is_a_closed_object_schema(item: Tool[Any, Any]) -> None:
    schema = item.openai_schema()
    function = schema["function"]
    parameters = function["parameters"]

    assert schema["type"] == "function"
    assert function["name"] == item.name
    assert function["description"]
    assert "Args:" not in function["description"]
    assert parameters["type"] == "object"
    assert isinstance(parameters["properties"], dict)
    assert parameters["additionalProperties"] is False
    assert set(parameters["required"]) <= set(parameters["properties"])
    for name, spec in parameters["properties"].items():
        assert spec.get("description"), f"{item.name}.{name} has no description"
        assert "type" in spec or "anyOf" in spec
    assert not {key for key, _ in _walk(parameters)} & {"title", "$ref", "$defs"}
    json.dumps(schema)  # serializable as sent to the API


@pytest.mark.parametrize("name", sorted(TAU_BENCH_ARGUMENTS))
def test_tau_bench_argument_names_are_exact_and_all_required(name: str) -> None:
    parameters = retail_registry().get(name).openai_schema()["function"]["parameters"]

    assert set(parameters["properties"]) == TAU_BENCH_ARGUMENTS[name]
    assert set(parameters["required"]) == TAU_BENCH_ARGUMENTS[name]


def test_cancel_reason_lists_the_allowed_values() -> None:
    parameters = retail_registry().get("cancel_pending_order").parameters_schema()

    assert parameters["properties"]["reason"]["enum"] == ["no longer needed", "ordered by mistake"]


def test_item_id_lists_are_arrays_of_strings() -> None:
    parameters = retail_registry().get("modify_pending_order_items").parameters_schema()

    for name in ("item_ids", "new_item_ids"):
        assert parameters["properties"][name]["type"] == "array"
        assert parameters["properties"][name]["items"]["type"] == "string"


# --- the registry -----------------------------------------------------------------------------


def test_registry_refuses_duplicate_names() -> None:
    clone = dataclasses.replace(greet, description="Another greeting.")

    with pytest.raises(ToolConfigError, match="'greet' is registered twice"):
        ToolRegistry("demo", [greet, clone])


def test_invoke_runs_the_tool(registry: ToolRegistry, ctx: ToolContext) -> None:
    result = registry.invoke("greet", {"name": "Ada", "times": 2}, ctx)

    assert result.ok
    assert result.effect == "read"
    assert result.payload() == {"text": "hello Ada hello Ada"}
    assert result.attempts == 1
    assert result.replayed is False


def test_invoke_accepts_json_text_arguments(registry: ToolRegistry, ctx: ToolContext) -> None:
    result = registry.invoke(
        "send_card", '{"to": {"city": "Oslo", "zip": "0150"}, "words": ["hi"]}', ctx
    )

    assert result.ok
    assert result.effect == "write"
    assert result.arguments == {"to": {"city": "Oslo", "zip": "0150"}, "words": ["hi"]}
    assert result.payload() == {"text": "hi -> Oslo"}


def test_unknown_tool_is_an_error_value(registry: ToolRegistry, ctx: ToolContext) -> None:
    result = registry.invoke("delete_everything", {}, ctx)

    assert not result.ok
    assert result.output is None
    assert result.effect is None
    assert result.error is not None
    assert result.error.code == "unknown_tool"
    assert "greet" in result.error.message and "send_card" in result.error.message


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('{"name": "Ada"', "not valid JSON"),
        ("name=Ada", "not valid JSON"),
        ('["Ada"]', "must be a JSON object"),
        ('"Ada"', "must be a JSON object"),
        ("null", "must be a JSON object"),
        (["Ada"], "must be a JSON object"),
        (42, "must be a JSON object"),
        ('{"name": "' + "x" * 70_000 + '"}', "too large"),
    ],
    ids=["truncated", "not-json", "array", "string", "null", "list", "int", "too-large"],
)
def test_undecodable_arguments_are_error_values(
    registry: ToolRegistry, ctx: ToolContext, arguments: Any, message: str
) -> None:
    result = registry.invoke("greet", arguments, ctx)

    assert result.error is not None
    assert result.error.code == "invalid_arguments"
    assert message in result.error.message
    assert result.output is None


@pytest.mark.parametrize(
    ("tool_name", "arguments", "field"),
    [
        ("greet", {}, "name"),
        ("greet", None, "name"),
        ("greet", "", "name"),
        ("greet", {"name": 7}, "name"),
        ("greet", {"name": "Ada", "times": "many"}, "times"),
        ("greet", {"name": "Ada", "times": 9}, "times"),
        ("greet", {"name": "Ada", "shout": True}, "shout"),
        ("send_card", {"to": {"city": "Oslo"}, "words": []}, "to.zip"),
        ("send_card", {"to": {"city": "Oslo", "zip": "1"}, "words": [1]}, "words.0"),
    ],
    ids=[
        "missing",
        "none",
        "empty-text",
        "wrong-type",
        "not-an-int",
        "out-of-range",
        "extra",
        "nested-missing",
        "list-element",
    ],
)
def test_invalid_arguments_name_the_field(
    registry: ToolRegistry, ctx: ToolContext, tool_name: str, arguments: Any, field: str
) -> None:
    result = registry.invoke(tool_name, arguments, ctx)

    assert result.error is not None
    assert result.error.code == "invalid_arguments"
    assert result.error.field == field
    assert field in result.error.message
    assert result.effect == registry.get(tool_name).effect


def test_tool_errors_raised_by_the_tool_come_back_as_values(ctx: ToolContext) -> None:
    @tool(effect="read")
    def refuse(args: GreetInput, ctx: ToolContext) -> Greeting:
        """Refuse politely."""
        raise ToolError(f"{args.name} is not here", code="not_here", field="name")

    result = ToolRegistry("demo", [refuse]).invoke("refuse", {"name": "Bob"}, ctx)

    assert result.error is not None
    assert (result.error.code, result.error.field) == ("not_here", "name")
    assert result.payload() == {"error": "Bob is not here", "code": "not_here", "field": "name"}


def test_validate_returns_the_input_model(registry: ToolRegistry) -> None:
    args = registry.validate("greet", '{"name": "Ada"}')

    assert args == GreetInput(name="Ada", times=1)


def test_validate_reports_invalid_arguments_as_a_tool_error(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError) as raised:
        registry.validate("greet", {"times": 2})

    assert raised.value.code == "invalid_arguments"
    assert raised.value.field == "name"


def test_deeply_nested_json_arguments_are_an_error_value(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    # Within the 64 kB limit, yet deeper than the JSON decoder's recursion limit.
    result = registry.invoke("greet", "[" * 50_000, ctx)

    assert result.error is not None
    assert result.error.code == "invalid_arguments"


def test_content_is_the_payload_as_json(registry: ToolRegistry, ctx: ToolContext) -> None:
    success = registry.invoke("greet", {"name": "Zoë"}, ctx)
    failure = registry.invoke("greet", {"name": "Zoë", "times": 0}, ctx)

    assert json.loads(success.content()) == {"text": "hello Zoë"}
    assert "Zoë" in success.content()  # not escaped: the model reads it as written
    assert json.loads(failure.content()) == failure.payload()
    assert set(failure.payload()) == {"error", "code", "field"}


def test_result_payload_leaves_out_unset_optional_fields() -> None:
    class Maybe(BaseModel):
        shown: str
        hidden: str | None = None

    result = ToolResult(tool="t", arguments={}, effect="read", output=Maybe(shown="x"))

    assert result.payload() == {"shown": "x"}
    assert json.loads(result.content()) == {"shown": "x"}


def test_fingerprint_is_stable_and_tracks_every_contract_change() -> None:
    base = ToolRegistry("demo", [greet, send]).fingerprint()
    changed = [
        dataclasses.replace(greet, description="Greet someone."),
        dataclasses.replace(greet, effect="write"),
        dataclasses.replace(greet, name="hello"),
        dataclasses.replace(greet, input_model=SendInput),  # type: ignore[arg-type]
    ]

    assert ToolRegistry("demo", [greet, send]).fingerprint() == base
    assert retail_registry().fingerprint() == retail_registry().fingerprint()
    fingerprints = {ToolRegistry("demo", [item, send]).fingerprint() for item in changed}
    assert base not in fingerprints
    assert len(fingerprints) == len(changed)
