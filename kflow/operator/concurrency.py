"""A flow's `concurrency.limit`: which executions hold its slots, which wait, oldest first.

Pure bookkeeping, no I/O: the controller writes the QUEUED / CANCELLED / FAILED status and
kicks the execution `free` names. After an operator restart a running execution takes its slot
again when it is loaded (`hold`), so the count survives the restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Key = tuple[str, str]  # (kubernetes namespace, execution name)
Slot = tuple[str, str]  # (kubernetes namespace, Flow resource name)


@dataclass(frozen=True)
class Refused:
    """The execution may not start now: `behavior` says whether it waits (QUEUE) or ends."""

    behavior: Literal["QUEUE", "CANCEL", "FAIL"] | str
    message: str


def limit_of(flow: Any) -> int:
    """The flow's concurrency limit; 0: none."""
    return int((flow.concurrency or {}).get("limit") or 0)


@dataclass
class ConcurrencySlots:
    holders: dict[Slot, set[Key]] = field(default_factory=dict)  # executions running
    queued: dict[Slot, dict[Key, None]] = field(default_factory=dict)  # ... and those waiting, oldest first

    def take(self, key: Key, slot: Slot, flow: Any) -> Refused | None:
        """None when `key` holds a slot of `flow` now; else why not (and under QUEUE it waits in line)."""
        limit = limit_of(flow)
        holders = self.holders.setdefault(slot, set())
        if not limit or key in holders or len(holders) < limit:
            holders.add(key)
            self.queued.get(slot, {}).pop(key, None)
            return None
        behavior = str((flow.concurrency or {}).get("behavior") or "QUEUE").upper()
        message = f"flow {flow.namespace}.{flow.id} already runs {len(holders)} execution(s), its concurrency limit"
        if behavior == "QUEUE":
            self.queued.setdefault(slot, {})[key] = None
            return Refused(behavior, f"{message}; queued until one ends")
        return Refused(behavior, f"{message}; behavior {behavior}")

    def hold(self, key: Key, slot: Slot) -> None:
        """A running execution, loaded after a restart, holds its slot again."""
        self.holders.setdefault(slot, set()).add(key)

    def free(self, key: Key, slot: Slot | None) -> Key | None:
        """`key` ended or is gone: its slot frees; the oldest waiting execution, to be kicked (it takes the slot or waits on)."""
        if slot is None:
            return None
        self.holders.get(slot, set()).discard(key)
        queued = self.queued.get(slot)
        return next(iter(queued)) if queued else None

    def forget(self, key: Key) -> None:
        """`key` is gone: it waits nowhere any more."""
        for queued in self.queued.values():
            queued.pop(key, None)
