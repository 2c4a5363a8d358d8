"""Errors of the eval harness."""

from __future__ import annotations

__all__ = ["EvalConfigError", "EvalError"]


class EvalError(Exception):
    """Root of every error raised by the ``evals`` package."""


class EvalConfigError(EvalError):
    """Bad input to an eval: a missing file, a malformed task; the message names it."""
