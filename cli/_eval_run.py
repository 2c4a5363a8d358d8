"""``resolve eval run | taubench | compare | runs``: scenario runs, their reports and drift."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli._common import console, err_console, fail_cleanly, print_json_line
from cli._eval import app
from config import get_settings
from evals._drift import compare_runs
from evals._harness import EvalOutcome, run_eval
from evals._parallel import default_workers
from evals._report import write_report
from evals._results import RunSummary, TrialResult
from evals._runs import RunStore
from evals._scenario import Scenario, load_scenarios
from evals.errors import EvalConfigError
from evals.taubench import Split, load_tasks, split_file
from evals.taubench._template import template_scenarios
from tools.retail import read_taubench_dir

__all__: list[str] = []

PlannerOption = Annotated[
    str,
    typer.Option(
        help="offline (embedded default), openai (OPENAI_BASE_URL...), oracle (the "
        "scenarios' expected actions: the harness's self-test) or handoff."
    ),
]
TrialsOption = Annotated[int, typer.Option(min=1, max=100, help="Trials per scenario (K).")]
ConcurrencyOption = Annotated[
    int,
    typer.Option(
        min=1, max=64, help="Conversations (so model calls) in flight at once, per worker."
    ),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        min=0, max=64, help="Worker processes (0 = one per 40 trials, at most one per CPU)."
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        help="Runs store (SQLite path or URL; default: RESOLVE_DATABASE_URL, else "
        "<data dir>/resolve.db).",
        show_default=False,
    ),
]
ReportOption = Annotated[
    Path | None, typer.Option(help="Write report.html, summary.json and junit.xml here.")
]
MinAccuracyOption = Annotated[
    float | None, typer.Option(min=0.0, max=1.0, help="Exit 1 when accuracy is below this.")
]
MaxViolationsOption = Annotated[
    int | None, typer.Option(min=0, help="Exit 1 when policy violations exceed this.")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="End with one JSON object: the run's headline figures.")
]


def _store(value: str | None) -> str:
    return value or get_settings().store_location()


def _execute(
    scenarios: list[Scenario],
    *,
    suite: str,
    planner: str,
    trials: int,
    concurrency: int,
    store: str,
    model: str | None,
    taubench_data: Path | None,
    reviewer: Literal["none", "expected"],
    quiet: bool,
    workers: int,
) -> EvalOutcome:
    total = len(scenarios) * trials
    if workers == 0:
        workers = min(default_workers(), max(1, total // 40))
    progress = Progress(
        TextColumn("[bold]eval[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[passed]} passed"),
        TimeElapsedColumn(),
        console=err_console,
        transient=quiet,
    )
    counts = {"passed": 0}
    with progress:
        bar = progress.add_task(f"{planner} on {suite}", total=total, passed=0)

        def advance(result: TrialResult) -> None:
            counts["passed"] += int(result.passed)
            progress.update(bar, advance=1, passed=counts["passed"])

        return asyncio.run(
            run_eval(
                scenarios,
                planner=planner,
                suite=suite,
                store=store,
                trials=trials,
                concurrency=concurrency,
                model=model,
                taubench_data=taubench_data,
                reviewer=reviewer,
                on_trial=advance,
                workers=workers,
            )
        )


def _show_failure(trial: TrialResult) -> None:
    failed = ", ".join(name for name, ok in trial.checks.items() if not ok) or trial.outcome
    console.rule(f"[red]{escape(trial.scenario_id)}[/] trial {trial.trial}: {escape(failed)}")
    if trial.error:
        console.print(f"[red]error:[/] {escape(trial.error.splitlines()[0])}")
    console.print(f"outcome {trial.outcome} (expected {trial.expected_outcome})")
    if trial.missing_facts:
        console.print(f"missing facts: {escape(', '.join(trial.missing_facts))}")
    if trial.forbidden_calls:
        console.print(f"forbidden calls: {escape(', '.join(trial.forbidden_calls))}")
    for violation in trial.violations:
        console.print(f"[bold red]violation:[/] {escape(violation)}")
    for message in trial.transcript:
        colour = {"customer": "cyan", "agent": "green"}.get(message["role"], "magenta")
        console.print(f"  [{colour}]{message['role']}:[/] {escape(message['text'])}")
    if trial.state_diff:
        console.print("  state diff:")
        console.print(escape(json.dumps(trial.state_diff, indent=2, default=str)[:4000]))


def _show_summary(summary: RunSummary) -> None:
    table = Table(title=f"run {summary.run_id}", show_header=False)
    low, high = summary.accuracy_ci
    rows: list[tuple[str, str]] = [
        ("scenarios x trials", f"{summary.scenarios} x {summary.trials}"),
        ("resolution accuracy", f"{summary.accuracy:.1%} (95% CI {low:.1%} - {high:.1%})"),
        ("pass^k", ", ".join(f"k={k}: {v:.3f}" for k, v in summary.pass_hat_k.items())),
        ("policy violations", str(summary.violations)),
        ("escalation precision / recall",
         f"{_share(summary.escalation_precision)} / {_share(summary.escalation_recall)}"),
        ("tool errors", str(summary.tool_errors)),
        ("median turns", f"{summary.median_turns:g}"),
        ("tokens / cost per resolved",
         f"{summary.tokens_per_resolved:.0f} / ${summary.cost_per_resolved:.4f}"),
        ("trial latency p50", f"{summary.latency_p50_ms:.0f} ms"),
        ("planner", str(summary.fingerprint.get("planner"))),
        ("policy", str(summary.fingerprint.get("policy_pack"))),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    tags = Table(title="accuracy per tag")
    for column in ("tag", "trials", "passed", "accuracy"):
        tags.add_column(column)
    for tag, score in sorted(summary.per_tag.items()):
        tags.add_row(tag, str(score.trials), str(score.passed), f"{score.accuracy:.1%}")
    if summary.per_tag:
        console.print(tags)


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _finish(
    outcome: EvalOutcome,
    *,
    json_output: bool,
    report: Path | None,
    min_accuracy: float | None,
    max_violations: int | None,
    show_failures: int,
) -> None:
    summary = outcome.summary
    if not json_output:
        for trial in [t for t in outcome.trials if not t.passed][:show_failures]:
            _show_failure(trial)
        _show_summary(summary)
    if report is not None:
        files = write_report(report, summary, outcome.trials)
        err_console.print(f"report: {files.html} ({files.json.name}, {files.junit.name})")
    gates: list[str] = []
    if min_accuracy is not None and summary.accuracy < min_accuracy:
        gates.append(f"accuracy {summary.accuracy:.1%} is below --min-accuracy {min_accuracy:.1%}")
    if max_violations is not None and summary.violations > max_violations:
        gates.append(f"{summary.violations} violations exceed --max-violations {max_violations}")
    for gate in gates:
        err_console.print(f"[bold red]gate failed:[/] {gate}")
    if json_output:
        print_json_line(summary.headline())
    if gates:
        raise typer.Exit(code=1)


@dataclass(frozen=True)
class _RunSettings:
    """The options ``run`` and ``taubench`` share: how to run, where to store, what to show."""

    planner: str
    trials: int
    concurrency: int
    workers: int
    model: str | None
    store: str | None
    report: Path | None
    min_accuracy: float | None
    max_violations: int | None
    show_failures: int
    json_output: bool

    def execute(
        self,
        scenarios: list[Scenario],
        *,
        suite: str,
        taubench_data: Path | None,
        reviewer: Literal["none", "expected"],
    ) -> EvalOutcome:
        """Run the scenarios with a progress bar (see :func:`_execute`)."""
        return _execute(
            scenarios,
            suite=suite,
            planner=self.planner,
            trials=self.trials,
            concurrency=self.concurrency,
            store=_store(self.store),
            model=self.model,
            taubench_data=taubench_data,
            reviewer=reviewer,
            quiet=self.json_output,
            workers=self.workers,
        )

    def finish(self, outcome: EvalOutcome) -> None:
        """Show, report and gate the finished run (see :func:`_finish`)."""
        _finish(
            outcome,
            json_output=self.json_output,
            report=self.report,
            min_accuracy=self.min_accuracy,
            max_violations=self.max_violations,
            show_failures=self.show_failures,
        )


@app.command("run")
def run(
    suites: Annotated[list[Path], typer.Argument(help="Scenario YAML files or folders.")],
    planner: PlannerOption = "offline",
    trials: TrialsOption = 1,
    concurrency: ConcurrencyOption = 4,
    workers: WorkersOption = 0,
    taubench_data: Annotated[
        Path | None, typer.Option(help="tau-bench retail folder, for seed: taubench scenarios.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model for --planner openai.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="Only scenarios with this tag (repeatable).")
    ] = None,
    exclude_tag: Annotated[
        list[str] | None, typer.Option(help="Leave out scenarios with this tag (repeatable).")
    ] = None,
    store: StoreOption = None,
    report: ReportOption = None,
    min_accuracy: MinAccuracyOption = None,
    max_violations: MaxViolationsOption = None,
    show_failures: Annotated[int, typer.Option(help="Failed trials to print in full.")] = 5,
    json_output: JsonOption = False,
) -> None:
    """Run eval scenarios K times each with a planner, score the end states, store the run."""
    settings = _RunSettings(
        planner=planner, trials=trials, concurrency=concurrency, workers=workers, model=model,
        store=store, report=report, min_accuracy=min_accuracy, max_violations=max_violations,
        show_failures=show_failures, json_output=json_output,
    )  # fmt: skip
    with fail_cleanly():
        scenarios = load_scenarios(suites)
        if tag:
            scenarios = [s for s in scenarios if set(tag) & set(s.tags)]
        if exclude_tag:
            scenarios = [s for s in scenarios if not set(exclude_tag) & set(s.tags)]
        if not scenarios:
            raise EvalConfigError("no scenarios selected")
        outcome = settings.execute(
            scenarios,
            suite=" ".join(str(s) for s in suites),
            taubench_data=taubench_data,
            reviewer="none",
        )
    settings.finish(outcome)


@app.command("taubench")
def taubench(
    data: Annotated[Path, typer.Option(help="tau-bench retail folder (data and task files).")],
    split: Annotated[Split, typer.Option(help="Which task split.")] = "test",
    user: Annotated[
        str, typer.Option(help="template (deterministic persona from the ground truth) or llm.")
    ] = "template",
    planner: PlannerOption = "offline",
    trials: TrialsOption = 1,
    concurrency: ConcurrencyOption = 4,
    workers: WorkersOption = 0,
    model: Annotated[str | None, typer.Option(help="Model for the openai planner/user.")] = None,
    task: Annotated[
        list[int] | None, typer.Option(help="Only these task indices (repeatable).")
    ] = None,
    store: StoreOption = None,
    report: ReportOption = None,
    min_accuracy: MinAccuracyOption = None,
    max_violations: MaxViolationsOption = None,
    show_failures: Annotated[int, typer.Option(help="Failed trials to print in full.")] = 5,
    json_output: JsonOption = False,
) -> None:
    """Run the tau-bench retail tasks of a split as scenarios (a reviewer approves the GT)."""
    settings = _RunSettings(
        planner=planner, trials=trials, concurrency=concurrency, workers=workers, model=model,
        store=store, report=report, min_accuracy=min_accuracy, max_violations=max_violations,
        show_failures=show_failures, json_output=json_output,
    )  # fmt: skip
    with fail_cleanly():
        if user not in ("template", "llm"):
            raise EvalConfigError("--user is template or llm")
        task_file = split_file(data, split)
        if not task_file.exists():
            raise EvalConfigError(f"no tasks file at {task_file}")
        scenarios = template_scenarios(load_tasks(task_file), read_taubench_dir(data), split)
        if task:
            wanted = {f"taubench-{split}-{i}" for i in task}
            scenarios = [s for s in scenarios if s.id in wanted]
        if user == "llm":
            scenarios = [
                s.model_copy(update={"user": s.user.model_copy(update={"kind": "llm"})})
                for s in scenarios
            ]
        outcome = settings.execute(
            scenarios, suite=f"taubench:{split}", taubench_data=data, reviewer="expected"
        )
    settings.finish(outcome)


@app.command("compare")
def compare(
    baseline: Annotated[str, typer.Argument(help="Baseline run id (or prefix, 'previous').")],
    current: Annotated[str, typer.Argument(help="Current run id (or prefix, 'latest').")],
    alpha: Annotated[float, typer.Option(min=0.0001, max=0.5, help="Significance level.")] = 0.05,
    store: StoreOption = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the comparison as one JSON object.")
    ] = False,
) -> None:
    """Compare two stored runs: metric deltas with significance, flips, flakiness, fingerprint.

    Exits 1 when a change is significant at ``--alpha``.
    """
    with fail_cleanly():
        runs = RunStore(_store(store))
        try:
            base_summary, base_trials = runs.load(baseline)
            curr_summary, curr_trials = runs.load(current)
        finally:
            runs.dispose()
        result = compare_runs(
            base_trials,
            curr_trials,
            baseline_fingerprint=base_summary.fingerprint,
            current_fingerprint=curr_summary.fingerprint,
            alpha=alpha,
        )
    if json_output:
        payload: dict[str, Any] = {
            "baseline": base_summary.run_id,
            "current": curr_summary.run_id,
            **result.model_dump(mode="json"),
        }
        print_json_line(payload)
    else:
        table = Table(title=f"{base_summary.run_id} -> {curr_summary.run_id}")
        for column in ("metric", "baseline", "current", "delta", "p", "test", ""):
            table.add_column(column)
        for name, change in [*result.metrics.items(), *(
                (f"tag {t}", c) for t, c in sorted(result.per_tag.items()))]:  # fmt: skip
            table.add_row(
                name, f"{change.baseline:.1%}", f"{change.current:.1%}", f"{change.delta:+.1%}",
                f"{change.p_value:.3g}", change.method,
                "[bold red]significant[/]" if change.significant else "",
            )  # fmt: skip
        console.print(table)
        for key, values in result.fingerprint_changes.items():
            console.print(f"changed {key}: {values['baseline']!r} -> {values['current']!r}")
        console.print(escape(result.verdict))
    if result.significant:
        raise typer.Exit(code=1)


@app.command("runs")
def runs_command(
    limit: Annotated[int, typer.Option(min=1, help="How many runs to list.")] = 20,
    store: StoreOption = None,
) -> None:
    """List the stored eval runs, newest first."""
    with fail_cleanly():
        runs = RunStore(_store(store))
        try:
            found = runs.runs(limit)
        finally:
            runs.dispose()
    table = Table(title="eval runs")
    for column in ("run", "created", "suite", "planner", "scenarios x trials", "accuracy"):
        table.add_column(column)
    for summary in found:
        table.add_row(
            summary.run_id, f"{summary.created_at:%Y-%m-%d %H:%M}", summary.suite[:40],
            str(summary.fingerprint.get("planner")), f"{summary.scenarios} x {summary.trials}",
            f"{summary.accuracy:.1%}",
        )  # fmt: skip
    console.print(table)
