"""Running a list of tasks once per value: what ForEach, EachSequential and EachParallel share.

Kestra creates no task run per value: each child task gets one run per value, carrying
`value` and `iteration`. Only the iterations whose children just ended are looked at, so a
loop over 10,000 values costs per step what changed, not what exists.
"""

from __future__ import annotations

import json
from typing import Any

from kflow.flow.node import ChildSpec, Node, errors_next, resolve_expected
from kflow.execution import State
from kflow.flow.task import Task


class LoopValueError(ValueError):
    pass


def loop_values(node: Node, values: Any, property_name: str = "values") -> list[str]:
    """The loop's values as Kestra's `taskrun.value` strings, rendered once per task run."""
    cached = node.memo.get("values")
    if cached is not None:
        return cached
    rendered = node.render(values)
    if isinstance(rendered, str):
        try:
            rendered = json.loads(rendered)
        except json.JSONDecodeError:
            raise LoopValueError(f"property {property_name}: expected a list or a JSON array, got {rendered[:80]!r}") from None
    if not isinstance(rendered, list):
        raise LoopValueError(f"property {property_name}: expected a list, got {type(rendered).__name__}")
    out = []
    for i, value in enumerate(rendered):
        if value is None:
            raise LoopValueError(f"property {property_name}[{i}] is null; a loop value cannot be null")
        out.append(value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))
    node.memo["values"] = out
    return out


def loop_next(tasks: list[Task], errors: list[Task] | None, values: list[str], node: Node, limit: int, tasks_in_parallel: bool) -> list[ChildSpec]:
    """Continue the iterations whose last child ended; start new ones up to `limit` (0: all)."""
    handled = errors_next(errors, node)
    if handled is not None:
        return handled  # a child failed: no new child, the `errors` tasks once all have ended
    loop = node.loop
    specs: list[ChildSpec] = []
    continued = 0
    for i in loop.take_idle():
        done = loop.iterations[i].created
        if not tasks_in_parallel and done < len(tasks):
            specs.append(ChildSpec(tasks[done], values[i], i))
            continued += 1
    open_iterations = loop.active_iterations + continued
    start = loop.started
    while start < len(values) and (limit == 0 or open_iterations < limit):
        first = tasks if tasks_in_parallel else tasks[:1]
        specs.extend(ChildSpec(task, values[start], start) for task in first)
        start += 1
        open_iterations += 1
    return specs


def resolve_loop(tasks: list[Task], errors: list[Task] | None, values: list[str], node: Node) -> State | None:
    """Done once every value's every task has run and ended, or after a failure."""
    if node.loop.started < len(values) and not node.branch("tasks").failed:
        return None
    return resolve_expected(len(values) * len(tasks), errors, node)
