"""``resolve eval drift``: has what customers ask shifted away from what the suite tests?"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cli._common import console, fail_cleanly, print_json_line
from cli._eval import app
from config import get_settings
from evals._drift import input_drift
from evals._inputs import read_utterances
from evals.errors import EvalConfigError

__all__: list[str] = []

SourceHelp = (
    "A scenario suite (YAML file or folder), a .txt/.jsonl file of utterances, or "
    "store[:DAYS] (first messages of real conversations in the framework store)."
)


def _store_reader(location: str) -> Any:
    from agents import FrameworkStore

    def read(since: datetime | None) -> list[str]:
        store = FrameworkStore(location)
        try:
            found: list[str] = store.first_customer_messages(since=since, exclude_prefix="eval:")
            return found
        finally:
            store.dispose()

    return read


def _understanding() -> tuple[Any, Any]:
    """The offline planner's intent classifier and the local sentence embedder."""
    try:
        from agents.planners.offline._embedder import shared_embedder
        from agents.planners.offline._intents import IntentClassifier
    except ImportError as error:
        raise EvalConfigError(
            f"input drift needs the offline planner's classifier: {error}"
        ) from None
    embedder = shared_embedder(get_settings().data_dir / "models")
    classifier = IntentClassifier(embedder, cache_dir=get_settings().data_dir / "models")
    return classifier, embedder


@app.command("drift")
def drift(
    reference: Annotated[str, typer.Option(help=f"Baseline utterances. {SourceHelp}")],
    current: Annotated[str, typer.Option(help=f"Utterances to test. {SourceHelp}")],
    alpha: Annotated[
        float,
        typer.Option(
            min=0.0001,
            max=0.5,
            help="Significance level of the verdict (each of the two tests runs at half of it).",
        ),
    ] = 0.05,
    permutations: Annotated[
        int, typer.Option(min=20, max=5000, help="Permutations of the embedding test.")
    ] = 200,
    store: Annotated[
        str | None, typer.Option(help="Framework store for store[:DAYS] sources.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object.")
    ] = False,
) -> None:
    """Input drift: intent mix (chi-square, Jensen-Shannon) and embedding shift (MMD).

    Exits 1 when either shift is significant; each test runs at ``--alpha`` / 2, so the
    verdict's false-alarm rate is at most ``--alpha``.
    """
    with fail_cleanly():
        reader = _store_reader(store or get_settings().store_location())
        texts_a = read_utterances(reference, store=reader)
        texts_b = read_utterances(current, store=reader)
        classifier, embedder = _understanding()
        result = input_drift(
            texts_a,
            texts_b,
            classify=lambda text: str(classifier.classify(text).intent),
            embed=lambda texts: embedder(texts),
            alpha=alpha,
            permutations=permutations,
        )
    if json_output:
        print_json_line(result.model_dump(mode="json"))
    else:
        intents = result.intents
        table = Table(title=f"intent mix: {len(texts_a)} reference vs {len(texts_b)} current")
        for column in ("intent", "reference", "current"):
            table.add_column(column)
        for intent in sorted(set(intents.shares_a) | set(intents.shares_b)):
            table.add_row(
                intent,
                f"{intents.shares_a.get(intent, 0.0):.1%}",
                f"{intents.shares_b.get(intent, 0.0):.1%}",
            )
        console.print(table)
        console.print(escape(result.verdict))
    if result.significant:
        raise typer.Exit(code=1)
