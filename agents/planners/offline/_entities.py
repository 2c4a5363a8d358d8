"""Entity extraction from customer messages: ids, identity, payment, reasons, answers, addresses.

Everything here is plain pattern work on one message (no model): order ids in the forms
customers type, emails, names and zip codes, payment methods as described in words, the two
cancellation reasons, yes/no, and a postal address written on one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "Address",
    "PaymentRef",
    "YesNo",
    "cancel_reason",
    "other_cancel_reason",
    "emails",
    "is_dont_know",
    "mask_entities",
    "order_ids",
    "parse_address",
    "payment_ref",
    "person_name",
    "words",
    "yes_no",
    "zip_codes",
]

# -- order ids ---------------------------------------------------------------------------------
_ORDER_W = re.compile(r"(?<![\w@])#?\s?[wW]\s?-?\s?(\d{7})(?!\d)")
_ORDER_WORD = re.compile(
    r"\border\b\s*(?:number|no\.?|num|id|#)?\s*(?:is|=|:)?\s*#?\s*(\d{7})(?!\d)", re.IGNORECASE
)
_ORDER_HASH = re.compile(r"#\s?(\d{7})(?!\d)")
_SEVEN = re.compile(r"(?<![\w.@-])(\d{7})(?![\w@-])")


def order_ids(text: str, *, bare: bool = False) -> list[str]:
    """Order ids in ``text`` as ``#W1234567``, in order of appearance, without duplicates.

    Recognised: ``#W2378156``, ``W2378156``, ``#w2378156``, ``order 2378156``,
    ``order #2378156``; with ``bare`` (the customer was asked for an order number) also a
    lone seven-digit number.
    """
    found: list[tuple[int, str]] = []
    for pattern in (_ORDER_W, _ORDER_WORD, _ORDER_HASH, *((_SEVEN,) if bare else ())):
        found.extend((m.start(1), m.group(1)) for m in pattern.finditer(text))
    seen: list[str] = []
    for _, digits in sorted(found):
        value = f"#W{digits}"
        if value not in seen:
            seen.append(value)
    return seen


# -- identity ----------------------------------------------------------------------------------
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def emails(text: str) -> list[str]:
    """Email addresses in ``text`` (trailing dots removed), in order."""
    return [m.group().rstrip(".") for m in _EMAIL.finditer(text)]


_ZIP_LABELLED = re.compile(
    r"\b(?:zip|zipcode|postal|postcode)(?:\s*code)?\s*(?:is|:|=|of)?\s*(\d{5})(?:-\d{4})?\b",
    re.IGNORECASE,
)
_FIVE = re.compile(r"(?<![\w#.$-])(\d{5})(?:-\d{4})?(?![\w.]\d|\d|%)")


def zip_codes(text: str, *, bare: bool = False) -> list[str]:
    """Zip codes: labelled ones ("zip 19122", "zip code is 19122"); with ``bare`` any 5 digits.

    A five-digit number that opens a street address ("12345 Main St") is not a zip code.
    """
    labelled = [m.group(1) for m in _ZIP_LABELLED.finditer(text)]
    if labelled or not bare:
        return labelled
    found = []
    for match in _FIVE.finditer(text):
        after = text[match.end() : match.end() + 20]
        if re.match(r"\s+[A-Za-z]+\s+(?:st|street|ave|avenue|rd|road|dr|drive|ln|lane)\b",
                    after, re.IGNORECASE):  # fmt: skip
            continue
        found.append(match.group(1))
    return found


_NOT_NAMES_WORDS = (
    "a an the and or but i i'm im me my mine you your yes no not ok okay hi hello hey thanks "
    "thank please sure looking trying writing calling here just also still very really so sorry "
    "glad happy new old order orders item items zip code email name first last is are was were "
    "be been am in at on of for from to with by it its it's this that these those want wanted "
    "need needed would like could can cannot help call go going get got have has had do does "
    "did done live living based currently customer user account number ugh um uh oh well "
    "actually forget never mind just human person agent manager"
)
_NOT_NAMES = frozenset(_NOT_NAMES_WORDS.split())
_NAME_CUE = re.compile(
    r"\b(?:my\s+(?:full\s+)?name\s+is|name\s*(?:is|:)|name's|this\s+is|i\s+am|i'm|im|"
    r"it's|its|call\s+me)\s+([A-Za-z][A-Za-z'\-]+)\s*,?\s+([A-Za-z][A-Za-z'\-]+)",
    re.IGNORECASE,
)
_NAME_ZIP = re.compile(r"^\W*([A-Z][a-z]+)\s+([A-Z][a-z'-]+)\W+(?:zip\s*(?:code)?\s*)?\d{5}\b")
_NAME_PAIR = re.compile(r"\b([A-Za-z][A-Za-z'\-]+)\s*,?\s+([A-Za-z][A-Za-z'\-]+)\b")


def _name_ok(first: str, last: str, *, strict: bool) -> bool:
    if first.lower() in _NOT_NAMES or last.lower() in _NOT_NAMES:
        return False
    if strict:
        return first[:1].isupper() and last[:1].isupper()
    return True


def person_name(text: str, *, asked: bool = False) -> tuple[str, str] | None:
    """A first and last name, after a cue or as the answer to "what's your name?".

    After "my name is" / "I'm" / "this is"; when the customer was asked for their name, the
    first two words that can be a name.
    """
    for match in _NAME_CUE.finditer(text):
        first, last = match.group(1), match.group(2)
        if _name_ok(first, last, strict=not asked and not _strong_cue(match.group(0))):
            return _cap(first), _cap(last)
    signed = _NAME_ZIP.match(text)
    if signed and _name_ok(signed.group(1), signed.group(2), strict=True):
        return signed.group(1), signed.group(2)
    if asked:
        cleaned = _EMAIL.sub(" ", text)
        cleaned = re.sub(r"\d+", " ", cleaned)
        for match in _NAME_PAIR.finditer(cleaned):
            first, last = match.group(1), match.group(2)
            if _name_ok(first, last, strict=False):
                return _cap(first), _cap(last)
    return None


def _strong_cue(cue: str) -> bool:
    return "name" in cue.lower()


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:] if word.islower() else word


# -- payment methods ---------------------------------------------------------------------------
PaymentKind = Literal["gift_card", "paypal", "credit_card", "original", "id"]


@dataclass(frozen=True)
class PaymentRef:
    """A payment method as the customer described it.

    Attributes:
        kind: ``gift_card``, ``paypal``, ``credit_card``, ``original`` (the one the order
            was paid with) or ``id`` (a payment method id typed out).
        brand: A card brand ("visa", "mastercard", "amex", "discover").
        last_four: The card's last four digits.
        method_id: The id, for kind ``id``.
    """

    kind: PaymentKind
    brand: str | None = None
    last_four: str | None = None
    method_id: str | None = None


_METHOD_ID = re.compile(r"\b((?:credit_card|gift_card|paypal)_\d+)\b")
_BRANDS = (
    ("american express", "amex"),
    ("amex", "amex"),
    ("visa", "visa"),
    ("mastercard", "mastercard"),
    ("master card", "mastercard"),
    ("discover", "discover"),
)
_LAST_FOUR = re.compile(
    r"\b(?:ending|endng|ening|ends|ended|last\s+(?:4|four)(?:\s+digits)?|finishing)\s*"
    r"(?:in|with|on|are|is|:)?\s*(\d{4})\b|\b(\d{4})\s+at\s+the\s+end\b|[x*]{2,}\s*(\d{4})\b|"
    # "my other visa, the 6309"
    r"\b(?:visa|master\s*card|amex|discover|card)\b[^.?!\d]{0,12}?\bthe\s+(\d{4})\b",
    re.IGNORECASE,
)
_GIFT = re.compile(r"\b(?:gift\s*-?\s*cards?|gc|store\s+credit|giftcards?)\b", re.IGNORECASE)
_PAYPAL = re.compile(r"\bpay\s*pal\b", re.IGNORECASE)
_CARD = re.compile(r"\b(?:credit|debit)\s*card\b|\bcard\b", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"\b(?:original(?:ly)?|same\s+(?:card|method|payment|way|account)|"
    r"(?:card|method|account|way)\s+(?:that\s+)?i\s+(?:originally\s+)?(?:paid|used|bought|"
    r"purchased)|(?:paid|used|bought\s+it)\s+with|where\s+(?:the\s+money|it)\s+came\s+from|"
    r"how\s+i\s+paid|back\s+to\s+where)\b",
    re.IGNORECASE,
)


# A method named only to be ruled out: "rather than the visa", "instead of PayPal", "Not a
# gift card.", "not to my amex".
_RULED_OUT = re.compile(
    r"\b(?:(?:instead\s+of|rather\s+than|other\s+than|not|than|except|rather\s+not)\s+"
    r"(?:(?:putting|sending|paying|refunding|getting|having|have|put|pay|use|charge|the|money|"
    r"it|them|back)\s+){0,4})"
    r"(?:on\s+|to\s+|onto\s+|"
    r"with\s+)?(?:the\s+|my\s+|a\s+|an\s+|that\s+)?(?:old\s+|current\s+)?(?:american\s+express|"
    r"amex|visa|master\s*card|discover|pay\s*pal|gift\s*-?\s*cards?|gc|store\s+credit|"
    r"(?:credit\s+|debit\s+)?card)(?:\s+card)?(?:\s+(?:ending|ends)(?:\s+in)?\s+\d{4})?",
    re.IGNORECASE,
)


_RULED_OUT_DIGITS = re.compile(
    r"\b(?:not|rather\s+than|instead\s+of|other\s+than)\s+(?:the\s+)?(?:one\s+|card\s+)?"
    r"(?:ending\s+(?:in\s+)?)?\d{4}(?:\s+(?:one|card))?\b",
    re.IGNORECASE,
)


_ANY_METHOD = re.compile(
    r"\b(?:american\s+express|amex|visa|master\s*card|discover|gift\s*-?\s*cards?|pay\s*pal)\b",
    re.IGNORECASE,
)
_TARGET_BEFORE = re.compile(
    r"(?:\b(?:to|on|onto|into|use|using|via|back\s+to|go\s+to)|(?<!paid\s)(?<!bought\s)\bwith)"
    r"\s+(?:my|the|a|your)?\s*$",
    re.IGNORECASE,
)


def _target_part(text: str) -> str:
    """Where two methods are named, the text from the one the money goes to or comes from.

    "The mastercard I paid with is about to be closed, so I want the refund on my PayPal
    account instead" names PayPal as the target.
    """
    mentions = list(_ANY_METHOD.finditer(text))
    kinds = {re.sub(r"\W", "", m.group().lower())[:4] for m in mentions}
    if len(kinds) < 2:
        return text
    targeted = [
        m for m in mentions if _TARGET_BEFORE.search(text[max(0, m.start() - 20) : m.start()])
    ]
    if len({re.sub(r"\W", "", m.group().lower())[:4] for m in targeted}) != 1:
        return text
    return text[targeted[0].start() :]


def payment_ref(text: str) -> PaymentRef | None:
    """The payment method the customer names, if any.

    "my gift card" -> gift card; "the visa ending 4432" -> that card; "paypal"; "the card I
    paid with" / "original payment method" -> the order's original method; a bare "credit
    card" -> any credit card (resolved against the account). A method ruled out ("the gift
    card rather than the visa", "not a gift card") is not the one named.
    """
    text = _target_part(_RULED_OUT_DIGITS.sub(" ", _RULED_OUT.sub(" ", text)))
    method = _METHOD_ID.search(text)
    if method:
        return PaymentRef(kind="id", method_id=method.group(1))
    lowered = text.lower()
    brand = next((code for word, code in _BRANDS if re.search(rf"\b{word}\b", lowered)), None)
    four = _LAST_FOUR.search(text)
    last_four = next((g for g in four.groups() if g), None) if four else None
    if brand or last_four:
        return PaymentRef(kind="credit_card", brand=brand, last_four=last_four)
    if _GIFT.search(text):
        return PaymentRef(kind="gift_card")
    if _PAYPAL.search(text):
        return PaymentRef(kind="paypal")
    if _ORIGINAL.search(text):
        return PaymentRef(kind="original")
    if _CARD.search(text):
        return PaymentRef(kind="credit_card")
    return None


# -- cancellation reasons ----------------------------------------------------------------------
_MISTAKE = re.compile(
    r"\b(?:mistake|mistaken(?:ly)?|by\s+accident|accident(?:al(?:ly)?)?|didn'?t\s+mean|"
    r"did\s+not\s+mean|wrong\s+(?:item|order|thing|product|one|size|colou?r|model)|"
    r"ordered\s+(?:the\s+)?wrong|duplicate|(?:ordered|bought|placed)\s+(?:\w+\s+){0,3}twice|"
    r"unintentional(?:ly)?|mis-?click(?:ed)?|clicked\s+(?:the\s+wrong|by)|error|erroneous(?:ly)?|"
    r"oops)\b",
    re.IGNORECASE,
)
_NOT_NEEDED = re.compile(
    r"\b(?:no\s+longer\s+(?:need|want|required|necessary)|(?:don'?t|do\s+not|dont)\s+"
    r"(?:really\s+)?(?:need|want)|not\s+needed|needless|changed\s+my\s+mind|change\s+of\s+heart|"
    r"too\s+expensive|won'?t\s+(?:need|use)|no\s+use\s+for|"
    r"not\s+(?:necessary|required)|no\s+need|plans?\s+changed|not\s+needed\s+anymore|"
    r"(?:need|want)\s+it\s+(?:any\s*more|no\s+more)|unnecessary|no\s+longer\s+needed|"
    r"don'?t\s+need\s+it|not\s+interested|rather\s+not)\b",
    re.IGNORECASE,
)


_OTHER_REASON = re.compile(
    r"\b(?:(?:found|got|bought|saw)\s+(?:it\s+|them\s+|one\s+|the\s+same\b[^.,;]*?)?"
    r"(?:cheaper|elsewhere|somewhere\s+else|for\s+less)|cheaper\s+(?:on|at|from|elsewhere)|"
    r"(?:shipping|delivery)\s+is\s+(?:way\s+|too\s+|so\s+)*slow|too\s+(?:slow|late|long)|"
    r"arrive\s+(?:too\s+)?late|late\s+delivery|on\s+sale|(?:holiday|black\s+friday)\s+sales?|"
    r"discount(?:ed)?|buy\s+it\s+again)\b",
    re.IGNORECASE,
)


def other_cancel_reason(text: str) -> bool:
    """Whether the customer gives a reason to cancel that is neither of the allowed two."""
    return cancel_reason(text) is None and bool(_OTHER_REASON.search(text))


def cancel_reason(text: str) -> str | None:
    """Map the customer's words to ``"ordered by mistake"`` or ``"no longer needed"``."""
    if _MISTAKE.search(text):
        return "ordered by mistake"
    if _NOT_NEEDED.search(text):
        return "no longer needed"
    return None


# -- yes / no ----------------------------------------------------------------------------------
YesNo = Literal["yes", "no"]

_NO = re.compile(
    r"^\s*(?:no+|nope|nah|not\s+really|no\s+thanks?|no\s+thank\s+you|nothing(?:\s+else)?|"
    r"that'?s\s+(?:all|it|everything)|that\s+is\s+(?:all|it|everything)|all\s+(?:good|set|done)|"
    r"i'?m\s+(?:good|done|all\s+set|fine)|we'?re\s+(?:good|done)|none|never\s*mind|"
    r"(?:ok(?:ay)?|great|perfect|cool)?,?\s*(?:thanks?|thank\s+you|thx|ty)(?:\s+(?:so\s+much|"
    r"a\s+lot|very\s+much))?(?:,?\s*(?:bye|goodbye))?|bye|goodbye|cancel\s+that|don'?t|"
    r"do\s+not|i\s+changed\s+my\s+mind|changed\s+my\s+mind|forget\s+it|keep\s+it|"
    r"leave\s+it)\b",
    re.IGNORECASE,
)
_YES = re.compile(
    r"^\s*(?:y|ya|yes|yeah|yep|yup|yea|sure|ok|okay|correct|right|exactly|absolutely|"
    r"definitely|of\s+course|please\s+do|go\s+ahead|do\s+it|proceed|confirm(?:ed)?|"
    r"that'?s\s+(?:right|correct|fine|good)|sounds\s+good|affirmative|that\s+works|"
    r"that'?s\s+(?:everything|all\s+of\s+them))\b",
    re.IGNORECASE,
)


def yes_no(text: str) -> YesNo | None:
    """``"yes"``, ``"no"`` or None, from how the message opens."""
    if _NO.search(text):
        return "no"
    if _YES.search(text):
        return "yes"
    return None


_DONT_KNOW = re.compile(
    r"\b(?:(?:don'?t|do\s+not|dont)\s+(?:know|remember|recall|have)|not\s+sure|no\s+idea|"
    r"can'?t\s+(?:remember|recall|find)|forgot|forget|not\s+(?:certain|sure))\b",
    re.IGNORECASE,
)


def is_dont_know(text: str) -> bool:
    """Whether the customer says they do not know / remember / have the thing asked."""
    return bool(_DONT_KNOW.search(text))


# -- addresses ---------------------------------------------------------------------------------
_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI",
    "wyoming": "WY", "district of columbia": "DC",
}  # fmt: skip
_STATE_CODES = frozenset(_STATES.values())
_COUNTRY = re.compile(
    r",?\s*\b(?:usa|u\.s\.a\.?|us|u\.s\.?|united\s+states(?:\s+of\s+america)?|america)\.?\s*$",
    re.IGNORECASE,
)
_UNIT = re.compile(
    r"^(?:apt\.?|apartment|suite|ste\.?|unit|#|fl(?:oor)?\.?|room|rm\.?|bldg\.?|building)\s*"
    r"#?\s*[\w-]+$",
    re.IGNORECASE,
)
_UNIT_INLINE = re.compile(
    r"\s+((?:apt\.?|apartment|suite|ste\.?|unit|#|floor|room)\s*#?\s*[\w-]+)\s*$", re.IGNORECASE
)
_STATE_ZIP = re.compile(r"^(?P<state>[A-Za-z][A-Za-z .]*?)\.?\s+(?P<zip>\d{5})(?:-\d{4})?$")
_STREET = re.compile(r"^\d+[A-Za-z]?\s+\S")
_LEAD = re.compile(
    r"^.*?\b(?:address\s+is|address\s*:|to|at|is|:)\s+(?=\d+[A-Za-z]?\s)", re.IGNORECASE
)
_STREET_END = re.compile(
    r"^(?P<street>\d+[A-Za-z]?\s+.+?\b(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|"
    r"boulevard|blvd|way|court|ct|place|pl|terrace|ter|parkway|pkwy|circle|cir|highway|hwy|"
    r"trail|trl|square|sq|loop|row|alley|plaza|walk)\.?)\s+(?P<rest>.+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Address:
    """A postal address in the tools' fields."""

    address1: str
    address2: str
    city: str
    state: str
    zip: str
    country: str = "USA"

    def fields(self) -> dict[str, str]:
        """The tool arguments."""
        return {
            "address1": self.address1,
            "address2": self.address2,
            "city": self.city,
            "state": self.state,
            "country": self.country,
            "zip": self.zip,
        }

    def one_line(self) -> str:
        """The address as a customer would write it."""
        parts = [self.address1, self.address2, self.city, f"{self.state} {self.zip}"]
        return ", ".join(p for p in parts if p)


def _state_code(raw: str) -> str | None:
    cleaned = raw.strip().rstrip(".").strip()
    if cleaned.upper() in _STATE_CODES and len(cleaned) == 2:
        return cleaned.upper()
    return _STATES.get(cleaned.lower())


_ZIP_END = re.compile(
    r"[A-Za-z][A-Za-z.]*,?\s+\d{5}(?:-\d{4})?\b(?:,?\s*(?:usa|u\.s\.a\.?|us|united\s+states)\b)?",
    re.IGNORECASE,
)


def _clean_address_text(text: str) -> str:
    text = " ".join(text.replace("\n", ", ").split())
    lead = _LEAD.match(text)
    if lead:
        text = text[lead.end() :]
    else:
        start = re.search(r"\b\d+[A-Za-z]?\s+[A-Za-z]", text)
        if start is None:
            return ""
        text = text[start.start() :]
    text = re.split(r"(?<=\d)\s*[.!?](?:\s|$)|[!?]", text)[0]
    end = _ZIP_END.search(text)
    if end is not None:
        text = text[: end.end()]
    text = _COUNTRY.sub("", text.strip().rstrip("."))
    return text.strip().rstrip(",").strip()


def parse_address(text: str) -> Address | None:
    """Read a US address written on one line (see :func:`_read_address`).

    An address typed all in lower case is written the way addresses are kept ("2450 kelly dr
    apt 5c philadelphia" -> "2450 Kelly Dr", "Apt 5C", "Philadelphia").
    """
    address = _read_address(text)
    if address is not None and len(address.address1.split()) > _STREET_WORDS:
        # "my order with the 2 air purifiers sent to 77 Canyon Rd, ...": the street is the
        # later number.
        for start in _NUMBER_START.finditer(text):
            later = _read_address(text[start.start() :]) if start.start() > 0 else None
            if later is not None and len(later.address1.split()) <= _STREET_WORDS:
                address = later
                break
    if address is None:
        return None
    return replace(
        address,
        address1=_capitalised(address.address1),
        address2=_capitalised(_UNIT_WORD.sub(_unit_word, address.address2)),
        city=_capitalised(address.city),
    )


_STREET_WORDS = 6
_UNIT_SHORT = {"apartment": "Apt"}


def _unit_word(match: re.Match[str]) -> str:
    """A unit word as addresses keep it: "apt" -> "Apt", "apartment" -> "Apt" (USPS)."""
    word = match.group()
    if word[:1].isupper():
        return word  # the customer wrote it so
    return _UNIT_SHORT.get(word, word.capitalize())


_NUMBER_START = re.compile(r"\b\d+[A-Za-z]?\s+[A-Za-z]")
_UNIT_WORD = re.compile(
    r"^(?:apt|apartment|suite|ste|unit|fl|floor|room|rm|bldg|building)\b", re.IGNORECASE
)


_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)", re.IGNORECASE)


def _capitalised(part: str) -> str:
    """Words typed in lower case get their capital; words with capitals stay as typed."""
    out: list[str] = []
    for word in part.split(" "):
        if word != word.lower():
            out.append(word)  # the customer chose the capitals ("NE", "McKinley")
        elif word[:1].isalpha():
            out.append(word[:1].upper() + word[1:])
        elif _ORDINAL.fullmatch(word):
            out.append(word)
        else:
            out.append(word.upper())  # a unit or a house number: "5c" -> "5C"
    return " ".join(out)


def _read_address(text: str) -> Address | None:
    """Read a US address written on one line.

    ``"12 Oak St, Apt 4, Austin, TX 78701"`` gives address1 ``12 Oak St``, address2
    ``Apt 4``, city ``Austin``, state ``TX``, zip ``78701``, country ``USA``. Commas may be
    left out when the street ends with a street word ("12 Oak Street Austin TX 78701"); state
    names are turned into their two-letter codes.
    """
    line = _clean_address_text(text)
    if not line or not _STREET.match(line):
        return None
    parts = [p.strip() for p in line.split(",") if p.strip()]
    if len(parts) < 2:
        return _parse_without_commas(line)
    tail = _STATE_ZIP.match(parts[-1])
    if tail is None:
        # "..., Austin TX 78701" with the city in the last part, or "..., TX, 78701".
        if re.fullmatch(r"\d{5}(?:-\d{4})?", parts[-1]) and len(parts) >= 3:
            state = _state_code(parts[-2])
            if state is None:
                return None
            city_parts, zip_code = parts[:-2], parts[-1][:5]
        else:
            return _parse_without_commas(line)
    else:
        state_text, zip_code = tail.group("state"), tail.group("zip")
        state = _state_code(state_text)
        city_parts = parts[:-1]
        if state is None:
            # The city may share the part: "Austin TX 78701".
            words = state_text.split()
            for size in (3, 2, 1):
                if len(words) > size and _state_code(" ".join(words[-size:])):
                    state = _state_code(" ".join(words[-size:]))
                    city_parts = [*parts[:-1], " ".join(words[:-size])]
                    break
            if state is None:
                return None
    if len(city_parts) < 2:
        return _parse_without_commas(line)
    city = city_parts[-1]
    street_parts = city_parts[:-1]
    address1 = street_parts[0]
    address2 = ", ".join(street_parts[1:])
    inline = _UNIT_INLINE.search(address1)
    if not address2 and inline and _UNIT.match(inline.group(1)):
        address2 = inline.group(1)
        address1 = address1[: inline.start()].strip()
    return Address(address1, address2, city.strip(), state, zip_code)


def _parse_without_commas(line: str) -> Address | None:
    tail = re.search(r"\s([A-Za-z][A-Za-z .]*?)\.?,?\s+(\d{5})(?:-\d{4})?$", line)
    if tail is None:
        return None
    head = line[: tail.start()].strip().rstrip(",")
    words = tail.group(1).split()
    state = None
    city_words: list[str] = []
    for size in (3, 2, 1):
        if len(words) >= size and _state_code(" ".join(words[-size:])):
            state = _state_code(" ".join(words[-size:]))
            city_words = words[:-size]
            break
    if state is None:
        return None
    street = _STREET_END.match(f"{head} {' '.join(city_words)}".strip())
    if street is None:
        return None
    rest = street.group("rest").strip().rstrip(",")
    address1 = street.group("street").rstrip(",")
    address2 = ""
    unit = re.match(
        r"^((?:apt\.?|apartment|suite|ste\.?|unit|#)\s*#?\s*[\w-]+),?\s+(.+)$", rest, re.IGNORECASE
    )
    if unit:
        address2, rest = unit.group(1), unit.group(2)
    if not rest:
        return None
    return Address(address1, address2, rest.strip(" ,"), state, tail.group(2))


# -- text for the sentence model ---------------------------------------------------------------
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes kept inside words)."""
    return _WORD.findall(text.lower())


def mask_entities(text: str) -> str:
    """The message with ids, emails, numbers and payment ids replaced by neutral words.

    The classifier should judge what is asked, not which order or email is named.
    """
    text = _EMAIL.sub(" ", text)
    text = _METHOD_ID.sub(" card ", text)
    text = _ORDER_W.sub(" order ", text)
    text = _ORDER_HASH.sub(" order ", text)
    text = re.sub(r"\b\d{5,}\b", " ", text)
    return " ".join(text.split())
