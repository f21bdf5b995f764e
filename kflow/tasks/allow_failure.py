"""AllowFailure: its tasks run one after another; a failure among them ends it WARNING.

The failed inner task runs stay FAILED and its own `errors` still run, as in Kestra.
"""

from __future__ import annotations

from kflow.execution import State
from kflow.flow.node import Node
from kflow.tasks.sequential import Sequential


class AllowFailure(Sequential):
    def resolve_state(self, node: Node) -> State | None:
        state = super().resolve_state(node)
        return State.WARNING if state is not None and state.failed else state
