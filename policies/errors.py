"""Errors of the policy layer."""

from __future__ import annotations

__all__ = ["PolicyError", "PolicyLoadError"]


class PolicyError(Exception):
    """Root of every error raised by the ``policies`` package."""


class PolicyLoadError(PolicyError):
    """A policy pack cannot be used as written.

    Bad YAML, a rule without effect, an unknown tool, a CEL condition that does not compile:
    the message names the pack, the rule and the position.
    """
