"""``resolve eval``: benchmark replays (scenario runs and drift arrive with the eval harness)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli._common import console, err_console, fail_cleanly, print_json_line
from evals.errors import EvalConfigError
from evals.taubench import Split, TaskOutcome, TaubenchReplayer, load_tasks, split_file
from policies import load_pack
from tools.retail import retail_registry

app = typer.Typer(help="Evaluate: scenario runs, tau-bench, reports, drift.", no_args_is_help=True)


@app.command("replay-taubench")
def replay_taubench(
    data: Annotated[
        Path, typer.Option(help="tau-bench retail folder (users/orders/products/tasks JSON).")
    ],
    split: Annotated[Split, typer.Option(help="Which task split to replay.")] = "test",
    tasks: Annotated[
        Path | None, typer.Option(help="A tasks JSON file to replay instead of the split's.")
    ] = None,
    export_states: Annotated[
        Path | None,
        typer.Option(help="Write each task's changed records to DIR/<split>-<index>.json."),
    ] = None,
    db_base: Annotated[
        str | None,
        typer.Option(help="Where task databases live: a folder, or a postgresql:// server URL."),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            help="Evaluate every action with this policy pack (name or YAML) and report the "
            "actions it would not allow."
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="End with one JSON object summarising the replay.")
    ] = False,
) -> None:
    """Replay every task's ground-truth actions on a fresh copy of the tau-bench data."""
    with fail_cleanly():
        task_file = tasks or split_file(data, split)
        if not task_file.exists():
            raise EvalConfigError(f"no tasks file at {task_file}: pass --tasks FILE or --split")
        task_list = load_tasks(task_file)
        pack = None
        if policy is not None:
            pack = load_pack(policy, known_tools={t.name: t.effect for t in retail_registry()})
        progress = Progress(
            TextColumn("[bold]replaying[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=json_output,
        )
        with TaubenchReplayer(data, db_base=db_base, policy=pack) as replayer, progress:
            bar = progress.add_task(f"{split} ({task_file.name})", total=len(task_list))

            def advance(_: TaskOutcome) -> None:
                progress.advance(bar)

            report = replayer.replay(
                task_list, split=split, export_states=export_states, on_task=advance
            )
    failed_tasks = sorted({error.index for error in report.errors})
    if json_output:
        print_json_line(report.model_dump(exclude_none=True))
        return
    table = Table(title=f"tool errors in the ground truth ({len(report.errors)})")
    for column in ("task", "step", "action", "code", "error"):
        table.add_column(column)
    for error in report.errors:
        table.add_row(str(error.index), str(error.step), error.action, error.code, error.error)
    if report.errors:
        console.print(table)
    console.print(
        f"[bold]{report.replayed}/{report.tasks}[/] tasks replayed; "
        f"{len(failed_tasks)} with a tool error, {len(report.errors)} errors in all"
    )
    if report.denied is not None:
        console.print(
            f"policy {policy}: {len(report.denied)} ground-truth actions not allowed, "
            f"{len(report.approvals or [])} sent for approval (refunds above the threshold)"
        )
        for hold in report.denied:
            console.print(
                f"  task {hold.index} step {hold.step} {hold.action}: {hold.effect} "
                f"({', '.join(hold.rules)})"
            )
    if export_states is not None:
        console.print(f"changed records written to {export_states}")
