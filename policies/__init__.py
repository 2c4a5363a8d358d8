"""Policy guardrails: packs of CEL rules, a deterministic default-deny engine, explained decisions.

No consequential action is decided by asking a model: every proposed tool call is checked in
code against the pack, with the facts loaded through read adapters, and the decision names the
rules that fired.
"""

from policies._audit import AuditRecord, AuditSink, InMemoryAuditSink
from policies._engine import PolicyEngine
from policies._facts import FactLoader
from policies._input_rails import INPUT_FLAGS, InputFlag, InputScreen, screen_input
from policies._output_rails import Redaction, VisibleCustomer, redact_reply
from policies._pack import CONTEXT_VARIABLES, CompiledPack, builtin_pack_path, load_pack
from policies._pii import mask_pii
from policies._types import (
    ConversationFacts,
    Decision,
    Effect,
    FiredRule,
    PolicyPack,
    ProposedCall,
    Rule,
)
from policies.errors import PolicyError, PolicyLoadError

__all__ = [
    "CONTEXT_VARIABLES",
    "INPUT_FLAGS",
    "InputFlag",
    "InputScreen",
    "Redaction",
    "VisibleCustomer",
    "mask_pii",
    "redact_reply",
    "screen_input",
    "AuditRecord",
    "AuditSink",
    "CompiledPack",
    "ConversationFacts",
    "Decision",
    "Effect",
    "FactLoader",
    "FiredRule",
    "InMemoryAuditSink",
    "PolicyEngine",
    "PolicyError",
    "PolicyLoadError",
    "PolicyPack",
    "ProposedCall",
    "Rule",
    "builtin_pack_path",
    "load_pack",
]
