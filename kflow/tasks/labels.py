"""Labels: add or overwrite labels of the running execution (Kestra's execution.Labels).

Resolved by the engine as Kestra's executor does (no pod, no process): the rendered labels
are merged into the execution's, so later tasks read them as `labels.<key>`; on a cluster the
operator also copies them to the Execution object's metadata labels where Kubernetes allows.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kflow.flow.node import ChildSpec, Node
from kflow.execution import State
from kflow.flow.flowable import FlowableTask


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    value: Any


class Labels(FlowableTask):
    unrendered = FlowableTask.unrendered | {"labels"}

    labels: dict[str, Any] | list[Label] | str = Field(
        description="A key: value map, a list of {key, value}, or an expression giving either; rendered.")

    def next_children(self, node: Node) -> list[ChildSpec]:
        return []

    def resolve_state(self, node: Node) -> State | None:
        raw = self.labels
        if isinstance(raw, list):
            raw = [item.model_dump() for item in raw]
        node.set_execution_labels(label_map(node.render(raw)))
        return State.SUCCESS


def label_map(value: Any) -> dict[str, str]:
    """Kestra's accepted shapes, as the {key: text} map an execution's labels are."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"labels rendered to {value[:80]!r}: expected a map or a list of {{key, value}}") from None
    if isinstance(value, list):
        if not all(isinstance(item, dict) and "key" in item and "value" in item for item in value):
            raise ValueError("labels: each item of the list needs `key` and `value`")
        value = {item["key"]: item["value"] for item in value}
    if not isinstance(value, dict):
        raise ValueError(f"labels: expected a map or a list of {{key, value}}, got {type(value).__name__}")
    out = {}
    for key, item in value.items():
        key = str(key)
        if key.startswith("system."):
            raise ValueError(f"label {key!r}: system labels can only be set by kflow itself")
        out[key] = item if isinstance(item, str) else json.dumps(item) if isinstance(item, (dict, list)) else str(item).lower() if isinstance(item, bool) else str(item)
    return out
