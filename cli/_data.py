"""``resolve data``: build, inspect and export the retail database."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli._common import DbOption, console, fail_cleanly, print_json_line, retail_db
from tools.retail import (
    export_taubench,
    load_taubench,
    open_retail_backend,
    read_taubench_dir,
    retail_counts,
    seed_demo,
    write_taubench_dir,
)

app = typer.Typer(
    help="Build, inspect and export the retail business database.", no_args_is_help=True
)


@app.command()
def seed(
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 7,
    customers: Annotated[int, typer.Option(min=1, help="How many customers.")] = 500,
    orders: Annotated[int, typer.Option(min=0, help="How many orders.")] = 1000,
    db: DbOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Fill the database with generated demo data (replaces what is there)."""
    with fail_cleanly():
        location = retail_db(db)
        started = time.perf_counter()
        backend = open_retail_backend(location)
        summary = seed_demo(backend, seed=seed, customers=customers, orders=orders)
        backend.dispose()
        elapsed = time.perf_counter() - started
    if json_output:
        print_json_line({"db": location, "seconds": round(elapsed, 3), **summary.__dict__})
        return
    table = Table(title=f"Demo data in {location} ({elapsed:.1f} s, seed {seed})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, count in (
        ("customers", summary.users),
        ("products", summary.products),
        ("variants", summary.variants),
        ("gift cards", summary.gift_cards),
        ("orders", summary.orders),
    ):
        table.add_row(label, str(count))
    for status, count in sorted(summary.orders_by_status.items()):
        table.add_row(f"  {status}", str(count))
    console.print(table)


@app.command("load-taubench")
def load_taubench_command(
    path: Annotated[Path, typer.Argument(help="Folder with tau-bench users/orders/products.json.")],
    db: DbOption = None,
) -> None:
    """Build the database from the public tau-bench retail JSON (replaces what is there)."""
    with fail_cleanly():
        location = retail_db(db)
        data = read_taubench_dir(path)
        backend = open_retail_backend(location)
        load_taubench(backend, data)
        counts = retail_counts(backend)
        backend.dispose()
    console.print(
        f"loaded {counts['users']} users, {counts['products']} products and "
        f"{counts['orders']} orders from {path} into {location}"
    )


@app.command("export-taubench")
def export_taubench_command(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write users/orders/products.json.")],
    db: DbOption = None,
) -> None:
    """Write the database's state in the tau-bench JSON layout."""
    with fail_cleanly():
        backend = open_retail_backend(retail_db(db), create=False)
        written = write_taubench_dir(export_taubench(backend), out_dir)
        backend.dispose()
    for path in written:
        console.print(f"wrote {path}")


@app.command()
def info(db: DbOption = None) -> None:
    """Show what the database holds."""
    with fail_cleanly():
        location = retail_db(db)
        backend = open_retail_backend(location)
        counts = retail_counts(backend)
        backend.dispose()
    console.print(
        f"{location}: " + ", ".join(f"{n} {what}" for what, n in counts.items()), soft_wrap=True
    )
