"""Flow-trigger preconditions (and the older MultipleCondition): several conditions, each met by
some ended execution, all within a time window, then the trigger fires once.

Pure: the operator keeps, per trigger, the date each condition was last met and the window
it counts for (in the Flow's status), passes them in with `now`, and writes back what comes
out. Kestra's rules, as its docs state them:
- `flows` entries and `where` conditions are the conditions (MultipleCondition: its named ones);
- DURATION_WINDOW (the default: PT24H): fixed windows from midnight UTC shifted by
  `windowAdvance`; a new window forgets what was met in the last;
- SLIDING_WINDOW: a condition counts while it was met less than `window` ago;
- DAILY_TIME_DEADLINE: met between midnight and `deadline` (UTC); DAILY_TIME_WINDOW: between
  `startTime` and `endTime` (UTC); an execution outside the daily span counts for nothing;
- once all are met the trigger fires with the execution that completed the set;
  `resetOnSuccess` (default true) then forgets them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any, Callable

from kflow.execution.status import ExecutionStatus
from kflow.flow.durations import parse_duration
from kflow.flow.triggers import ExecutionFilter, FlowTrigger, MultipleCondition, Preconditions, TimeWindow

Predicate = Callable[[ExecutionStatus], bool]
Variables = Callable[[ExecutionStatus], dict[str, Any]]
DEFAULT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Stateful:
    """A trigger's conditions that need memory: name -> predicate, the window, the reset rule."""

    conditions: dict[str, Predicate]
    window: TimeWindow
    reset: bool


@dataclass
class Outcome:
    fire: bool
    met: dict[str, str] = field(default_factory=dict)  # condition -> date met (ISO), what to store
    window_start: str | None = None


def stateful(trigger: FlowTrigger, variables: Variables) -> Stateful | None:
    """The trigger's conditions that wait for several executions; None when one execution decides.

    `variables(upstream)` gives `trigger.*` for `where` EXPRESSION filters (flow_trigger.flow_variables).
    """
    from kflow.triggers.conditions import condition_holds

    multiple = [c for c in trigger.conditions if isinstance(c, MultipleCondition)]
    if multiple:
        m = multiple[0]
        conditions = {name: _bind(condition_holds, c) for name, c in m.conditions.items()}
        return Stateful(conditions, m.time_window() or TimeWindow(), m.resetOnSuccess)
    pre = trigger.preconditions
    if pre is None:
        return None
    conditions: dict[str, Predicate] = {}
    for f in pre.flows:
        conditions[f"flow.{f.namespace}.{f.flowId}"] = _bind(_upstream_flow, f)
    for w in pre.where:
        conditions[f"where.{w.id}"] = _bind(_where, (w, variables))
    if len(conditions) == 1 and pre.timeWindow is None:
        return None  # one condition, met by the execution at hand: no memory needed
    return Stateful(conditions, pre.timeWindow or TimeWindow(), pre.resetOnSuccess)


def single_match(pre: Preconditions, upstream: ExecutionStatus, variables: Variables) -> bool:
    """For preconditions without memory: does this execution meet any of them?"""
    return any(_upstream_flow(f, upstream) for f in pre.flows) or any(_where((w, variables), upstream) for w in pre.where)


def _bind(fn: Callable[[Any, ExecutionStatus], bool], arg: Any) -> Predicate:
    return lambda upstream: fn(arg, upstream)


def _upstream_flow(f: Any, upstream: ExecutionStatus) -> bool:
    labels = upstream.labels or {}
    return (f.namespace == upstream.namespace and f.flowId == upstream.flowId and upstream.current in f.states
            and all(str(labels.get(k)) == v for k, v in f.labels.items()))


def _where(where: tuple[Any, Variables], upstream: ExecutionStatus) -> bool:
    w, variables = where
    results = (_filter(f, upstream, variables) for f in w.filters)
    return any(results) if w.operand == "OR" else all(results)


def _filter(f: ExecutionFilter, upstream: ExecutionStatus, variables: Variables) -> bool:
    if f.field == "EXPRESSION":
        from kflow.expr import render_value

        actual = render_value(f.value, {"trigger": variables(upstream), "labels": upstream.labels or {}})
        expected: Any = True
    else:
        actual = {"FLOW_ID": upstream.flowId, "NAMESPACE": upstream.namespace, "STATE": upstream.current}[f.field]
        expected = f.value
    text = "" if actual is None else str(actual)
    values = [str(v) for v in (f.values if f.values is not None else (f.value if isinstance(f.value, list) else [f.value]))]
    kind = f.type
    if kind == "EQUAL_TO":
        return text == str(expected) if f.field != "EXPRESSION" else _truthy(actual)
    if kind == "NOT_EQUAL_TO":
        return text != str(expected)
    if kind == "IS_ONE_OF":
        return text in values
    if kind == "IS_NOT_ONE_OF":
        return text not in values
    if kind == "STARTS_WITH":
        return text.startswith(str(expected))
    if kind == "ENDS_WITH":
        return text.endswith(str(expected))
    if kind == "CONTAINS":
        return str(expected) in text
    if kind == "REGEX":
        return re.fullmatch(str(expected), text) is not None
    if kind == "IS_NULL":
        return actual is None
    if kind == "IS_NOT_NULL":
        return actual is not None
    if kind == "IS_TRUE":
        return _truthy(actual)
    return not _truthy(actual)  # IS_FALSE


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "null")
    return bool(value)


def window_start(window: TimeWindow, now: datetime) -> datetime | None:
    """The start of the window `now` is in (None: SLIDING, or outside the daily span)."""
    day = datetime.combine(now.date(), time(0), tzinfo=timezone.utc)
    if window.type == "SLIDING_WINDOW":
        return None
    if window.type == "DAILY_TIME_DEADLINE":
        return day if now.time() <= time.fromisoformat(window.deadline) else None
    if window.type == "DAILY_TIME_WINDOW":
        start, end = time.fromisoformat(window.startTime), time.fromisoformat(window.endTime)
        return day.replace(hour=start.hour, minute=start.minute, second=start.second) if start <= now.time().replace(tzinfo=None) <= end else None
    length = timedelta(seconds=parse_duration(window.window)) if window.window else DEFAULT_WINDOW
    advance = timedelta(seconds=parse_duration(window.windowAdvance)) if window.windowAdvance else timedelta(0)
    origin = day + advance
    if origin > now:
        origin -= timedelta(days=1)
    return origin + ((now - origin) // length) * length


def evaluate(rules: Stateful, stored: dict[str, Any], upstream: ExecutionStatus, ended: datetime) -> Outcome:
    """What `upstream`, ended at `ended`, changes: the conditions met after it, and whether to fire.

    `stored` is what the Flow's status kept (`preconditionsMet`, `windowStart`, `lastFired`). An
    execution seen again (a restarted operator lists every ended one) changes nothing: one that
    ended before the stored window, before the last firing, or not after a condition's recorded
    date is not counted twice.
    """
    ended = ended.astimezone(timezone.utc)
    met = dict(stored.get("preconditionsMet") or {})
    stored_window = stored.get("windowStart")
    last_fired = stored.get("lastFired")
    unchanged = Outcome(fire=False, met=met, window_start=stored_window)
    if last_fired and ended <= _parse(last_fired):
        return unchanged
    start = window_start(rules.window, ended)
    start_text = _text(start) if start else None
    if rules.window.type == "SLIDING_WINDOW":
        length = timedelta(seconds=parse_duration(rules.window.window)) if rules.window.window else DEFAULT_WINDOW
        met = {k: v for k, v in met.items() if ended - _parse(v) < length}
    else:
        if start is None:
            return unchanged  # outside the daily span: counts for nothing
        if stored_window and start < _parse(stored_window):
            return unchanged  # belongs to a window already gone
        if start_text != stored_window:
            met = {}  # a new window: what was met in the last counts no more
    hits = [name for name, predicate in rules.conditions.items()
            if predicate(upstream) and not (name in met and _parse(met[name]) >= ended)]
    if not hits:
        return Outcome(fire=False, met=met, window_start=start_text)
    for name in hits:
        met[name] = _text(ended)
    fire = set(rules.conditions) <= set(met)
    if fire and rules.reset:
        met = {}
    return Outcome(fire=fire, met=met, window_start=start_text)


def _text(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
