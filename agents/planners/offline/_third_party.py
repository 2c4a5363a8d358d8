"""Requests about someone else: another person's details, account or payment method.

Only the account holder's own account is served. Asking what another person ordered, for
their email or address, to change their account, or to send a refund to their payment
method is refused outright, before any lookup, with the reason said plainly.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["ThirdParty", "third_party_request"]

ThirdParty = Literal["details", "account", "payment"]

_WHO = (
    r"(?:friend|cousin|mom|mum|mother|dad|father|sister|brother|wife|husband|partner|"
    r"girlfriend|boyfriend|neighbou?r|colleague|coworker|boss|aunt|uncle|grandma|grandmother|"
    r"grandpa|grandfather|son|daughter|roommate|flatmate)"
)
_NAME = r"(?:[A-Z][a-z]+\s+[A-Z][a-z]+)"
_THEIRS = rf"(?:her|his|their|my\s+{_WHO}'?s|{_NAME}'s|someone\s+else'?s|another\s+customer'?s)"
_DATA = (
    r"(?:e-?mail(?:\s+address)?|(?:shipping\s+)?address|phone(?:\s+number)?|orders?|"
    r"purchases|account|details)"
)

_RULES: tuple[tuple[ThirdParty, re.Pattern[str]], ...] = (
    (
        "details",
        re.compile(
            rf"\b(?i:what)\s+(?:(?i:did|has|have)\s+)?(?:{_NAME}|(?i:my)\s+{_WHO}|s?he|they)\s+"
            rf"(?:has\s+|have\s+)?(?:order(?:ed)?|buy|bought|purchased?)\b|"
            rf"\b(?i:what(?:'s|\s+is|\s+are|\s+was)?|tell\s+me|give\s+me|share|look\s+up|find|"
            rf"show\s+me)\b[^.?!]{{0,40}}?\b(?:{_THEIRS}\s+{_DATA}|{_DATA}\s+of\s+(?:{_NAME}|"
            rf"my\s+{_WHO}|another\s+customer|someone\s+else))\b"
        ),
    ),
    (
        "account",
        re.compile(
            rf"\b(?:update|change|access|modify|manage|log\s+into|edit)\s+{_THEIRS}\s+"
            r"(?:account|profile|saved\s+address|default\s+address|address\s+on\s+file|"
            r"account\s+address|details)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "payment",
        re.compile(
            rf"\b(?:refund|money|credit|send|put)\b[^.?!]{{0,40}}?\b(?:my\s+{_WHO}'?s|"
            r"someone\s+else'?s|another\s+person'?s)\s+(?:paypal|card|credit\s+card|account|"
            r"gift\s+card|bank)",
            re.IGNORECASE,
        ),
    ),
)

REFUSALS: dict[ThirdParty, str] = {
    "details": "I'm sorry, but I can't share another person's orders or personal details: "
    "I can only help account holders with their own accounts.",
    "account": "I'm sorry, but I can only make changes for the account holder. They are "
    "welcome to contact us themselves and we'll gladly help them.",
    "payment": "I'm sorry, but a refund can only go to the original payment method or a gift "
    "card on your own account, never to someone else's.",
}


def third_party_request(text: str) -> ThirdParty | None:
    """What the message asks of someone else's, if anything ("details", "account", "payment").

    "what did Maya White order", "update my mum's account", "refund it to my friend's PayPal"
    are; "ship it to my daughter's address" and "I bought it for my son" are not.
    """
    for kind, pattern in _RULES:
        if pattern.search(text):
            return kind
    return None
