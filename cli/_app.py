"""The root ``resolve`` command."""

from __future__ import annotations

import typer

from cli import _chat, _data, _demo, _eval, _eval_drift, _eval_run, _policy, _tools

app = typer.Typer(
    name="resolve",
    help="Autonomous resolution agents: typed tools, policy guardrails, review, evals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(_data.app, name="data")
app.add_typer(_eval.app, name="eval")
_ = (_eval_run, _eval_drift)  # register run/taubench/compare/runs/drift on the eval app
app.add_typer(_tools.app, name="tools")
app.add_typer(_policy.app, name="policy")
app.command()(_demo.demo)
app.command()(_chat.chat)


def main() -> None:
    """Entry point of the ``resolve`` console script."""
    app()
