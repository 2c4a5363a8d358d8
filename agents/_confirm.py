"""Reading a customer's answer to a confirmation: an explicit yes, or anything else."""

from __future__ import annotations

import re

__all__ = ["is_explicit_yes"]

_YES = re.compile(
    r"^\s*(yes|yeah|yep|yup|y|sure|ok|okay|confirm(ed)?|correct|go ahead|please do|do it|"
    r"that'?s (right|correct|fine)|sounds good|absolutely|proceed|affirmative)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(no|not|don'?t|do not|wait|stop|cancel that|hold on|never ?mind|changed my mind|"
    r"instead|actually|but|change|however|except)\b",
    re.IGNORECASE,
)


def is_explicit_yes(text: str) -> bool:
    """True only for an explicit yes without a "but", a "no" or a change of mind."""
    return bool(_YES.search(text)) and not _NEGATION.search(text)
