"""``resolve tools``: list the tools, show a schema, call one by hand."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cli._common import DbOption, console, fail_cleanly, print_json_line, retail_db
from tools import ToolContext
from tools.retail import open_retail_backend, retail_registry

app = typer.Typer(help="Inspect and call the typed tool adapters.", no_args_is_help=True)


@app.command("list")
def list_tools(
    json_output: Annotated[bool, typer.Option("--json", help="Print the OpenAI schemas.")] = False,
) -> None:
    """List the retail tools with their effect and description."""
    registry = retail_registry()
    if json_output:
        print_json_line(registry.openai_schemas())
        return
    table = Table(title=f"retail tools ({len(registry)}), fingerprint {registry.fingerprint()}")
    table.add_column("tool")
    table.add_column("effect")
    table.add_column("description")
    for item in registry:
        colour = "red" if item.effect == "write" else "green"
        table.add_row(item.name, f"[{colour}]{item.effect}[/]", item.description)
    console.print(table)


@app.command()
def schema(name: Annotated[str, typer.Argument(help="Tool name.")]) -> None:
    """Print one tool's OpenAI function-calling schema."""
    with fail_cleanly():
        console.print_json(json.dumps(retail_registry().get(name).openai_schema()))


@app.command()
def call(
    name: Annotated[str, typer.Argument(help="Tool name.")],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    key: Annotated[
        str | None, typer.Option(help="Idempotency key (writes with the same key apply once).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Call one tool against the database (no policy check: an operator's tool)."""
    with fail_cleanly():
        backend = open_retail_backend(retail_db(db))
        result = retail_registry().invoke(
            name, args, ToolContext(backend=backend, idempotency_key=key)
        )
        backend.dispose()
    console.print_json(result.content())
    if result.replayed:
        console.print("[yellow]replayed: this key was applied before; nothing changed[/]")
    if not result.ok:
        raise typer.Exit(code=1)
