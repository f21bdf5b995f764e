"""Exit (io.kestra.plugin.core.execution.Exit): end the execution now, in `state`.

Resolved by the engine (no pod): the Exit task run, its parents and the execution take the
state; nothing after it runs (nor the flow's `errors`/`finally`). Task runs still running
elsewhere (another branch of a Parallel) are stopped and end KILLED, whatever `state` is:
Kestra lets them finish unless the state is KILLED; kflow has no execution left to finish them in.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kflow.execution import State
from kflow.flow.node import ChildSpec, Node
from kflow.flow.flowable import FlowableTask

_STATES = {"SUCCESS": State.SUCCESS, "WARNING": State.WARNING, "KILLED": State.KILLED, "FAILED": State.FAILED,
           "CANCELED": State.CANCELLED, "CANCELLED": State.CANCELLED}


class Exit(FlowableTask):
    state: Literal["SUCCESS", "WARNING", "KILLED", "FAILED", "CANCELED"] | str = Field(
        "SUCCESS", description="The execution's end state: SUCCESS, WARNING, KILLED, FAILED or CANCELED; rendered.")

    def next_children(self, node: Node) -> list[ChildSpec]:
        return []

    def resolve_state(self, node: Node) -> State | None:
        rendered = str(node.render(self.state)).strip().upper()
        if rendered not in _STATES:
            raise ValueError(f"state {rendered!r}: expected SUCCESS, WARNING, KILLED, FAILED or CANCELED")
        node.exit_execution(_STATES[rendered])
        return _STATES[rendered]
