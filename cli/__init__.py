"""The ``resolve`` command: thin wiring over the packages (Typer + Rich)."""

from cli._app import app, main

__all__ = ["app", "main"]
