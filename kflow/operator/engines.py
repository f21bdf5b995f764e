"""One engine per distinct flow snapshot, shared by the executions of that snapshot.

A flow is parsed once: a Flow resource's parsed flow is kept with its snapshot (what the
status stores), and a stored snapshot is parsed only when no engine holds it yet.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kflow.engine import Engine
from kflow.flow import parse_flow
from kflow.flow.model import Flow


def snapshot_of(flow: Flow) -> dict[str, Any]:
    """The flow as `status.flow` keeps it: what the user wrote, defaults left out."""
    return flow.model_dump(mode="json", by_alias=True, exclude_unset=True)


class FlowEngines:
    def __init__(self) -> None:
        self._by_digest: dict[str, Engine] = {}

    def __len__(self) -> int:
        return len(self._by_digest)

    def of(self, snapshot: dict[str, Any], parsed: Flow | None = None) -> Engine:
        """The engine of `snapshot`; `parsed`, when given, is that snapshot already parsed."""
        digest = hashlib.sha256(json.dumps(snapshot, sort_keys=True).encode()).hexdigest()
        engine = self._by_digest.get(digest)
        if engine is None:
            flow = parsed or parse_flow(snapshot, source=f"{snapshot.get('namespace')}.{snapshot.get('id')}")
            engine = self._by_digest[digest] = Engine(flow)
        return engine
