"""`stopAfter`: a trigger stops once an execution it started ends in one of the listed states.

Kestra disables the trigger itself; kflow records it in the Flow's status
(`status.triggers.<id>.stoppedBy` with the generation it applies to), so editing the Flow's
spec, a new generation, starts the trigger again, and the flow source is never rewritten.
"""

from __future__ import annotations

from typing import Any


def stops(stop_after: list[str], state: str | None) -> bool:
    """Whether an execution ending in `state` stops a trigger with this `stopAfter`."""
    return state is not None and state in stop_after


def stop_record(execution: str, state: str, generation: Any, date: str) -> dict[str, Any]:
    """What the Flow's status keeps for a stopped trigger."""
    return {"stoppedBy": f"execution {execution} ended {state}", "stoppedAt": date, "stoppedGeneration": generation}


def is_stopped(trigger_state: dict[str, Any] | None, generation: Any) -> bool:
    """Stopped for this generation of the Flow (an edited spec starts it again)."""
    return bool(trigger_state) and trigger_state.get("stoppedBy") is not None and trigger_state.get("stoppedGeneration") == generation
