"""Output rail: what a reply to the customer may not show.

A reply goes to the verified customer only, so it may show their own email, user id and phone
number, and nothing of anybody else's. Full card numbers are masked even when they are the
customer's own: nobody needs to read one back. Order ids (``#W2378156``), 10-digit item and
product ids, tracking ids, zip codes, prices and dates are left alone; phone numbers are only
recognised when written like one (see :mod:`policies._pii`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from policies._pii import EMAIL_PATTERN, PHONE_PATTERN, SSN_PATTERN, mask_card_numbers

__all__ = ["Redaction", "RedactionKind", "VisibleCustomer", "redact_reply"]

RedactionKind = Literal["card_number", "email", "user_id", "phone", "ssn"]
"""What a redaction removed."""

REDACTED_EMAIL = "[redacted email]"
REDACTED_ID = "[redacted id]"
REDACTED_PHONE = "[redacted phone]"
REDACTED_SSN = "[redacted ssn]"

_ID_EDGE = r"[\w-]"
_PHONE_DIGITS = 10  # compare the national part only: "+1 (415) 555-2671" is "4155552671"


@dataclass(frozen=True)
class VisibleCustomer:
    """The verified customer, whose own data a reply may show.

    Attributes:
        user_id: Their user id (``"noah_brown_6181"``).
        email: Their email address, compared case-insensitively.
        card_last_fours: The last four digits of their own cards. Informational: a reply may
            mention "the card ending in 9212", and full card numbers are masked regardless.
        phone: Their phone number, if the store has one; kept in replies in any formatting.
    """

    user_id: str
    email: str | None = None
    card_last_fours: tuple[str, ...] = ()
    phone: str | None = None


@dataclass(frozen=True)
class Redaction:
    """A reply after the output rail.

    Attributes:
        text: The text safe to send.
        redactions: One kind per value removed, in the order the rail removed them
            ("card_number", "email", "user_id", "phone", "ssn"). Empty when nothing was.
    """

    text: str
    redactions: list[str] = field(default_factory=list)

    @property
    def redacted(self) -> bool:
        """Whether anything was removed."""
        return bool(self.redactions)


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdecimal())


def redact_reply(
    text: str,
    *,
    customer: VisibleCustomer | None,
    known_emails: Iterable[str] = (),
    known_user_ids: Iterable[str] = (),
) -> Redaction:
    """Remove from a reply the personal data the verified customer may not see.

    * full card numbers (13-19 digits, Luhn-valid) become ``**** **** **** 1234``, always;
    * email addresses other than the customer's own become ``[redacted email]``, and so do the
      ``known_emails`` of the store, wherever they appear;
    * the ``known_user_ids`` of other customers become ``[redacted id]``;
    * SSNs become ``[redacted ssn]``; phone numbers other than the customer's own become
      ``[redacted phone]``.

    Args:
        text: The reply the agent wants to send.
        customer: The verified customer; None before authentication, when every email,
            known user id and phone number is redacted.
        known_emails: Email addresses the store knows (they are redacted even when written in a
            way the email pattern misses, such as an unusual domain).
        known_user_ids: The store's user ids (``"sofia_garcia_4821"``). User ids have no fixed
            shape, so only these are recognised.

    Returns:
        The redacted text and the kinds of what was removed.
    """
    kinds: list[str] = []
    own_email = customer.email.casefold() if customer and customer.email else None
    own_id = customer.user_id.casefold() if customer else None
    own_phone = _digits(customer.phone)[-_PHONE_DIGITS:] if customer and customer.phone else None

    text = mask_card_numbers(text, on_mask=lambda: kinds.append("card_number"))

    def email(match: re.Match[str]) -> str:
        if own_email is not None and match.group().casefold() == own_email:
            return match.group()
        kinds.append("email")
        return REDACTED_EMAIL

    text = EMAIL_PATTERN.sub(email, text)
    text = _replace_known(text, known_emails, skip=own_email, kind="email", kinds=kinds)
    text = _replace_known(text, known_user_ids, skip=own_id, kind="user_id", kinds=kinds)

    def ssn(match: re.Match[str]) -> str:
        kinds.append("ssn")
        return REDACTED_SSN

    def phone(match: re.Match[str]) -> str:
        if own_phone and _digits(match.group())[-_PHONE_DIGITS:] == own_phone:
            return match.group()
        kinds.append("phone")
        return REDACTED_PHONE

    text = SSN_PATTERN.sub(ssn, text)
    text = PHONE_PATTERN.sub(phone, text)
    return Redaction(text=text, redactions=kinds)


_REPLACEMENTS = {"email": REDACTED_EMAIL, "user_id": REDACTED_ID}


def _replace_known(
    text: str,
    values: Iterable[str],
    *,
    skip: str | None,
    kind: Literal["email", "user_id"],
    kinds: list[str],
) -> str:
    """Replace each known value (case-insensitive, whole token) except the customer's own.

    A cheap substring test comes first: a store has hundreds of ids and a reply mentions few.
    """
    folded = text.casefold()
    for value in sorted({v for v in values if v}, key=len, reverse=True):
        key = value.casefold()
        if key == skip or key not in folded:
            continue
        pattern = re.compile(rf"(?<!{_ID_EDGE}){re.escape(value)}(?!{_ID_EDGE})", re.IGNORECASE)
        text, count = pattern.subn(_REPLACEMENTS[kind], text)
        kinds.extend([kind] * count)
        if count:
            folded = text.casefold()
    return text
