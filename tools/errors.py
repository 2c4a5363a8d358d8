"""Errors of the tool layer, in the three families the framework keeps apart.

* :class:`ToolError` - the model (or the customer) should see it and can recover: "order
  #W123 is not pending". Tools return it as a value through the registry; it never crashes a run.
* :class:`ToolConfigError` - the developer embedding the framework misused it; the message says
  how to fix it.
* :class:`BackendFailure` - the run itself failed (the business system is unreachable after
  retries). :class:`TransientBackendError` is the retryable kind a backend raises.
"""

from __future__ import annotations

__all__ = [
    "BackendFailure",
    "ResolveToolsError",
    "ToolConfigError",
    "ToolError",
    "TransientBackendError",
]


class ResolveToolsError(Exception):
    """Root of every error raised by the ``tools`` package."""


class ToolError(ResolveToolsError):
    """An error the model should see: the call was understood but cannot be done.

    Attributes:
        message: Human-readable explanation, phrased for the model and the customer.
        code: A stable machine-readable kind ("order_not_found", "not_pending", ...) that
            tests, evals and policies can match on without parsing the message.
        field: The argument that was wrong, when the error is about one argument.
    """

    def __init__(self, message: str, *, code: str = "invalid_request", field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        """Return the error as a JSON-ready mapping (what the model is shown)."""
        return {"error": self.message, "code": self.code, "field": self.field}

    def __repr__(self) -> str:
        return f"ToolError({self.message!r}, code={self.code!r})"


class ToolConfigError(ResolveToolsError):
    """The framework was wired up wrongly; the message names the fix."""


class BackendFailure(ResolveToolsError):
    """The backend could not complete a call: a run failure, not the model's fault."""


class TransientBackendError(BackendFailure):
    """A fault that may go away on retry (a locked database, a dropped connection)."""
