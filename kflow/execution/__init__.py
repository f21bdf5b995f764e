"""The Execution and its task runs, as Kestra has them: plain data that serialises to JSON.

This is what the engine reads and writes, what `kflow run --json` prints and what the
operator stores in an Execution's status.
"""

from kflow.execution.model import Attempt, Execution, StateHistory, StateInfo, TaskRun
from kflow.execution.states import FAILED_STATES, TERMINAL_STATES, State, worst

__all__ = [
    "Attempt",
    "Execution",
    "FAILED_STATES",
    "State",
    "StateHistory",
    "StateInfo",
    "TERMINAL_STATES",
    "TaskRun",
    "worst",
]
