"""Personal data recognizers and the masking used for logs and audit records.

The recognizers are written here (regular expressions plus a Luhn check) rather than taken from
Microsoft presidio. Presidio was measured first, with its pattern recognizers used directly and
no NLP engine:

* ``pip install presidio-analyzer presidio-anonymizer`` pulls spaCy, thinc, numpy,
  cryptography and tldextract: 55 packages, about 384 MB, 16 s to install;
* importing ``presidio_analyzer.predefined_recognizers`` imports spaCy (0.9 s);
* its ``EmailRecognizer`` validates domains with tldextract, which tries to download the Public
  Suffix List on first use (publicsuffix.org, then GitHub) and writes a cache under ``~/.cache``
  before falling back to its bundled copy - a network attempt at run time;
* its ``PhoneRecognizer`` flags 590 of the 1,212 item, product and tracking ids of the tau-bench
  retail orders as phone numbers, so the "formatted like a phone number" rule below would be
  needed on top of it anyway.

Four patterns and a ten-line checksum do not justify that footprint. The rules:

* a card number is 13-19 digits, contiguous or in groups of 3-8 separated by spaces or dashes,
  that pass the Luhn check;
* a phone number must look like one - separators, parentheses or a leading ``+`` - so a bare
  10-digit item id is never taken for a phone number;
* an SSN is ``AAA-GG-SSSS`` (dashes or spaces) with a valid area, group and serial.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EMAIL_PATTERN",
    "PHONE_PATTERN",
    "SSN_PATTERN",
    "CardMatch",
    "find_card_numbers",
    "luhn_valid",
    "mask_card_numbers",
    "mask_pii",
]

_LOCAL_CHAR = r"[\w!#$%&'*+/=?^`{|}~-]"
EMAIL_PATTERN = re.compile(
    # The local part is bounded (64 characters, as RFC 5321 allows) so that a long run of
    # "a.b.a.b..." costs linear time, not quadratic.
    rf"{_LOCAL_CHAR}(?:[\w!#$%&'*+/=?^`{{|}}~.-]{{0,62}}{_LOCAL_CHAR})?"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_](?:[\w-]{0,61}[^\W_])?"
)
"""An email address (the dot-atom form; Unicode letters allowed, as in internationalised mail)."""

PHONE_PATTERN = re.compile(
    r"(?<![\w+])(?:"
    # +1 415 555 2671, +1 (415) 555-2671, +14155552671
    r"\+1[ .-]?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]?\d{4}"
    # (415) 555-2671, 1 (415) 555 2671
    r"|(?:1[ .-]?)?\(\d{3}\)[ .-]?\d{3}[ .-]?\d{4}"
    # 415-555-2671, 415.555.2671, 415 555 2671, 1-415-555-2671: one separator used throughout
    r"|(?:1[ .-])?\d{3}(?P<sep>[ .-])\d{3}(?P=sep)\d{4}"
    # other countries: +44 20 7946 0958, +33 1 23 45 67 89
    r"|(?=\+[\d ().-]{9,})\+[2-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,5}"
    r")(?![\w]|[.-]\d)"
)
"""A phone number written like one. Bare digit runs (item ids, tracking ids) never match."""

SSN_PATTERN = re.compile(
    r"(?<![\w-])(?!000|666|9\d\d)\d{3}(?P<sep>[- ])(?!00)\d{2}(?P=sep)(?!0000)\d{4}(?![\w]|-\d)"
)
"""A US social security number with separators and a valid area, group and serial."""

# Digit groups joined by at most a few spaces or dashes: the raw material of card numbers.
_DIGIT_RUN = re.compile(r"(?<!\d)\d+(?:[ \t\-\u2010-\u2015]{1,3}\d+)*(?!\d)")
_DIGITS = re.compile(r"\d+")
_CARD_MIN, _CARD_MAX = 13, 19
_GROUP_MIN, _GROUP_MAX = 3, 8


def luhn_valid(digits: str) -> bool:
    """Return whether a string of digits passes the Luhn checksum.

    Args:
        digits: Decimal digits only (any Unicode decimal digits are accepted).

    Returns:
        True when the checksum is valid.
    """
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@dataclass(frozen=True)
class CardMatch:
    """A card number found in a text.

    Attributes:
        start: Offset of its first character.
        end: Offset just past its last character.
        last_four: Its last four digits (the only ones a mask keeps).
    """

    start: int
    end: int
    last_four: str


def _card_windows(groups: list[str]) -> Iterator[tuple[int, int]]:
    """Yield (first, last) indexes of runs of digit groups that read as a card number."""
    for first, head in enumerate(groups):
        if _CARD_MIN <= len(head) <= _CARD_MAX and luhn_valid(head):
            yield first, first
        if not _GROUP_MIN <= len(head) <= _GROUP_MAX:
            continue
        digits = head
        for last in range(first + 1, len(groups)):
            group = groups[last]
            digits += group
            if not _GROUP_MIN <= len(group) <= _GROUP_MAX or len(digits) > _CARD_MAX:
                break
            if len(digits) >= _CARD_MIN and luhn_valid(digits):
                yield first, last


def find_card_numbers(text: str) -> list[CardMatch]:
    """Find the card numbers in a text.

    A card number is 13-19 digits that pass the Luhn check, written contiguously or in groups
    of 3-8 digits separated by spaces or dashes. Overlapping candidates (``5 4111 1111 ...``
    where the stray digits make a second valid number) are merged into one match, so that
    masking never leaves part of a card number visible.

    Args:
        text: Any text.

    Returns:
        The matches, in order, not overlapping.
    """
    found: list[CardMatch] = []
    for run in _DIGIT_RUN.finditer(text):
        groups = list(_DIGITS.finditer(text, run.start(), run.end()))
        merged: list[CardMatch] = []
        for first, last in _card_windows([g.group() for g in groups]):
            start, end = groups[first].start(), groups[last].end()
            last_four = "".join(g.group() for g in groups[first : last + 1])[-4:]
            if merged and start < merged[-1].end:
                previous = merged[-1]
                if end <= previous.end:
                    end, last_four = previous.end, previous.last_four
                merged[-1] = CardMatch(min(start, previous.start), end, last_four)
            else:
                merged.append(CardMatch(start, end, last_four))
        found.extend(merged)
    return found


def mask_card_numbers(text: str, on_mask: Callable[[], None] | None = None) -> str:
    """Replace every card number by ``**** **** **** 1234`` (its last four digits kept).

    Args:
        text: Any text.
        on_mask: Called once per card number masked (to count redactions).

    Returns:
        The text with the card numbers masked.
    """
    matches = find_card_numbers(text)
    if not matches:
        return text
    pieces: list[str] = []
    cursor = 0
    for match in matches:
        pieces.append(text[cursor : match.start])
        pieces.append(f"**** **** **** {match.last_four}")
        cursor = match.end
        if on_mask is not None:
            on_mask()
    pieces.append(text[cursor:])
    return "".join(pieces)


def _mask_email(match: re.Match[str]) -> str:
    local, _, domain = match.group().rpartition("@")
    return f"{local[:1]}***@{domain}"


def _mask_phone(match: re.Match[str]) -> str:
    digits = "".join(_DIGITS.findall(match.group()))
    return f"***-***-{digits[-4:]}"


def _mask_ssn(match: re.Match[str]) -> str:
    return f"***-**-{match.group()[-4:]}"


def _mask_string(text: str) -> str:
    text = mask_card_numbers(text)
    text = EMAIL_PATTERN.sub(_mask_email, text)
    text = SSN_PATTERN.sub(_mask_ssn, text)
    return PHONE_PATTERN.sub(_mask_phone, text)


_HIDDEN_KEYS = frozenset({"address1", "address2"})
_NAME_KEYS = frozenset({"first_name", "last_name"})


def _mask_field(key: object, value: Any) -> Any:
    if isinstance(value, str) and key in _HIDDEN_KEYS:
        return "***"
    if isinstance(value, str) and key in _NAME_KEYS:
        return f"{value[:1]}***" if value else value
    return mask_pii(value)


def mask_pii(value: Any) -> Any:
    """Mask personal data in a value bound for a log or an audit record.

    Strings anywhere inside dicts, lists and tuples are masked: emails keep the first letter of
    the local part (``s***@example.com``), card numbers their last four digits, phone numbers
    their last four, SSNs their serial. Values under ``address1``/``address2`` become ``***``;
    values under ``first_name``/``last_name`` keep their first letter (``S***``). Ids, amounts,
    statuses, zip codes and every non-string scalar are kept.

    Args:
        value: A JSON-like value (dicts, lists, tuples, strings, numbers, ...).

    Returns:
        A masked copy; the input is never modified. Other objects are returned as they are.
    """
    if isinstance(value, str):
        return _mask_string(value)
    if isinstance(value, Mapping):
        return {key: _mask_field(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_pii(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_pii(item) for item in value)
    return value
