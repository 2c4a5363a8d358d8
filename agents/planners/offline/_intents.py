"""Intent classification: nearest neighbours over labelled utterances, per clause.

A message is split into clauses (sentences, and "and"/"also" joins that open a new request);
each clause is classified by the labelled examples of ``intents.yaml`` nearest to it in the
sentence model's space, with a confidence score. Consecutive clauses of the same intent are
one request; clauses that carry no request (an email, "thanks") are left to the entity readers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import yaml

from agents.errors import AgentConfigError
from agents.planners.offline._embedder import Embedder, Vectors
from agents.planners.offline._entities import mask_entities, parse_address

__all__ = [
    "EXAMPLES_FILE",
    "INTENTS",
    "REQUESTS",
    "Intent",
    "IntentClassifier",
    "Prediction",
    "cued_intents",
    "examples_digest",
    "load_examples",
    "names_another_shop",
    "ruled_out_before",
    "rules_out",
    "split_clauses",
]

Intent = Literal[
    "order_status",
    "cancel",
    "modify_address",
    "modify_payment",
    "modify_items",
    "return",
    "exchange",
    "reroute",
    "refund_status",
    "change_default_address",
    "human",
    "out_of_scope",
    "account_info",
    "product_info",
    "unsupported",
    "greeting",
]
INTENTS: tuple[Intent, ...] = get_args(Intent)
REQUESTS: frozenset[Intent] = frozenset(INTENTS) - {"greeting"}
"""Intents that are a request of the customer (``greeting`` is not)."""

EXAMPLES_FILE = "intents.yaml"
_K = 7
_OUT_OF_SCOPE = INTENTS.index("out_of_scope")
_DEFAULT_ADDRESS = INTENTS.index("change_default_address")
_CUE_BONUS = 0.6

# The orders to come: "from now on", "future deliveries", "all my next packages".
_TO_COME = (
    r"\bfrom\s+now\s+on\b|\b(?:all\s+)?(?:my\s+)?(?:next|future)\s+(?:packages|parcels|orders|"
    r"deliveries)\b"
)
_OTHER_SHOPS = (
    r"\b(?:amazon|best\s*buy|walmart|costco|ebay|(?:at|from)\s+target|competitors?|"
    r"(?:another|other)\s+(?:store|shop|retailer|website|site)s?)\b"
)

# Words that name a request outright. They add to the neighbours' votes, so that a clause
# like "can I return the jeans, they don't fit" is not pulled to "exchange" by its topic.
_CUE_PATTERNS: tuple[tuple[Intent, str], ...] = (
    (
        "return",
        r"\breturn(?:ing)?\b(?!ed\b)|\b(?:send|give)\s+(?:\w+\s+){0,3}back\b|"
        r"\b(?:want|like|need|get)\s+(?:a|my)\s+refund\s+(?:for|on)\b|\brefund\s+me\s+for\b|"
        r"\brefund\s+(?:it|them|this|that|the\s+\w+(?:\s+\w+)?)\s+(?:to|on|onto)\s+(?:my|the)\b|"
        r"\b(?:rather|just|want|like|prefer)\s+(?:\w+\s+){0,6}(?:my\s+)?money\s+back\b|"
        r"\bget\s+(?:my|the|our)\s+money\s+back\s+(?:for|on)\s+(?:the|my|it|them|both|this|these)\b|"
        r"\bevery\s+(?:cent|penny|dollar)\s+back\b|\bfull\s+refund\b",
    ),
    ("exchange", r"\bexchang\w*|\bswap\w*|\btrade\b"),
    (
        "cancel",
        r"(?<!noise\s)(?<!noise-)\bcancel(?!l?ed)\w*|\bcancle\b|"
        r"\bstop\s+(?:it|them|the\s+order|my\s+order)\s+(?:before|from)\b|\bcall\s+off\b",
    ),
    (
        "order_status",
        r"\btrack(?:ing)?\b|\bwhere(?:'s|\s+is)\s+my\s+(?:order|package|parcel)|"
        r"\b(?:has|did|is)\s+(?:it|my\s+\w+|the\s+\w+)\s+(?:ship|shipped|arrive|arrived|"
        r"been\s+(?:shipped|delivered))\b|\bstatus\s+of\s+(?:my\s+)?order|"
        r"\bwhen\s+(?:is|are|will|does|do)\s+(?:\w+\s+){0,8}?(?:show\s+up|arrive|get\s+here|"
        r"be\s+delivered|turn\s+up)\b|\bstill\s+waiting\s+(?:on|for)\b|"
        r"\b(?:whether|if)\s+(?:\w+\s+){0,8}?(?:made\s+it|arrived|got\s+(?:there|here)|"
        r"(?:was|were|got)\s+delivered|been\s+delivered)\b|"
        r"\bstill\s+no\s+(?:sign\s+of\s+)?(?:my\s+|the\s+)?\w+|"
        r"\bdid\s+(?:\w+\s+){0,10}?(?:get|got|been)\s+delivered\b|"
        r"\bstill\s+(?:not|hasn'?t|haven'?t)\s+(?:here|arrived|come|shown\s+up|turned\s+up)\b|"
        r"\bwhere\s+(?:that|the|my|this|our)\s+(?:\w+\s+)?(?:parcel|package|order|shipment|box)\s+"
        r"(?:is|are|has\s+got\s+to)\b",
    ),
    (
        "refund_status",
        r"\b(?:where|when|status|has|have|haven'?t|hasn'?t|still|yet|missing|processed|"
        r"issued)\b.*\brefund|\brefund\w*\b.*\b(?:yet|status|arrive|processed|issued|missing)\b|"
        r"\bwhen\s+(?:will|do|can)\s+i\s+(?:see|get|receive)\s+(?:that|the|my)\s+(?:money|refund|credit)\b|"
        r"\b(?:money|credit)\s+(?:has\s+|have\s+)?(?:ever\s+|actually\s+|really\s+)?(?:gone|went|go|goes|come|came|coming|"
        r"got|been\s+\w+)\s+"
        r"(?:back|through)\b|\bmoney\s+back\s+yet\b|"
        r"\b(?:told|said|promised)\b[^.?!]*\b(?:difference|money|refund)\s+back\b",
    ),
    (
        "human",
        r"\b(?:human|real\s+person|live\s+agent|representative|operator|member\s+of\s+(?:staff|"
        r"the\s+team)|staff\s+member)\b|"
        # A manager asked for, not one the customer claims to be ("I am the store manager").
        r"\b(?:speak|talk|get|want|need|see|connect|transfer|escalate|put)\b(?:\s+\w+){0,4}?"
        r"\s+(?:a|an|the|your|some)\s+(?:\w+\s+)?(?:manager|supervisor)\b",
    ),
    (
        "reroute",
        r"\b(?:reroute|re-route|redirect|divert)\w*|\bin\s+transit\b|"
        # "can you send it there instead?", "deliver the parcel to my office"
        r"\b(?:send|deliver|bring|ship)\s+(?:it|them|the\s+(?:\w+\s+)?(?:parcel|package|order))"
        r"\s+(?:[\w']+\s+){0,5}?(?:instead|elsewhere|to\s+(?:my|our)\s+(?:\w+\s+)?"
        r"(?:office|work|workplace))\b",
    ),
    (
        # "use my gift card for the pet bed order instead of my credit card", "I paid with the
        # wrong visa"
        "modify_payment",
        r"\bpaid\s+(?:\S+\s+){0,3}?with\s+the\s+wrong\s+(?:card|visa|mastercard|amex|discover|"
        r"method|account)\b|\bwrong\s+(?:card|payment\s+method)\b|"
        r"\b(?:use|put|pay|charge)\b(?:(?!\brefund|\bmoney\s+back)[^.?!])*\binstead\s+of\s+(?:my|the)\s+"
        r"(?:credit\s+card|card|visa|mastercard|amex|discover|paypal)\b",
    ),
    (
        # "... and my pending order should ship there too", "make sure the order goes there"
        "modify_address",
        r"\b(?:ship|ships|shipped|go|goes|sent|deliver(?:ed)?|arrive|come)\s+(?:\w+\s+){0,2}?"
        r"(?:there|to\s+(?:that|the\s+new|my\s+new|this|the\s+same)\s+(?:address|place))\b|"
        # "sent to my mom's house instead", "go straight to my local bike shop"
        r"\b(?:send|sent|ship|shipped|deliver(?:ed)?|go|come)\s+(?:[\w']+\s+){0,8}?to\s+"
        r"(?:my|our|her|his|their|a\s+friend'?s|my\s+friend'?s)\s+"
        r"(?:[\w']+\s+){0,2}?(?:house|home|place|apartment|flat|office|work|shop|store)\b"
        r"(?:\s+instead)?",
    ),
    (
        "modify_items",
        r"\b(?:change|switch|swap|modify|update|upgrade|downgrade)\s+(?:the|my)\s+"
        r"(?:[\w#-]+\s+){0,4}?(?:to|for|into)\s+(?:the|a|an)\s+(?:[\w-]+\s+){0,3}?"
        r"(?:one|version|model|setting|variant|size|colou?r|type)\b|"
        r"\b(?:change|switch|swap)\s+(?:it|them|this|that)\s+(?:to|for|into)\s+(?:the|a|an)\s+"
        r"(?:[\w-]+\s+){0,4}?(?:one|version|model|variant)\b|"
        r"\b(?:like|want|need|prefer|get)\s+the\s+(?:[\w-]+\s+){0,4}?(?:version|model|variant)\s+"
        r"(?:of\s+the\s+same\s+\w+\s+)?instead\b|"
        # a price difference is an item change's: "put whatever extra it costs on my Amex"
        r"\b(?:charge|put|pay|bill|cover)\b[^.?!]{0,30}?\b(?:the|any|whatever(?:\s+the)?)\s+"
        r"(?:price\s+)?difference\b|\bwhatever\s+(?:extra|more)\s+it\s+costs\b|"
        r"\b(?:charge|put|pay|bill)\s+(?:the|any)\s+extra\b",
    ),
    # Other shops' products, prices and parcels: "is the one they sell at Best Buy better?"
    ("out_of_scope", _OTHER_SHOPS),
    (
        # advice that is not the shop's to give
        "out_of_scope",
        r"\bmy\s+taxes\b|\bdeduct(?:ible|ion)?\b|\btax\s+(?:return|advice)\b|"
        r"\b(?:legal|medical|financial|investment)\s+advice\b",
    ),
    (
        "unsupported",
        r"\bcompensat\w*|\binvestigat\w*|\bfile\s+a\s+(?:claim|complaint)\b",
    ),
    (
        "change_default_address",
        r"\b(?:default|profile|account|on\s+file|saved)\b.*\baddress|"
        r"\baddress\b.*\b(?:on\s+file|on\s+my\s+account|profile)\b|"
        r"\b(?:change|update)\b.*\b(?:in|on)\s+my\s+(?:profile|account)\b|"
        rf"{_TO_COME}|\bmy\s+(?:account|profile)\s+updated\b",
    ),
)
_CUES: tuple[tuple[Intent, re.Pattern[str]], ...] = tuple(
    (intent, re.compile(pattern, re.IGNORECASE)) for intent, pattern in _CUE_PATTERNS
)
_NEGATED = re.compile(
    r"\b(?:don'?t|do\s+not|doesn'?t|not|no|never|rather\s+than|instead\s+of)\s+"
    r"(?:(?:want|need|like|wish|asking\s+for|looking\s+for|to)\s+)?(?:(?:a|an|the|my|any)\s+)?$",
    re.IGNORECASE,
)


def _names(cue: re.Pattern[str], clause: str) -> bool:
    """Whether the clause names the cue's request other than to rule it out.

    "I don't want a return, I want someone to compensate me" does not ask for a return.
    """
    return any(not ruled_out_before(clause, m.start()) for m in cue.finditer(clause))


def ruled_out_before(text: str, start: int) -> bool:
    """Whether the words just before ``start`` rule out what follows ("not my ...")."""
    return bool(_NEGATED.search(text[:start]))


_OTHER_SHOP = re.compile(_OTHER_SHOPS, re.IGNORECASE)


def names_another_shop(text: str) -> bool:
    """Whether the text names another shop ("my Amazon package", "at Best Buy")."""
    return bool(_OTHER_SHOP.search(text))


@lru_cache(maxsize=4096)
def _ruled_out(clause: str) -> frozenset[Intent]:
    """The intents a clause names only to rule out ("I don't want a return")."""
    clause = spell_fix(clause)
    return frozenset(
        intent for intent, cue in _CUES if cue.search(clause) and not _names(cue, clause)
    )


_SENDING = re.compile(r"\b(?:send|ship|deliver|redirect|forward)\w*\b", re.IGNORECASE)
_FROM_NOW_ON = re.compile(_TO_COME, re.IGNORECASE)


def rules_out(clause: str) -> bool:
    """Whether the clause only rules requests out ("Only this order, not my account address")."""
    return bool(_ruled_out(clause)) and not cued_intents(clause)


@lru_cache(maxsize=4096)
def cued_intents(clause: str) -> frozenset[Intent]:
    """The intents a clause names outright ("return", "cancel", "a human"...).

    Where the clause speaks of the orders to come ("from now on", "future orders go there"),
    the address it names is the account's, not an order's.
    """
    clause = spell_fix(clause)
    found = frozenset(intent for intent, cue in _CUES if _names(cue, clause))
    if _SENDING.search(clause) and parse_address(clause) and "change_default_address" not in found:
        found |= {"modify_address"}  # "send it to my nephew at 5120 E Colfax Ave, ..."
    if "change_default_address" in found and _FROM_NOW_ON.search(clause):
        found -= {"modify_address", "reroute"}
    return found


_VOCABULARY = (
    "return", "returning", "cancel", "cancelled", "exchange", "refund", "address", "delivery",
    "delivered", "package", "shipping", "shipped", "payment", "tracking", "default", "reroute",
    "received", "replace", "modify", "account", "change", "order", "human", "person",
    "instead",
)  # fmt: skip
_TOKEN = re.compile(r"[A-Za-z]{4,}")


# Real words one edit away from a request word: never "corrected".
_REAL_WORDS = frozenset({"chance", "chances", "charge", "charged", "older", "persona", "shopping"})


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether one insertion, deletion, substitution or swap of neighbours turns a into b."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        first = diffs[0]
        return (
            len(diffs) == 2
            and diffs[1] == first + 1
            and a[first] == b[first + 1]
            and (a[first + 1] == b[first])
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@lru_cache(maxsize=4096)
def spell_fix(text: str) -> str:
    """Correct typos of the words that carry a request ("retrun" -> "return", "cancle").

    A typo is one edit (a letter added, dropped, replaced, or two neighbours swapped) from a
    request word with the same first letter; real words such as "charge" stay as they are.
    """

    def fix(match: re.Match[str]) -> str:
        word = match.group()
        lowered = word.lower()
        if lowered in _VOCABULARY or lowered in _REAL_WORDS:
            return word
        for known in _VOCABULARY:
            if lowered.startswith(known):
                return word  # an inflection ("changed", "returns"), not a typo
            if known[0] == lowered[0] and _one_edit_apart(lowered, known):
                return known
        return word

    return _TOKEN.sub(fix, text)


def _examples_text() -> str:
    return (resources.files("agents.planners.offline") / EXAMPLES_FILE).read_text("utf-8")


def examples_digest() -> str:
    """A short hash of the labelled examples file."""
    return hashlib.sha256(_examples_text().encode()).hexdigest()[:16]


def load_examples() -> list[tuple[Intent, str]]:
    """The labelled utterances, in file order.

    Raises:
        AgentConfigError: The file is malformed or names an unknown intent.
    """
    data = yaml.safe_load(_examples_text())
    if not isinstance(data, dict) or not isinstance(data.get("intents"), dict):
        raise AgentConfigError(f"{EXAMPLES_FILE}: expected a mapping with 'intents'")
    examples: list[tuple[Intent, str]] = []
    for label, lines in data["intents"].items():
        if label not in INTENTS:
            raise AgentConfigError(f"{EXAMPLES_FILE}: unknown intent {label!r}")
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise AgentConfigError(f"{EXAMPLES_FILE}: {label} needs a list of utterances")
        examples.extend((label, str(line)) for line in lines)
    return examples


# -- clauses -----------------------------------------------------------------------------------
_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\n+|(?<=[a-z0-9)])[.!?]+$")
_OPENERS = (
    r"i|i'd|i'm|i'll|im|id|also|please|pls|can|could|would|will|cancel|return|exchange|"
    r"change|update|modify|track|where|what|when|how|send|reroute|redirect|refund|switch|swap|"
    r"replace|tell|let|check|help|need|want|get|give|then|and|is|has|did|do|use|pay|ship|"
    r"connect|transfer|talk|speak|make|"
    r"my\s+(?:\w+\s+)?(?:refund|package|parcel|order|default|address)"
)
_JOIN = re.compile(
    rf"(?:,\s*|\s+)(?:and\s+also|and\s+then|and|also|plus|as\s+well\s+as|but\s+also|then)"
    rf"\s+(?=(?:{_OPENERS})\b)|\s+also,?\s+(?=(?:{_OPENERS})\b)",
    re.IGNORECASE,
)


def split_clauses(text: str) -> list[str]:
    """Split a message into clauses: sentences, and joins that open a new request.

    "Cancel #W1 and return the shoes" -> ["Cancel #W1", "return the shoes"]; item lists
    ("the cleaner, headphone, and smart watch") stay whole.
    """
    clauses: list[str] = []
    for sentence in _SENTENCES.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        pieces = _JOIN.split(sentence)
        clauses.extend(p.strip(" ,") for p in pieces if p and p.strip(" ,"))
    return clauses


# -- the request's core -------------------------------------------------------------------------
_DETAILS = (
    re.compile(r"\([^)]*\)"),
    re.compile(
        r"\b(?:to|for|into|with)\s+(?:the\s+|a\s+|an\s+)?(?:one|ones|version|model|variant)s?\s+"
        r"(?:with|in|that|which|having)\b[^.;]*?(?=\band\s+(?:the|my)\b|[.;]|$)",
        re.IGNORECASE,
    ),
    re.compile(r",?\s*\busing\s+(?:my|the|a|an)\b[^.;]*", re.IGNORECASE),
    re.compile(r",?\s*\bwith\s+the\s+refund\s+(?:to|on|going\s+to)\b[^.;]*", re.IGNORECASE),
    re.compile(r"\bbecause\b[^.;]*", re.IGNORECASE),
)


def request_core(clause: str) -> str:
    """The clause without the details that dilute what is asked.

    Option lists, the payment method to use, an address, a reason go: "change the t-shirt to
    the one with purple color, using my gift card" -> "change the t-shirt".
    """
    core = clause
    for pattern in _DETAILS:
        core = pattern.sub(" ", core)
    if parse_address(core) is not None:
        core = re.sub(r"\b\d+[A-Za-z]?\s+[A-Za-z].*$", " ", core)
    core = " ".join(core.split()).strip(" ,")
    return core if len(core.split()) >= 2 else clause


# -- classifier --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prediction:
    """The intent of one clause.

    Attributes:
        clause: The clause as the customer wrote it.
        intent: The best intent.
        confidence: 0-1: the nearest example's similarity, scaled by the share of the
            neighbours' votes the intent got.
        runner_up: The second intent by votes.
    """

    clause: str
    intent: Intent
    confidence: float
    runner_up: Intent | None = None


class IntentClassifier:
    """k-nearest-neighbour intents over the labelled examples' sentence vectors.

    Args:
        embedder: The sentence vectors.
        examples: ``(intent, utterance)`` pairs (default: the packaged ``intents.yaml``).
        cache_dir: Where the examples' vectors are kept between processes (optional).
    """

    def __init__(
        self,
        embedder: Embedder,
        examples: list[tuple[Intent, str]] | None = None,
        *,
        cache_dir: Path | None = None,
    ) -> None:
        self.embedder = embedder
        self.examples = examples if examples is not None else load_examples()
        self.labels: list[Intent] = [label for label, _ in self.examples]
        self._label_ids = np.array([INTENTS.index(label) for label in self.labels])
        self.matrix = self._vectors(cache_dir)

    def _vectors(self, cache_dir: Path | None) -> Vectors:
        texts = [mask_entities(text) for _, text in self.examples]
        key = hashlib.sha256(("\n".join(texts) + "|" + self.embedder.name).encode()).hexdigest()[
            :16
        ]
        path = cache_dir / f"offline-intents-{key}.npy" if cache_dir is not None else None
        if path is not None and path.exists():
            try:
                cached: Vectors = np.load(path)
                if cached.shape[0] == len(texts):
                    return cached
            except (OSError, ValueError):
                pass
        matrix = self.embedder(texts)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".tmp.npy")
                np.save(partial, matrix)
                partial.replace(path)
            except OSError:
                pass
        return matrix

    def classify(self, clause: str) -> Prediction:
        """The intent of one clause: of its core when that is clearer than the whole."""
        fixed = spell_fix(clause)
        whole = self._classify(fixed, fixed)
        core = request_core(fixed)
        if core == fixed:
            return Prediction(clause, whole.intent, whole.confidence, whole.runner_up)
        stripped = self._classify(core, fixed)
        best = stripped if stripped.confidence > whole.confidence else whole
        return Prediction(clause, best.intent, best.confidence, best.runner_up)

    def _classify(self, text: str, clause: str) -> Prediction:
        vector = self.embedder.one(mask_entities(text) or text)
        sims = self.matrix @ vector
        top = np.argsort(-sims, kind="stable")[:_K]
        votes = np.zeros(len(INTENTS), dtype=np.float64)
        best_sim = np.zeros(len(INTENTS), dtype=np.float64)
        for index in top:
            label = self._label_ids[index]
            weight = max(float(sims[index]), 0.0) ** 2
            votes[label] += weight
            best_sim[label] = max(best_sim[label], float(sims[index]))
        votes /= float(votes.sum()) or 1.0
        cued = [INTENTS.index(intent) for intent in cued_intents(clause)]
        for label in _ruled_out(clause):
            votes[INTENTS.index(label)] = 0.0
        for label in cued:
            votes[label] += _CUE_BONUS / len(cued)
        order = np.argsort(-votes, kind="stable")
        winner = int(order[0])
        if _DEFAULT_ADDRESS in cued and _FROM_NOW_ON.search(clause):
            # "from now on I'd like my orders to come to my new place": the account's address
            winner = _DEFAULT_ADDRESS
            order = np.array([winner, *[int(i) for i in order if int(i) != winner]])
        elif cued == [_OUT_OF_SCOPE]:
            # Another shop, or advice that is not the shop's to give, is decisive on its own.
            winner = _OUT_OF_SCOPE
            order = np.array([winner, *[int(i) for i in order if int(i) != winner]])
        total = float(votes.sum()) or 1.0
        share = float(votes[winner]) / total
        confidence = float(best_sim[winner]) * (0.5 + 0.5 * min(share, 1.0))
        if winner in cued:
            confidence = max(confidence, 0.5)
        runner = INTENTS[int(order[1])] if votes[int(order[1])] > 0 else None
        return Prediction(clause, INTENTS[winner], round(confidence, 4), runner)
