"""The customer's requests in a conversation, rebuilt from the trace at every decision.

Walking the trace in order: each customer message is split into clauses; a clause that
answers the question just asked goes to the request that asked it, a clause with a clear
intent opens a request (one per order when it names several), and everything else is noted
as not understood. Write calls and policy decisions belong to the first open request they
can serve; a request is closed when an agent message carries one of its closing phrases
(see :data:`MARKERS`), so the transcript alone says what has been answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agents.planners.offline._entities import (
    cancel_reason,
    emails,
    is_dont_know,
    mask_entities,
    order_ids,
    parse_address,
    payment_ref,
    person_name,
    words,
    yes_no,
    zip_codes,
)
from agents.planners.offline._intents import (
    REQUESTS,
    Intent,
    Prediction,
    cued_intents,
    names_another_shop,
    rules_out,
    split_clauses,
)
from agents.planners.offline._reading import Conversation, CustomerMessage, Event

__all__ = [
    "CONFIDENT",
    "COUNTERPART",
    "FAMILY",
    "MARKERS",
    "NEEDS_AUTH",
    "TOOL_INTENT",
    "Task",
    "TaskBoard",
    "build_tasks",
]

LOW = 0.34
"""Below this confidence a clause is not understood."""
_LEAN = 0.22
"""From this confidence the best clause of a message naming an order opens its request."""
CONFIDENT = 0.55
"""From this confidence a clause in an answer opens a new request of another kind."""
_OUTRANKED = 0.65
"""Below this confidence, a clause that names no request gives way to a later clause of the
same message that names one outright."""
_SURE = 0.45
"""Below this confidence, a clause that names no request only sets the scene for a later
clause that names one and refers back to it."""

COUNTERPART: dict[tuple[Intent, str], Intent] = {
    ("cancel", "delivered"): "return",
    ("return", "pending"): "cancel",
    ("modify_payment", "delivered"): "exchange",
    ("exchange", "pending"): "modify_items",
    ("modify_items", "delivered"): "exchange",
}
"""The request an order's status turns a misread one into, by (request, status): "I want it
gone and my money back" is a return once the order turns out delivered."""

FAMILY: dict[Intent, frozenset[Intent]] = {
    "cancel": frozenset({"cancel"}),
    "modify_items": frozenset({"modify_items", "exchange"}),
    "exchange": frozenset({"modify_items", "exchange"}),
    "return": frozenset({"return"}),
    "modify_address": frozenset({"modify_address", "reroute"}),
    "reroute": frozenset({"modify_address", "reroute"}),
    "modify_payment": frozenset({"modify_payment"}),
    "change_default_address": frozenset({"change_default_address"}),
    "order_status": frozenset({"order_status"}),
    "refund_status": frozenset({"refund_status"}),
    "account_info": frozenset({"account_info"}),
    "product_info": frozenset({"product_info"}),
    "out_of_scope": frozenset({"out_of_scope"}),
    "human": frozenset({"human"}),
    "unsupported": frozenset({"unsupported"}),
    "greeting": frozenset({"greeting"}),
}

TOOL_INTENT: dict[str, Intent] = {
    "cancel_pending_order": "cancel",
    "modify_pending_order_address": "modify_address",
    "reroute_shipment": "reroute",
    "modify_pending_order_payment": "modify_payment",
    "modify_pending_order_items": "modify_items",
    "exchange_delivered_order_items": "exchange",
    "return_delivered_order_items": "return",
    "modify_user_address": "change_default_address",
}

ORDER_SCOPED: frozenset[Intent] = frozenset(
    {
        "order_status",
        "cancel",
        "modify_address",
        "modify_payment",
        "modify_items",
        "return",
        "exchange",
        "reroute",
        "refund_status",
    }
)
"""Intents about one order."""

NEEDS_AUTH: frozenset[Intent] = ORDER_SCOPED | {"change_default_address", "account_info"}
"""Intents that act on or disclose the customer's account."""

MARKERS: dict[Intent, tuple[str, ...]] = {
    "cancel": (
        "is now cancelled",
        "can't be cancelled",
        "couldn't be cancelled",
        "haven't cancelled",
    ),
    "modify_address": (
        "will now ship to",
        "can't change where",
        "couldn't change where",
        "haven't changed where",
    ),
    "reroute": (
        "is being rerouted",
        "can't be rerouted",
        "couldn't be rerouted",
        "haven't rerouted",
    ),
    "modify_payment": (
        "is now paid with",
        "can't change the payment",
        "couldn't change the payment",
        "haven't changed the payment",
    ),
    "modify_items": (
        "has been updated:",
        "can't be modified",
        "couldn't be modified",
        "couldn't modify",
        "haven't modified",
    ),
    "exchange": (
        "exchange request for",
        "can't be exchanged",
        "couldn't be exchanged",
        "haven't started an exchange",
    ),
    "return": (
        "return request for",
        "can't be returned",
        "couldn't be returned",
        "haven't started a return",
    ),
    "change_default_address": (
        "only help with orders on your own",
        "account's default is now",
        "haven't changed your account's default",
        "can't change your account's default",
        "couldn't change your account's default",
    ),
    "order_status": (
        "only help with orders on your own",
        "the latest on",
        "what i see on your account",
        "don't see any orders",
    ),
    "refund_status": ("only help with orders on your own", "refund details for", "no refunds on"),
    "account_info": ("here's what's on your account",),
    "product_info": ("here's what we have",),
    "out_of_scope": ("outside what i can help with",),
    "human": (),
    "unsupported": (),
    "greeting": (),
}
"""Closing phrases: every message that finishes a request has exactly one of its phrases."""


@dataclass
class Task:
    """One request of the customer.

    Attributes:
        intent: What was asked, as classified.
        start: Trace position of the message that asked it.
        texts: The clause and every answer given while it was being worked on.
        order_ids: Order ids named for it, in order (the last named wins).
        events: Write calls and decisions that served it.
        confidence: The classifier's confidence.
        closed: A closing message for it has been sent.
        asked: For each text, the facts the agent had asked for (empty for the request's
            own words).
        runner_up: The classifier's second choice for the request's words.
    """

    intent: Intent
    start: int
    texts: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    confidence: float = 0.0
    closed: bool = False
    asked: list[frozenset[str]] = field(default_factory=list)
    runner_up: Intent | None = None

    @property
    def family(self) -> frozenset[Intent]:
        """The intents this request may turn into once the order's status is known."""
        return FAMILY[self.intent]

    @property
    def text(self) -> str:
        """Everything said for this request, joined."""
        return " ".join(self.texts)

    def markers(self) -> tuple[str, ...]:
        """The closing phrases of this request."""
        found: list[str] = []
        for intent in sorted(self.family | _counterparts(self.intent)):
            found.extend(MARKERS[intent])
        return tuple(found)

    def done_write(self) -> Event | None:
        """The successful write that served this request, if any."""
        return next((e for e in self.events if e.kind == "tool" and e.ok), None)

    def text_for(self, *skip: str) -> str:
        """The request's words without answers to the questions named in ``skip``."""
        unwanted = set(skip)
        return " ".join(
            text for text, asked in zip(self.texts, self.asked, strict=True) if not asked & unwanted
        )

    def set_scene(self, clauses: list[str]) -> None:
        """Put the clauses that set the scene before the request's own words."""
        self.texts[:0] = clauses
        self.asked[:0] = [frozenset()] * len(clauses)
        for order in reversed([o for clause in clauses for o in order_ids(clause)]):
            if order not in self.order_ids:
                self.order_ids.insert(0, order)

    def add(
        self, text: str, *, bare_order: bool = False, asked: frozenset[str] = frozenset()
    ) -> None:
        """Add a clause or answer and the order ids it names."""
        self.texts.append(text)
        self.asked.append(asked)
        for order in order_ids(text, bare=bare_order):
            if order in self.order_ids:
                self.order_ids.remove(order)
            self.order_ids.append(order)


@dataclass
class TaskBoard:
    """The requests of a conversation and what else the walk found.

    Attributes:
        tasks: Every request, in the order asked.
        not_understood: Customer messages that carried nothing the planner could read.
        loose: Clauses that opened no request (identity, greetings...).
    """

    tasks: list[Task] = field(default_factory=list)
    not_understood: list[int] = field(default_factory=list)
    loose: list[str] = field(default_factory=list)

    def open(self) -> list[Task]:
        """Requests not closed yet, in order."""
        return [t for t in self.tasks if not t.closed]


Classify = Callable[[str], Prediction]


def _answers(clause: str, asked: frozenset[str]) -> bool:
    """Whether a clause reads as an answer to the facts asked for."""
    size = len(words(clause))
    if is_dont_know(clause) and size <= 12:
        return True
    if "email" in asked and emails(clause):
        return True
    if "zip" in asked and (zip_codes(clause, bare=True) or person_name(clause, asked=True)):
        return True
    if "order_id" in asked and order_ids(clause, bare=True):
        return True
    if "payment" in asked and payment_ref(clause):
        return True
    if "address" in asked and parse_address(clause):
        return True
    if "reason" in asked and (cancel_reason(clause) or size <= 10):
        return True
    return bool(asked & {"item", "new_variant"}) and size <= 80


_FILLER_WORDS = "it is it's its the my order number no id this that one here for of from in on"
_FILLER = frozenset(_FILLER_WORDS.split())


def _entity_only(clause: str) -> bool:
    """A clause that only names an order, an email or a payment method ("Order #W1234567.")."""
    if not (order_ids(clause) or emails(clause)):
        return False
    rest = [w for w in words(mask_entities(clause)) if w not in _FILLER]
    return len(rest) <= 1


_IDENTITY_WORDS = frozenset(
    {
        "hi", "hello", "hey", "this", "is", "i'm", "im", "i", "am", "it's", "its", "my", "name",
        "name's", "zip", "zipcode", "code", "postal", "email", "here", "and", "from", "speaking",
    }
)  # fmt: skip
_PREAMBLE = re.compile(
    r"^\s*(?:hi|hello|hey)?[,!]?\s*(?:i\s+have\s+|i'?ve\s+got\s+)?(?:two|2|three|3|a\s+couple\s+(?:of\s+)?|"
    r"couple\s+(?:of\s+)?|a\s+few|few|several)\s+(?:things|changes|requests|questions|issues)\b"
    r"[^.?!]{0,40}[.?!]?\s*$",
    re.IGNORECASE,
)
"""A clause that only announces the requests to come ("Two changes to order #W1 please.")."""
_KEEPS = re.compile(
    r"\b(?:leave|keep)\s+(?:it|them|the\s+order|my\s+order|the\s+rest|everything|things)\s+"
    r"(?:as\s+(?:it\s+is|they\s+are|is)|alone|the\s+same|unchanged)\b|"
    r"\bdon'?t\s+(?:cancel|change|return|touch)\s+(?:it|them|anything)\b",
    re.IGNORECASE,
)
"""What the customer keeps as it is ("leave the order as it is", "please don't cancel it")."""


_BARE = re.compile(
    r"^\s*(?:it'?s|it\s+is|that'?s|that\s+is|they'?re|they\s+are|i\s+mean)\s+(?:the|my|a|an)\s+"
    r"[^.?!,;]*[.!]?\s*$",
    re.IGNORECASE,
)


def _bare_mention(clause: str) -> bool:
    """A clause that only names a thing ("It's the jigsaw puzzle."): an answer, no request."""
    return bool(_BARE.search(clause)) and not cued_intents(clause) and not order_ids(clause)


def _identity_only(clause: str) -> bool:
    """A clause that only says who the customer is ("This is Nora Khan, zip code 37220.")."""
    name = person_name(clause)
    if not (emails(clause) or zip_codes(clause) or name) or cued_intents(clause):
        return False
    named = {part.lower() for part in name} if name else set()
    capitalised = {w.lower() for w in re.findall(r"\b[A-Z][a-z]+\b", clause)}
    rest = [
        w
        for w in words(mask_entities(clause))
        if w not in _IDENTITY_WORDS and w not in named and w not in capitalised
    ]
    return not rest


def _has_entity(text: str) -> bool:
    return bool(
        emails(text)
        or order_ids(text)
        or zip_codes(text)
        or person_name(text)
        or payment_ref(text)
        or parse_address(text)
    )


def build_tasks(conversation: Conversation, classify: Classify) -> TaskBoard:
    """Walk the trace and rebuild the customer's requests and their state."""
    board = TaskBoard()
    messages = {m.index: m for m in conversation.messages}
    events = {e.index: e for e in conversation.events}
    pending_owner: Task | None = None
    for index in range(len(conversation.trace)):
        if index in messages:
            _message(board, messages[index], classify, pending_owner)
            continue
        event = events.get(index)
        if event is None:
            continue
        if event.kind == "agent":
            _close_by_markers(board, event.text)
        elif event.is_write and event.kind in ("tool", "decision"):
            owner = _owner(board, event)
            if owner is not None:
                owner.events.append(event)
                if event.kind == "decision" and event.effect in ("confirm", "approve"):
                    pending_owner = owner
        elif event.kind == "review":
            owner = pending_owner or next(iter(board.open()), None)
            if owner is not None:
                owner.events.append(event)
    return board


def _close_by_markers(board: TaskBoard, text: str) -> None:
    """Each closing phrase in an agent message closes one open request of its kind."""
    lowered = text.lower()
    groups: dict[frozenset[Intent], list[Task]] = {}
    for task in board.open():
        groups.setdefault(task.family, []).append(task)
    for tasks in groups.values():
        found = sum(lowered.count(marker) for marker in tasks[0].markers())
        for task in tasks[:found]:
            task.closed = True


def _owner(board: TaskBoard, event: Event) -> Task | None:
    intent = TOOL_INTENT.get(event.name)
    if intent is None:
        return None
    order = str(event.args.get("order_id", ""))
    candidates = [
        t
        for t in board.open()
        if (intent in t.family or intent in _counterparts(t.intent)) and t.done_write() is None
    ]
    for task in candidates:
        if order and task.order_ids and task.order_ids[-1] == order:
            return task
    return candidates[0] if candidates else None


def _counterparts(intent: Intent) -> frozenset[Intent]:
    """Every request the order's status may turn ``intent`` into (see COUNTERPART)."""
    return frozenset(
        member
        for (mine, _), other in COUNTERPART.items()
        if mine == intent
        for member in FAMILY[other]
    )


def _message(
    board: TaskBoard, message: CustomerMessage, classify: Classify, pending: Task | None
) -> None:
    open_tasks = board.open()
    owner: Task | None = None
    if message.after_confirmation and pending is not None and not pending.closed:
        owner = pending
    elif message.asked and open_tasks:
        owner = open_tasks[0]
    clauses = split_clauses(message.text) or [message.text]
    if owner is None and _about_another_shop(message.text, clauses):
        # "My Amazon package says delivered, can you look into it?": not this shop's order.
        task = Task(intent="out_of_scope", start=message.index, confidence=1.0)
        for clause in clauses:
            task.add(clause)
        board.tasks.append(task)
        return
    understood = False
    created: list[Task] = []
    waiting: list[str] = []
    best: Prediction | None = None
    predictions = [classify(clause) for clause in clauses]
    for number, clause in enumerate(clauses):
        prediction = predictions[number]
        if _narrative(clause) and any(
            p.intent in REQUESTS and p.confidence >= LOW and not _narrative(c)
            for c, p in zip(clauses[number + 1 :], predictions[number + 1 :], strict=True)
        ):
            # "I changed the grill to a cheaper one. Has the difference been refunded?": what
            # the customer did before sets the scene for the request that follows.
            waiting.append(clause)
            continue
        if prediction.intent in REQUESTS and (
            best is None or prediction.confidence > best.confidence
        ):
            best = prediction
        strong = prediction.intent in REQUESTS and prediction.confidence >= CONFIDENT
        if owner is not None and (message.asked or message.after_confirmation):
            # A clause opens a request of its own only when it names one outright (or is
            # very clear); "It's the vacuum cleaner" answers "which item?".
            named = bool(cued_intents(clause) - owner.family)
            clear = strong and prediction.intent not in owner.family
            foreign = (named or (clear and prediction.confidence >= 0.75)) and not _detail_for(
                clause, owner
            )
            if message.after_confirmation and not foreign:
                owner.add(clause, asked=frozenset({"confirmation"}))
                understood = True
                continue
            if _answers(clause, message.asked) and not foreign:
                owner.add(clause, bare_order="order_id" in message.asked, asked=message.asked)
                understood = True
                continue
        if _entity_only(clause) and (created or owner is not None):
            understood = True
            target = created[-1] if created else owner
            assert target is not None
            target.add(clause, bare_order=True)
            continue
        if _PREAMBLE.search(clause) and not cued_intents(clause):
            # "Two changes to order #W1 please.": its order id goes to the requests that follow.
            understood = True
            waiting.append(clause)
            continue
        if (
            _identity_only(clause)
            or _KEEPS.search(clause)
            or _bare_mention(clause)
            or (created and rules_out(clause))
        ):
            # "This is Nora Khan, zip 37220.", "No, leave the order as it is.": who the
            # customer is, or what stays as it is, is no request.
            understood = True
            target = created[-1] if created else None
            if target is not None:
                target.add(clause)
            else:
                waiting.append(clause)
            continue
        if prediction.intent in REQUESTS and prediction.confidence >= LOW:
            understood = True
            if waiting and _REFERS_BACK.search(clause) and len(words(clause)) <= 8:
                # "I changed the helmet once. Can you change it again?": "it" is read with
                # the scene the customer just set.
                together = classify(" ".join([*waiting, clause]))
                if together.intent in REQUESTS and together.confidence >= LOW:
                    prediction = together
            before = len(created)
            _request(board, created, owner, message, clause, prediction)
            if len(created) > before and waiting:
                created[before].set_scene(waiting)
                waiting = []
            continue
        greeting = prediction.intent == "greeting" and prediction.confidence >= 0.5
        if _has_entity(clause) or yes_no(clause) is not None or greeting:
            understood = understood or _has_entity(clause) or greeting
            target = created[-1] if created else None
            if target is not None:
                target.add(clause)
            else:
                waiting.append(clause)
            continue
        target = created[-1] if created else None
        if target is not None:
            target.add(clause)
            continue
        waiting.append(clause)
    _share_the_address(created, clauses)
    if (
        not created
        and owner is None
        and best is not None
        and best.confidence >= _LEAN
        and _has_entity(message.text)
    ):
        # Nothing clear, but the message names an order or an address and leans towards
        # one request ("the hose from #W1 still isn't here"): take the lean.
        understood = True
        _request(board, created, owner, message, message.text, best)
        waiting = []
    if waiting:
        if owner is not None and not created:
            for clause in waiting:
                owner.add(clause)
        board.loose.extend(waiting)
    if not understood and yes_no(message.text) is None and not message.after_confirmation:
        board.not_understood.append(message.index)


_ACTS: frozenset[Intent] = frozenset(TOOL_INTENT.values()) - {"change_default_address"}
"""Requests that change an order."""


def _about_another_shop(text: str, clauses: list[str]) -> bool:
    """A message about another shop's order: it names one, and none of ours or an action.

    "I found it cheaper on Amazon, cancel my order" is still a cancellation.
    """
    if not names_another_shop(text) or order_ids(text):
        return False
    return not any(cued_intents(clause) & _ACTS for clause in clauses)


def _share_the_address(created: list[Task], clauses: list[str]) -> None:
    """Give the one address of a message to its address requests that lack one.

    "Can you send the lamp that's on its way to my new place, and make that my address on
    the account too? 3300 Guadalupe St, ..." is two requests and one address.
    """
    given = [clause for clause in clauses if parse_address(clause)]
    if len({parse_address(clause) for clause in given}) != 1:
        return
    for task in created:
        if task.intent in _ADDRESSES and not any(parse_address(t) for t in task.texts):
            task.texts.append(given[0])
            task.asked.append(frozenset())


_DID = re.compile(
    r"^\s*(?:so\s+|well\s+|ok\s+)?(?:i|we)\s+(?:already\s+|just\s+|recently\s+)?"
    r"(?:changed|modified|swapped|switched|exchanged|returned|sent\s+back|cancell?ed|updated)\b",
    re.IGNORECASE,
)
_ASKING = re.compile(
    r"\?|\b(?:can|could|would|will)\s+you\b|\bplease\b|\b(?:want|like|need)\s+to\b", re.I
)


def _narrative(clause: str) -> bool:
    """Whether a clause tells what the customer did before, asking nothing ("I returned it")."""
    return bool(_DID.search(clause)) and not _ASKING.search(clause)


_PAYS: frozenset[Intent] = frozenset(
    {"return", "exchange", "modify_items", "modify_payment", "cancel"}
)
_ADDRESSES: frozenset[Intent] = frozenset({"modify_address", "reroute", "change_default_address"})


def _detail_for(clause: str, owner: Task) -> bool:
    """Whether a clause gives a detail of the request being worked on (not a new request)."""
    if order_ids(clause) and owner.order_ids and order_ids(clause)[0] not in owner.order_ids:
        return False
    if owner.intent in _PAYS and payment_ref(clause) is not None:
        return True
    if owner.intent in _ADDRESSES and parse_address(clause) is not None:
        return True
    return owner.intent == "cancel" and cancel_reason(clause) is not None


_CONTEXT: frozenset[Intent] = frozenset({"product_info", "account_info", "order_status"})
_THERE = re.compile(
    r"\bthere\b|\b(?:that|the\s+new|my\s+new|the\s+same)\s+address\b", re.IGNORECASE
)
_REFERS_BACK = re.compile(r"\b(?:it|them|this|that|these|those|one)\b", re.IGNORECASE)


def _set_the_scene(previous: Task, clause: str, intent: Intent, named: list[str]) -> bool:
    """Whether the request just made only set the scene for this clause's request.

    - "I got my espresso machine but I'd prefer the manual one. Can we exchange it?": a
      status or info clause sets the scene for a request that refers back to it (unless it
      asked for its own thing outright: "Where is my order? Can you cancel it?").
    - "Both jackets are way too warm. I'd like to return the two of them.": so does a clause
      that named no request and read unsure.
    - "The grinder is so loud. I'd like to return only the coffee maker.": a clause that
      names its request outright outranks an unsure lean before it that named none and asked
      for nothing.
    - "I have an order that hasn't shipped yet with a watch and an ereader. I want the ereader
      with more storage.": a status that asks nothing only says which order.
    """
    if any(cued_intents(text) for text in previous.texts):
        return False
    cued = cued_intents(clause)
    context = previous.intent in _CONTEXT
    told = context and not any("?" in t or _ASKING.search(t) for t in previous.texts)
    unsure = previous.confidence < _SURE and bool(cued)
    outranked = (
        intent in cued
        and intent not in previous.family
        and previous.confidence < _OUTRANKED
        and not (named and previous.order_ids and named[0] not in previous.order_ids)
        and not any(parse_address(text) for text in previous.texts)  # its own address
        and not any(_ASKING.search(text) for text in previous.texts)  # its own request
    )
    if outranked:
        return True
    if not (context or unsure) or intent in _CONTEXT:
        return False
    refers_back = not named and _REFERS_BACK.search(clause) and len(words(clause)) <= 16
    return bool(refers_back or told)


def _request(
    board: TaskBoard,
    created: list[Task],
    owner: Task | None,
    message: CustomerMessage,
    clause: str,
    prediction: Prediction,
) -> None:
    intent = prediction.intent
    named = order_ids(clause)
    previous = created[-1] if created else None
    if previous is not None and _set_the_scene(previous, clause, intent, named):
        previous.intent = intent
        previous.confidence = prediction.confidence
        previous.runner_up = prediction.runner_up
        previous.add(clause)
        return
    if previous is not None:
        same_family = intent in previous.family
        new_order = bool(named) and bool(previous.order_ids) and named[0] not in previous.order_ids
        detail = (
            not named
            and not (cued_intents(clause) - previous.family)
            and _detail_for(clause, previous)
        )
        # A clause that names no request of its own and reads unsure is a detail of the
        # request just made ("How do I return something? It's the espresso machine.").
        vague = not named and not cued_intents(clause) and prediction.confidence < 0.6
        # "..., and ship it to 12 Oak St, Austin, TX 78701": an address of its own is a
        # request of its own, however unsure the words around it read.
        if intent in _ADDRESSES and previous.intent not in _ADDRESSES and parse_address(clause):
            vague = False
        if (same_family and not new_order) or detail or vague:
            previous.add(clause)
            return
    restated = owner is not None and intent in owner.family and not owner.closed
    if (
        restated
        and owner is not None
        and (not named or not owner.order_ids or named[0] in owner.order_ids)
    ):
        owner.add(clause)
        return
    # "Update my account address, and my pending order should ship there too": "there" is
    # the address the customer just gave.
    there = None
    if intent in _ADDRESSES and parse_address(clause) is None and _THERE.search(clause):
        given = [t for task in reversed(created) for t in task.texts if parse_address(t)]
        there = given[0] if given else None
    targets = named if intent in ORDER_SCOPED and len(named) > 1 else [None]
    for order in targets:
        task = Task(
            intent=intent,
            start=message.index,
            confidence=prediction.confidence,
            runner_up=prediction.runner_up,
        )
        if order is None:
            task.add(clause)
        else:
            task.texts.append(_without_other_orders(clause, order, named))
            task.asked.append(frozenset())
            task.order_ids.append(order)
        if there is not None:
            task.texts.insert(0, there)
            task.asked.insert(0, frozenset())
        board.tasks.append(task)
        created.append(task)


def _without_other_orders(clause: str, keep: str, named: list[str]) -> str:
    text = clause
    for order in named:
        if order != keep:
            text = re.sub(re.escape(order[2:]), " ", text)
    return text
