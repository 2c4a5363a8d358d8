"""``resolve policy``: test, explain and lint policy packs."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli._common import DbOption, console, fail_cleanly, print_json_line, retail_db
from policies import (
    CompiledPack,
    ConversationFacts,
    FactLoader,
    PolicyEngine,
    PolicyLoadError,
    ProposedCall,
    load_pack,
)
from policies._authoring import lint_pack, run_pack_cases
from tools import ToolContext
from tools.retail import open_retail_backend, retail_registry

app = typer.Typer(help="Test, explain and lint policy packs.", no_args_is_help=True)

PackArgument = Annotated[
    str, typer.Argument(help="A pack name shipped with the framework, or a YAML file.")
]


def _load(pack: str) -> tuple[CompiledPack, PolicyEngine, dict[str, str]]:
    effects: dict[str, str] = {t.name: t.effect for t in retail_registry()}
    compiled = load_pack(pack, known_tools=effects)
    return compiled, PolicyEngine(compiled, effects), effects


@app.command("test")
def test_pack(
    pack: PackArgument = "retail",
    cases: Annotated[
        Path | None, typer.Option(help="Test file (default: <pack>.tests.yaml beside the pack).")
    ] = None,
) -> None:
    """Run a pack's own test cases; exit 1 when one fails."""
    with fail_cleanly():
        compiled, engine, _ = _load(pack)
        results = run_pack_cases(compiled, engine, cases)
    failed = [r for r in results if not r.passed]
    for result in results:
        mark = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
        detail = f" - {result.problem}" if result.problem else ""
        console.print(
            f"{mark} {result.case.name}: {result.decision.effect} "
            f"[dim]{', '.join(result.decision.rule_ids)}[/]{detail}"
        )
    console.print(f"[bold]{len(results) - len(failed)} passed, {len(failed)} failed[/]")
    if failed:
        raise typer.Exit(code=1)


def _explain_one(
    engine: PolicyEngine,
    compiled: CompiledPack,
    loader: FactLoader,
    tool: str,
    args: dict[str, Any],
    customer: str | None,
    confirmed: bool,
) -> dict[str, Any]:
    call = ProposedCall(tool=tool, args=args)
    conversation = ConversationFacts(
        id="explain", turn=1, confirmed=confirmed, customers_seen=[customer] if customer else []
    )
    context = loader.build(
        call,
        customer_id=customer,
        conversation=conversation,
        params=compiled.pack.params,
        now=datetime.now(UTC),
    )
    return engine.evaluate(call, context).summary()


def _parse_args(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyLoadError(f"--args is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise PolicyLoadError("--args must be a JSON object")
    return value


@app.command()
def explain(
    tool: Annotated[str | None, typer.Option(help="The proposed tool.")] = None,
    args: Annotated[str, typer.Option(help="The proposed arguments, a JSON object.")] = "{}",
    customer: Annotated[
        str | None, typer.Option(help="The verified customer's user id (none: not verified).")
    ] = None,
    confirmed: Annotated[bool, typer.Option(help="The customer confirmed this action.")] = False,
    pack: Annotated[str, typer.Option(help="Pack name or YAML file.")] = "retail",
    batch: Annotated[
        Path | None,
        typer.Option(help='JSON lines {"tool", "args", "customer", "confirmed"}; "-" for stdin.'),
    ] = None,
    db: DbOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show the decision on a proposed call, with the rules that fired, against a database."""
    with fail_cleanly():
        compiled, engine, _ = _load(pack)
        backend = open_retail_backend(retail_db(db))
        loader = FactLoader(retail_registry(), ToolContext(backend=backend))
        try:
            if batch is not None:
                stream = sys.stdin if str(batch) == "-" else batch.open(encoding="utf-8")
                for number, line in enumerate(stream, start=1):
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                        summary = _explain_one(
                            engine,
                            compiled,
                            loader,
                            str(item["tool"]),
                            dict(item.get("args") or {}),
                            item.get("customer"),
                            bool(item.get("confirmed", False)),
                        )
                    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                        summary = {"error": f"line {number}: {error!r}"}
                    print_json_line(summary)
                return
            if tool is None:
                raise PolicyLoadError("give --tool NAME (or --batch FILE)")
            summary = _explain_one(
                engine, compiled, loader, tool, _parse_args(args), customer, confirmed
            )
        finally:
            backend.dispose()
    if json_output:
        print_json_line(summary)
        return
    colour = {"allow": "green", "deny": "red"}.get(summary["effect"], "yellow")
    console.print(f"[bold {colour}]{summary['effect']}[/] {tool} ({compiled.label})")
    for rule in summary["rules"]:
        console.print(f"  rule [bold]{rule}[/]")
    for message in summary["messages"]:
        console.print(f"  [italic]{message}[/]")


@app.command()
def lint(pack: PackArgument = "retail") -> None:
    """Report unknown tools, write tools no rule allows, and unreachable rules."""
    with fail_cleanly():
        effects = {t.name: t.effect for t in retail_registry()}
        compiled = load_pack(pack)
        findings = lint_pack(compiled, effects)
    if not findings:
        console.print(f"[green]{compiled.label}: no findings[/]")
        return
    table = Table(title=f"{compiled.label}: {len(findings)} findings")
    for column in ("kind", "rule", "finding"):
        table.add_column(column)
    for finding in findings:
        table.add_row(finding.kind, finding.rule or "-", finding.message)
    console.print(table)
    raise typer.Exit(code=1)
