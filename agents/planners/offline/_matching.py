"""Matching what customers say to things in the shop: order items, product variants, orders.

Scores combine token overlap (stems, typos via difflib, size and unit spellings) with the
sentence model's similarity, which carries synonyms ("sneakers" ~ "running shoes"). Only
items of the order at hand and variants of the product at hand are candidates, so the
search is small and the thresholds can be strict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

import numpy as np

from agents.planners.offline._embedder import Embedder

__all__ = [
    "ItemChoice",
    "VariantChoice",
    "choose_variant",
    "match_strength",
    "mentions_all",
    "name_score",
    "norm_tokens",
    "option_mentions",
    "select_items",
    "similar",
    "text_score",
]

_SIZE_WORDS = {
    "xs": "extra small",
    "s": "small",
    "m": "medium",
    "l": "large",
    "xl": "extra large",
    "xxl": "xxl",
    "sm": "small",
    "med": "medium",
    "lg": "large",
}
_UNITS = {
    "inches": "inch",
    "hours": "hour",
    "hrs": "hour",
    "hr": "hour",
    "liters": "liter",
    "litres": "liter",
    "litre": "liter",
    "cups": "cup",
    "lbs": "lb",
    "pounds": "lb",
    "feet": "ft",
    "foot": "ft",
    "degrees": "degree",
    "pieces": "piece",
    "gigs": "gb",
}
_ALIASES = {
    "shirt": "tshirt", "tee": "tshirt", "shoe": "sneaker", "trainer": "sneaker",
    "bike": "bicycle", "earphone": "headphone",
}  # fmt: skip
_STOP_WORDS = (
    "a an the my your our their his her its this that these those one ones it them they i i'd "
    "i'm id im me we you to of for from in on at with and or but so as by be is are was were am "
    "do does did have has had want wanted would like need needs please pls could can will just "
    "also get got go going some any item items thing things product products order orders stuff "
    "same new old other another different instead version model kind type option options "
    "variant variants which what with without than then there here now really very bought "
    "ordered received purchased recent recently last latest return exchange change swap switch "
    "modify replace cancel send back refund keep make sure thanks thank hi hello hey all both "
    "every everything each whole entire two three four except not but only"
)
_STOP = frozenset(_STOP_WORDS.split())
_SPLIT_UNIT = re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)")


def _stem(token: str) -> str:
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith(("ches", "shes", "sses", "xes")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us")):
        return token[:-1]
    return token


@lru_cache(maxsize=16384)
def norm_tokens(text: str) -> tuple[str, ...]:
    """Lower-case, unit-split, stemmed tokens: "13-inch" -> ("13", "inch"), "Shirts" -> "shirt"."""
    lowered = text.lower().replace("t-shirt", "tshirt").replace("e-reader", "ereader")
    lowered = lowered.replace("wi-fi", "wifi").replace("%", " percent")
    raw = re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", lowered)
    out: list[str] = []
    for token in raw:
        for part in _SPLIT_UNIT.sub(" ", token).split():
            part = _UNITS.get(part, part)
            stemmed = _stem(part)
            out.append(_ALIASES.get(stemmed, stemmed))
    return tuple(out)


def _token_sim(a: str, b: str) -> float:
    """1 for the same token, high for a typo or a longer form of a long word.

    Short words must match exactly ("back" is not "black").
    """
    if a == b:
        return 1.0
    if len(a) < 5 or len(b) < 5 or a.isdigit() or b.isdigit():
        return 0.0
    if a.endswith(b) or b.endswith(a):
        return 0.85  # a compound's head: "phone" in "smartphone", "watch" in "wristwatch"
    if a[0] != b[0]:
        return 0.0
    if a.startswith(b) or b.startswith(a):
        return 0.85
    return SequenceMatcher(None, a, b).ratio()


def _best(token: str, pool: Iterable[str]) -> float:
    return max((_token_sim(token, other) for other in pool), default=0.0)


def text_score(query: str, target: str) -> float:
    """How much of ``target``'s content the ``query`` mentions (0-1), typo tolerant."""
    target_tokens = [t for t in norm_tokens(target) if t not in _STOP]
    query_tokens = [t for t in norm_tokens(query) if t not in _STOP]
    if not target_tokens or not query_tokens:
        return 0.0
    scores = [_best(t, query_tokens) for t in target_tokens]
    hits = [s for s in scores if s >= 0.8]
    return sum(hits) / len(target_tokens)


def name_score(query: str, name: str) -> float:
    """How well ``query`` names a product: its head noun ("keyboard") is enough."""
    coverage = text_score(query, name)
    tokens = [t for t in norm_tokens(name) if t not in _STOP]
    if not tokens:
        return coverage
    head = _best(tokens[-1], [t for t in norm_tokens(query) if t not in _STOP])
    return max(coverage, head if head >= 0.8 else 0.0)


def similar(embedder: Embedder | None, query: str, targets: Sequence[str]) -> list[float]:
    """Cosine similarity of ``query`` to each target (zeros without an embedder)."""
    if embedder is None or not targets or not query.strip():
        return [0.0] * len(targets)
    rows = embedder([query, *targets])
    sims = rows[1:] @ rows[0]
    return [float(x) for x in np.asarray(sims)]


# -- items of an order -------------------------------------------------------------------------
_ALL = re.compile(
    r"\b(?:(?<=return\s)everything|(?<=send\s)everything|(?<=cancel\s)everything|"
    r"(?<=refund\s)everything|(?<=exchange\s)everything|everything\s+(?=back\b)|^\s*everything|"
    r"everything(?=\s*[.!]?\s*$)|"
    r"all\s+(?:of\s+)?(?:the\s+|my\s+|those\s+|these\s+)?(?:items?|things|"
    r"stuff|products|of\s+(?:it|them))|all\s+(?:\w+\s+){0,2}(?:items?|things)|whole\s+order|"
    r"entire\s+order|the\s+(?:whole|entire)\s+(?:thing|lot)|(?:all|any|none)\s+of\s+it|every\s+item|"
    r"(?:everything|all)\s+(?:in|from)\s+(?:the|my|that|this)\s+order)\b",
    re.IGNORECASE,
)
_EXCEPT = re.compile(
    r"\b(?:except(?:\s+for)?|but\s+not|other\s+than|apart\s+from|besides|excluding|"
    r"but\s+(?:keep|the|my))\b(?P<rest>.*)$",
    re.IGNORECASE,
)
_ALL_WORD = re.compile(r"(?<!\bat\s)\b(?:all|everything)\b", re.IGNORECASE)
_THEM_ALL = re.compile(
    r"\b(?:both(?:\s+of\s+them)?|all\s+of\s+them|them\s+all|each\s+of\s+them|all\s+three)\b",
    re.IGNORECASE,
)
_PLURAL = re.compile(r"\b(?:both|all|the\s+two|two|the\s+three|three|each|every)\b", re.IGNORECASE)
_SEGMENTS = re.compile(
    r",|;|\+|/|\band\b|\bplus\b|&|\bas\s+well\s+as\b|\balong\s+with\b", re.IGNORECASE
)
_TARGET = re.compile(
    r"\b(?:to|for|into)\s+(?:the\s+|a\s+|an\s+)?(?:one|ones|version|model|variant|same)\b"
    r"[^.;]*?(?=\band\s+(?:the|my|also)\b|[.;]|$)",
    re.IGNORECASE,
)


def _segments(text: str) -> list[str]:
    """Mentions split at commas and "and"; a parenthesised description stays with its item.

    "the hose (25ft, green) and the backpack" -> two mentions.
    """
    text = _TARGET.sub(" ", text)
    pieces: list[str] = []
    depth = 0
    start = 0
    for match in re.finditer(r"[()]|" + _SEGMENTS.pattern, text, re.IGNORECASE):
        token = match.group()
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            pieces.append(text[start : match.start()])
            start = match.end()
    pieces.append(text[start:])
    return [p for p in pieces if p.strip()]


def mentions_all(text: str) -> bool:
    """Whether the customer means every item ("everything", "the whole order", "all items")."""
    return bool(_ALL.search(text))


@dataclass(frozen=True)
class ItemChoice:
    """Which items of an order the customer means.

    Attributes:
        indices: Positions in the order's item list, in the order mentioned.
        ambiguous: Positions of items that fit equally well where one was meant.
        named: Whether the text named any item at all.
    """

    indices: tuple[int, ...] = ()
    ambiguous: tuple[int, ...] = ()
    named: bool = False


def _item_text(item: dict[str, Any]) -> str:
    options = " ".join(str(v) for v in (item.get("options") or {}).values())
    return f"{item.get('name', '')} {options}"


def _modifiers(segment: str, items: Sequence[dict[str, Any]]) -> set[int]:
    """Items whose name only qualifies another's in the mention.

    "bicycle helmet" names the helmet, with "bicycle" as its modifier, not the bicycle.
    """
    lowered = " ".join(re.findall(r"[a-z0-9-]+", segment.lower()))
    heads = [(str(item.get("name", "")).lower().split() or [""])[-1] for item in items]
    return {
        i
        for i, head in enumerate(heads)
        for j, other in enumerate(heads)
        if i != j
        and head
        and other
        and head != other
        and re.search(rf"\b{re.escape(head)}s?\s+{re.escape(other)}", lowered)
    }


def _segment_scores(
    segment: str, items: Sequence[dict[str, Any]], embedder: Embedder | None
) -> list[tuple[float, float]]:
    """(name score, option score) of each item for one mention."""
    scores = []
    modifiers = _modifiers(segment, items)
    for index, item in enumerate(items):
        name = name_score(segment, str(item.get("name", "")))
        if index in modifiers:
            name = min(name, 0.5)
        option_values = [str(v) for v in (item.get("options") or {}).values()]
        matched = [text_score(segment, v) for v in option_values]
        option = sum(matched) / len(matched) if matched else 0.0
        scores.append((name, option))
    if embedder is not None and max((n for n, _ in scores), default=0.0) < 0.5:
        content = [w for w in re.findall(r"[a-z0-9-]+", segment.lower()) if w not in _STOP]
        if content:
            names = [str(item.get("name", "")) for item in items]
            sims = similar(embedder, " ".join(content), names)
            scores = [
                (max(n, 0.5 + (s - 0.55) * 2.0 if s >= 0.55 else 0.0), o)
                for (n, o), s in zip(scores, sims, strict=True)
            ]
    return scores


# "everything else the same": the other options of the item, not every item of the order.
_SAME_ELSE = re.compile(
    r"\b(?:(?:keep\s+|with\s+)?(?:everything|all)\s+else\s+(?:about\s+(?:it|them)\s+)?"
    r"(?:is\s+|stays?\s+|can\s+stay\s+|should\s+stay\s+|remains?\s+|can\s+remain\s+)?"
    r"(?:the\s+)?(?:same|unchanged|as\s+(?:it\s+)?is|fine)|(?:keep\s+)?"
    r"(?:the\s+)?same\s+everything\s+else|keep\s+(?:everything|all)\s+else|"
    r"(?:everything|all)\s+else\s+(?:in|from|on)\s+(?:that|the|my|this)\s+order\s+"
    r"(?:can|should|will)?\s*(?:stay|remain)s?(?:\s+(?:as\s+it\s+is|the\s+same))?)\b",
    re.IGNORECASE,
)
# "two changes to the order with the keyboard, the dumbbells and the hose: ...": the items
# that say which order it is are not the ones to change.
_ORDER_DESCRIBED = re.compile(
    r"(?:\b(?:(?:the|my|an|a)\s+)?order\s+(?:(?:number\s+)?#?w?\d{7}\s+)?"
    r"(?:(?:that|which)\s+(?:hasn'?t|has\s+not|has|was|is)\s+"
    r"(?:\w+\s+){0,2}?)?(?:with|containing|that\s+has|that\s+had)|"
    r"\b(?:came|arrived|was|were|shipped)\s+in\s+the\s+same\s+(?:box|order|package|parcel|"
    r"delivery|shipment)\s+(?:as|with))\s+[^:.;?!]*?(?=\s*[:.;?!]|\s+please\b|\s+if\b|$)",
    re.IGNORECASE,
)
# "same silicone strap and everything": the rest of the item stays, not every item.
_SAME_AND_ALL = re.compile(r"(\bsame\b[^.?!;]*?)\s+and\s+everything\b", re.IGNORECASE)
# "That's all of them", "that's everything": the list is complete, not "every item".
_NOTHING_MORE = re.compile(
    r"\bthat'?s\s+(?:all|everything|it)(?:\s+of\s+them)?(?:\s+(?:i\s+need|for\s+now))?\b",
    re.IGNORECASE,
)
# "same visa for everything": one payment method for every request, not every item.
_PAYS_FOR_ALL = re.compile(
    r"\b(?:visa|mastercard|amex|discover|card|paypal|method|account)\s+(?:\w+\s+){0,2}?"
    r"(?:for|on)\s+(?:everything|all\s+of\s+(?:it|them))\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(
    r"(?<=[.!?;])\s+|\s*[()]\s*|,?\s+\bbut\b\s+|,\s*(?:and\s+|so\s+)?(?:please\s+)?"
    r"(?=(?:return|send|exchange|swap|change|switch|cancel|refund|replace)\b)",
    re.IGNORECASE,
)
_KEEPING = re.compile(
    r"\b(?:keep|keeping|i'?ll\s+keep|hold(?:ing)?\s+on\s+to|stays?\s+as|as\s+(?:it|they)\s+"
    r"(?:is|are)|no\s+complaints|(?:is|are|was|were)\s+(?:great|fine|perfect|good|lovely)|"
    r"happy\s+with|love\s+(?:it|them|the))\b",
    re.IGNORECASE,
)
_REST = re.compile(r"\b(?:rest|others?|remaining|everything\s+else)\b", re.IGNORECASE)
_ACTING = re.compile(
    r"\b(?:return|send\s+(?:\w+\s+){0,3}back|exchange|swap|change|switch|cancel|refund|"
    r"replace|upgrade|downgrade|go\s+back|money\s+back|get\s+rid)\b",
    re.IGNORECASE,
)


def _split_kept(text: str) -> tuple[str, str]:
    """The text without the clauses that keep items, and those clauses.

    "I'm keeping the chair but return the hose" -> ("return the hose", "I'm keeping the
    chair"); a clause that also acts ("keep the box, return the lamp") is not a keeping one.
    """
    acting: list[str] = []
    keeping: list[str] = []
    for clause in _CLAUSE_BREAK.split(text):
        if not clause or not clause.strip():
            continue
        if _KEEPING.search(clause) and not _ACTING.search(clause) and not _REST.search(clause):
            keeping.append(clause)
        else:
            acting.append(clause)
    return " . ".join(acting), " . ".join(keeping)


def select_items(
    text: str, items: Sequence[dict[str, Any]], embedder: Embedder | None = None
) -> ItemChoice:
    """The items of an order that ``text`` describes.

    "the keyboard" picks the keyboard; "both shirts" every T-shirt; "the blue one" the item
    whose options say blue; "everything" / "all items" every item; "everything except the
    tablet" all but the tablet; "I'm keeping the chair, the hose goes back" the hose. Items
    that fit a singular mention equally well come back as ``ambiguous``.
    """
    if not items:
        return ItemChoice()
    text = _ORDER_DESCRIBED.sub(" ", _SAME_AND_ALL.sub(r"\1", text))
    text = _PAYS_FOR_ALL.sub(" ", _NOTHING_MORE.sub(" ", _SAME_ELSE.sub(" ", text)))
    acting, keeping = _split_kept(text)
    if not keeping or not acting.strip():
        return _select(text, items, embedder)
    chosen = _select(acting, items, embedder)
    if not chosen.named:
        return _select(text, items, embedder)
    # Only items the keeping clause names outright are kept (no guessing by meaning).
    kept = set(_select(keeping, items, None).indices)
    left = tuple(i for i in chosen.indices if i not in kept)
    unsettled = tuple(i for i in chosen.ambiguous if i not in kept)
    if chosen.indices and not left and not unsettled:
        # "size 9 please, the white knit ones are fine": it describes the wanted version.
        return chosen
    if len(unsettled) == 1 and not left:
        left, unsettled = unsettled, ()
    return ItemChoice(left, unsettled, chosen.named)


def _select(text: str, items: Sequence[dict[str, Any]], embedder: Embedder | None) -> ItemChoice:
    every = tuple(range(len(items)))
    exception = _EXCEPT.search(text)
    # "everything but the tablet"; not "the clicking ... I don't need it at all"
    quantifier = _ALL_WORD.search(text)
    if exception and (quantifier is None or quantifier.start() > exception.start()):
        exception = None
    if mentions_all(text) or exception:
        if exception:
            excluded = _select(exception.group("rest"), items, embedder)
            keep = tuple(i for i in every if i not in excluded.indices)
            return ItemChoice(keep, (), True)
        return ItemChoice(every, (), True)
    chosen: list[int] = []
    ambiguous: list[list[int]] = []
    named = False
    scored = [(segment, _segment_scores(segment, items, embedder)) for segment in _segments(text)]
    # A segment that names no item ("blue color") only counts when no segment names one.
    by_name = any(max(n for n, _ in scores) >= 0.5 for _, scores in scored)
    for segment, scores in scored:
        if by_name and max(n for n, _ in scores) < 0.5:
            continue
        combined = [n + 0.5 * o for n, o in scores]
        exact_option = [
            any(text_score(segment, str(v)) >= 0.99 for v in (item.get("options") or {}).values())
            for item in items
        ]
        valid = [i for i, (n, _) in enumerate(scores) if n >= 0.5 or exact_option[i]]
        if not valid:
            continue
        best = max(combined[i] for i in valid)
        named = True
        top = [i for i in valid if combined[i] >= best - 0.05]
        plural = bool(_PLURAL.search(segment)) or _plural_name(segment, items, top)
        if plural:
            chosen.extend(i for i in top if i not in chosen)
            continue
        same_variant = len({items[i].get("item_id") for i in top}) == 1
        if len(top) == 1 or same_variant:
            pick = next((i for i in top if i not in chosen), top[0])
            if pick not in chosen:
                chosen.append(pick)
            continue
        ambiguous.append(top)
    if not named and _THEM_ALL.search(text) and (len(items) == 2 or "both" not in text.lower()):
        return ItemChoice(every, (), True)
    # A vague mention ("the vacuum") is settled when another one picked one of its items.
    unsettled = sorted({i for group in ambiguous if not set(group) & set(chosen) for i in group})
    return ItemChoice(tuple(chosen), tuple(unsettled), named)


def match_strength(
    text: str, items: Sequence[dict[str, Any]], embedder: Embedder | None = None
) -> float:
    """How well ``items`` fit the mentions in ``text``.

    The best item's fit (0-1.5), plus 0.1 for every further mention that names one of them:
    "the tablet / pet bed / jacket order" is the order with all four, not another one with a
    jacket.
    """
    best = 0.0
    named = 0
    for segment in _segments(text):
        scores = _segment_scores(segment, items, embedder)
        fits = [name + 0.5 * option for name, option in scores if name >= 0.5]
        if fits:
            named += 1
            best = max(best, *fits)
    return best + 0.1 * max(named - 1, 0)


def _plural_name(segment: str, items: Sequence[dict[str, Any]], top: list[int]) -> bool:
    """Whether the mention uses the plural of the items' name ("shirts" for T-Shirt)."""
    if len(top) < 2:
        return False
    raw = re.findall(r"[a-z]+", segment.lower())
    for index in top:
        name = str(items[index].get("name", ""))
        name_tokens = norm_tokens(name)
        head = name_tokens[-1] if name_tokens else ""
        as_named = set(re.findall(r"[a-z]+", name.lower()))
        for word in raw:
            folded = norm_tokens(word)
            if word.endswith("s") and folded and folded[0] == head and word not in as_named:
                return True
    return False


# -- variants of a product ---------------------------------------------------------------------
_NEGATED = re.compile(
    r"\b(?:instead\s+of|rather\s+than|not|no\s+longer|from|than|replace|swap\s+out|too|"
    r"currently|current(?:ly)?\s+(?:is|have)|i\s+have)\s+(?:the\s+|a\s+|an\s+|my\s+)?$",
    re.IGNORECASE,
)
_SAME = re.compile(r"\b(?:same\s+(?:one|item|model|thing|variant)|identical|replacement)\b", re.I)
_CHEAPEST = re.compile(
    r"\b(?:cheapest|lowest\s+price|least\s+expensive|most\s+affordable|cheaper)\b", re.I
)


def _without(text: str, option: str) -> bool:
    """Whether the customer does without an option ("no backlight", "don't need the X")."""
    word = re.escape(option.split()[-1])
    return bool(
        re.search(
            rf"\b(?:no|without|(?:don'?t|do\s+not)\s+(?:need|want)\s+(?:the\s+|a\s+|any\s+)?)"
            rf"{word}s?\b",
            text,
            re.IGNORECASE,
        )
    )


_IF_PRICE = re.compile(
    r"\b(?:if|in\s+case|should)\s+(?:it|that|this|the\s+\w+)\s+(?:\w+\s+){0,3}?"
    r"(?:cheaper|more\s+expensive|pricier)\b",
    re.IGNORECASE,
)
_PRICIEST = re.compile(
    r"\b(?:most\s+expensive|priciest|highest\s+price|top\s+of\s+the\s+line|best)\b", re.I
)


@dataclass(frozen=True)
class VariantChoice:
    """The variant the customer wants.

    Attributes:
        item_id: The chosen available variant, or None when it is not settled.
        wanted: The option values the customer named, by option.
        candidates: Available variants that fit what was named (when several do).
        unavailable: The customer named values no available variant has.
    """

    item_id: str | None
    wanted: dict[str, str] = field(default_factory=dict)
    candidates: tuple[str, ...] = ()
    unavailable: bool = False


def _value_variants(option: str, value: str) -> list[tuple[str, ...]]:
    """Token spellings of one option value, sizes and yes/no values included."""
    tokens = norm_tokens(value)
    spellings = [tokens]
    lowered = value.lower()
    if "size" in option.lower() and lowered in _SIZE_WORDS:
        spellings.append(norm_tokens(_SIZE_WORDS[lowered]))
    return spellings


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> int:
    """Start of ``needle`` in ``haystack`` (tokens, typo tolerant for long ones), or -1."""
    n = len(needle)
    for start in range(len(haystack) - n + 1):
        if all(_token_sim(haystack[start + k], needle[k]) >= 0.85 for k in range(n)):
            return start
    return -1


def option_mentions(
    text: str, options: dict[str, list[str]], current: dict[str, str] | None = None
) -> dict[str, str]:
    """The option values ``text`` names, by option (a changed value wins over the current).

    ``options`` maps each option to its possible values. "clicky switches" -> switch type
    clicky; "size L" / "a large" -> size L; "waterproof" -> waterproof yes; "no backlight" ->
    backlight none; "instead of Apple HomeKit" is not a wish for HomeKit. A word that is a
    value of two options ("medium" size or ventilation) goes to the option the text names,
    else to size or color, else to neither.
    """
    current = current or {}
    tokens = list(norm_tokens(text))
    raw_words = text.split()
    # option -> [(score, value, token position or -1)]
    hits: dict[str, list[tuple[float, str, int]]] = {}
    for option, values in options.items():
        option_tokens = norm_tokens(option)
        shared = _shared_tokens(values)
        for value in values:
            hit = _value_hit(text, tokens, raw_words, option, option_tokens + shared, value)
            if hit is not None:
                hits.setdefault(option, []).append((hit[0], value, hit[1]))
    claimed: dict[int, list[str]] = {}
    for option, found in hits.items():
        for _, _, position in found:
            if position >= 0:
                claimed.setdefault(position, [])
                if option not in claimed[position]:
                    claimed[position].append(option)
    for position, owners in claimed.items():
        if len(owners) < 2:
            continue
        keep = _span_owner(tokens, owners)
        for option in owners:
            if option != keep:
                hits[option] = [h for h in hits[option] if h[2] != position]
    chosen: dict[str, str] = {}
    for option, found in hits.items():
        if not found:
            continue
        top = max(score for score, _, _ in found)
        best = sorted({value for score, value, _ in found if score == top})
        changed = [v for v in best if v != current.get(option)]
        if len(best) == 1:
            chosen[option] = best[0]
        elif len(changed) == 1:
            chosen[option] = changed[0]
    return chosen


def _shared_tokens(values: Sequence[str]) -> tuple[str, ...]:
    """Tokens found in more than one value of an option ("card" of SD card and CF card)."""
    seen: dict[str, int] = {}
    for value in values:
        for token in set(norm_tokens(value)):
            seen[token] = seen.get(token, 0) + 1
    return tuple(t for t, n in seen.items() if n > 1)


def _number_named(
    tokens: Sequence[str], number: str, option_tokens: Sequence[str], text: str
) -> bool:
    if re.fullmatch(rf"\s*(?:size\s*)?{re.escape(number)}\W*", text, re.IGNORECASE):
        return True
    names = set(option_tokens) | {"size"}
    for position, token in enumerate(tokens):
        if token != number:
            continue
        around = [*tokens[max(0, position - 2) : position], *tokens[position + 1 : position + 3]]
        if any(_token_sim(word, name) >= 0.85 for word in around for name in names):
            return True
    return False


def _span_owner(tokens: Sequence[str], owners: list[str]) -> str | None:
    named = [o for o in owners if _contains(tokens, norm_tokens(o)) >= 0]
    if len(named) == 1:
        return named[0]
    for preferred in ("size", "color"):
        if preferred in owners:
            return preferred
    return None


def _value_hit(
    text: str,
    tokens: list[str],
    raw_words: list[str],
    option: str,
    option_tokens: tuple[str, ...],
    value: str,
) -> tuple[float, int] | None:
    """(score, token position) of one option value in the text, or None."""
    lowered = value.lower()
    if lowered in ("yes", "no", "none") or lowered.startswith("not "):
        return (1.0, -1) if _flag_value(text, option, lowered) else None
    for spelling in _value_variants(option, value):
        if len(spelling) == 1 and len(spelling[0]) <= 2 and not spelling[0].isdigit():
            if _short_size(raw_words, value, option):
                return 1.0, -1
            continue
        # A bare number ("9") counts next to its option's name ("size 9", "1500 pieces").
        bare_number = bool(spelling) and spelling[0].isdigit() and len(spelling) == 1
        if bare_number and not _number_named(tokens, spelling[0], option_tokens, text):
            continue
        start = _contains(tokens, spelling)
        if start >= 0:
            before = " ".join(tokens[max(0, start - 4) : start])
            if _NEGATED.search(before + " "):
                return None
            return 1.0, start
        partial = _partial(tokens, spelling, option_tokens)
        if partial:
            return partial, -1
    return None


def _partial(tokens: Sequence[str], spelling: Sequence[str], option_tokens: Sequence[str]) -> float:
    """Credit for naming a distinctive part of a multi-word value.

    "google" of Google Assistant counts; generic words and the option's own name do not.
    """
    if len(spelling) < 2:
        return 0.0
    distinctive = [
        t for t in spelling if t not in _STOP and t not in option_tokens and not t.isdigit()
    ]
    if not distinctive:
        return 0.0
    matched = [t for t in distinctive if _best(t, tokens) >= 0.9]
    return 0.5 * len(matched) / len(spelling) if matched else 0.0


def _short_size(words: Sequence[str], value: str, option: str) -> bool:
    if "size" not in option.lower():
        return False
    pattern = re.compile(rf"^(?:size\s*)?{re.escape(value)}[.,!?)]*$", re.IGNORECASE)
    joined = " ".join(words)
    if re.search(rf"\bsize\s*:?\s*{re.escape(value)}\b", joined, re.IGNORECASE):
        return True
    return any(pattern.match(w) and w.strip(".,!?)").isupper() for w in words)


def _flag_value(text: str, option: str, value: str) -> bool:
    lowered = text.lower()
    name = re.escape(option.lower())
    negative = re.search(rf"\b(?:no|not|non|without|zero|none)[\s-]+(?:\w+\s+)?{name}", lowered)
    if value == "none":
        return bool(negative)
    if value.startswith("not "):
        return bool(negative) or value in lowered
    mentioned = re.search(rf"\b{name}\b", lowered)
    if value == "no":
        return bool(negative)
    return bool(mentioned) and not negative


def choose_variant(
    text: str,
    current: dict[str, Any],
    variants: dict[str, dict[str, Any]],
    embedder: Embedder | None = None,
) -> VariantChoice:
    """The variant of the product ``text`` asks for, starting from the ``current`` item.

    The wanted options are the current item's with the values the customer named; the
    exact variant is chosen when it is available, else the available variant that keeps
    most of the other options ("cheapest" / "most expensive" pick by price).
    """
    options: dict[str, list[str]] = {}
    for variant in variants.values():
        for key, value in (variant.get("options") or {}).items():
            options.setdefault(str(key), [])
            if str(value) not in options[str(key)]:
                options[str(key)].append(str(value))
    base: dict[str, str] = {str(k): str(v) for k, v in (current.get("options") or {}).items()}
    wanted = option_mentions(text, options, base)
    for option, values in options.items():
        if "none" in values and _without(text, option):
            wanted[option] = "none"  # "I don't need the backlight at all"
    for option, value in _relative(text, options, base).items():
        wanted.setdefault(option, value)
    if not wanted and embedder is not None:
        wanted = _embedded_mentions(text, options, base, embedder)
    plain = _IF_PRICE.sub(" ", text)  # "if it ends up cheaper, ..." asks for no price
    cheapest, priciest = bool(_CHEAPEST.search(plain)), bool(_PRICIEST.search(plain))
    changes = {k: v for k, v in wanted.items() if base.get(k) != v}
    if not changes and not (cheapest or priciest):
        same = bool(wanted) and (len(wanted) == len(options) or bool(_SAME.search(text)))
        if same and (variants.get(str(current.get("item_id"))) or {}).get("available"):
            return VariantChoice(str(current.get("item_id")), wanted)
        return VariantChoice(None, wanted)
    available = {
        item_id: v
        for item_id, v in variants.items()
        if v.get("available") and item_id != current.get("item_id")
    }
    fitting = {
        item_id: v
        for item_id, v in available.items()
        if all(str((v.get("options") or {}).get(k)) == val for k, val in wanted.items())
    }
    if not fitting:
        return VariantChoice(None, wanted, (), True)
    if cheapest or priciest:
        ranked = sorted(fitting.items(), key=lambda kv: (float(kv[1].get("price", 0)), kv[0]))
        pick = ranked[0] if cheapest else ranked[-1]
        return VariantChoice(pick[0], wanted)
    target = {**base, **wanted}
    exact = [i for i, v in fitting.items() if dict(v.get("options") or {}) == target]
    if exact:
        return VariantChoice(exact[0], wanted)

    def kept(v: dict[str, Any]) -> int:
        opts = v.get("options") or {}
        return sum(1 for k, val in base.items() if k not in wanted and opts.get(k) == val)

    best = max(kept(v) for v in fitting.values())
    top = sorted(i for i, v in fitting.items() if kept(v) == best)
    if len(top) == 1:
        return VariantChoice(top[0], wanted)
    return VariantChoice(None, wanted, tuple(top))


_UP = re.compile(
    r"\b(?:bigger|larger|roomier|(?:one|a|half\s+a|next)\s+size\s+(?:up|bigger|larger)|"
    r"size\s+up|up\s+a\s+size)\b",
    re.IGNORECASE,
)
_DOWN = re.compile(
    r"\b(?:smaller|tighter|(?:one|a|half\s+a|next)\s+size\s+(?:down|smaller)|size\s+down|"
    r"down\s+a\s+size)\b",
    re.IGNORECASE,
)
_MORE = re.compile(r"\b(?:more|bigger|larger|higher|longer|extra)\s+([a-z][a-z ]*)", re.IGNORECASE)
_LESS = re.compile(r"\b(?:less|smaller|lower|shorter)\s+([a-z][a-z ]*)", re.IGNORECASE)
_SCALES = (
    ("xs", "s", "m", "l", "xl", "xxl"),
    ("small", "medium", "large"),
    ("low", "medium", "high"),
)


def _rank(values: list[str]) -> list[str] | None:
    """The values in increasing order, when they have one (numbers, sizes, low-high)."""
    lowered = [v.lower() for v in values]
    for scale in _SCALES:
        if all(v in scale for v in lowered):
            return sorted(values, key=lambda v: scale.index(v.lower()))
    numbers = []
    for value in values:
        found = re.match(r"\s*(\d+(?:\.\d+)?)\s*(tb|gb|mb)?", value.lower())
        if found is None:
            return None
        unit = {"tb": 1e6, "gb": 1e3, "mb": 1.0}.get(found.group(2) or "", 1.0)
        numbers.append(float(found.group(1)) * unit)
    return [v for _, v in sorted(zip(numbers, values, strict=True))]


def _relative(text: str, options: dict[str, list[str]], base: dict[str, str]) -> dict[str, str]:
    """Values one step up or down from the current ones ("one size bigger", "more storage")."""
    steps: dict[str, int] = {}
    sizes = [o for o in options if "size" in o.lower()]
    if _UP.search(text) and sizes:
        steps[sizes[0]] = 1
    if _DOWN.search(text) and sizes:
        steps[sizes[0]] = -1
    for pattern, step in ((_MORE, 1), (_LESS, -1)):
        for match in pattern.finditer(text):
            words = norm_tokens(match.group(1))[:3]
            for option in options:
                if any(_token_sim(w, t) >= 0.85 for w in words for t in norm_tokens(option)):
                    steps[option] = step
    found: dict[str, str] = {}
    for option, step in steps.items():
        ranked = _rank(options[option])
        current = base.get(option)
        if ranked is None or current not in ranked:
            continue
        position = ranked.index(current) + step
        if 0 <= position < len(ranked):
            found[option] = ranked[position]
    return found


def _embedded_mentions(
    text: str, options: dict[str, list[str]], base: dict[str, str], embedder: Embedder
) -> dict[str, str]:
    """Option values close in meaning to the text, when no word matched ("Google Home")."""
    content = " ".join(t for t in norm_tokens(text) if t not in _STOP)
    if not content:
        return {}
    found: dict[str, str] = {}
    for option, values in options.items():
        labels = [f"{value} {option}" for value in values]
        sims = similar(embedder, content, labels)
        order = sorted(range(len(values)), key=lambda i: -sims[i])
        top = order[0]
        margin = sims[top] - (sims[order[1]] if len(order) > 1 else 0.0)
        if sims[top] >= 0.6 and margin >= 0.08 and values[top] != base.get(option):
            found[option] = values[top]
    return found
