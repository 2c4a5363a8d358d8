"""The resolution agent: a LangGraph state machine driving tools under policy, durably."""

from agents._planner import Knowledge, Planner, PlannerInput
from agents._runtime import AgentEvent, Reply, ResolutionAgent
from agents._state import AgentState, Entry, PendingAction, initial_state
from agents._steps import Ask, CallTool, Escalate, Resolve, Status, Step, StepUsage
from agents._steps import Reply as ReplyStep
from agents._store import FrameworkStore, ReviewItem
from agents.errors import AgentConfigError, AgentError, ConversationBusy
from agents.planners._handoff import HandoffPlanner

__all__ = [
    "AgentConfigError",
    "AgentError",
    "AgentEvent",
    "AgentState",
    "Ask",
    "CallTool",
    "ConversationBusy",
    "Entry",
    "Escalate",
    "FrameworkStore",
    "HandoffPlanner",
    "Knowledge",
    "PendingAction",
    "Planner",
    "PlannerInput",
    "Reply",
    "ReplyStep",
    "ResolutionAgent",
    "Resolve",
    "ReviewItem",
    "Status",
    "Step",
    "StepUsage",
    "initial_state",
]
