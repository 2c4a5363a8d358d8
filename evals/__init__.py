"""The eval harness: benchmark adapters now; scenarios, scorers, runs and drift to come."""

from evals.errors import EvalConfigError, EvalError

__all__ = ["EvalConfigError", "EvalError"]
