"""Engine invariants over random task trees, random outcomes and random completion orders."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kflow.execution import State, worst
from tests.engine.simulate import simulate

OUTCOMES = st.sampled_from([State.SUCCESS, State.SUCCESS, State.SUCCESS, State.WARNING, State.FAILED])


@st.composite
def trees(draw, depth=0):
    """A list of task dicts; leaves are Return tasks, inner nodes Sequential or Parallel."""
    count = draw(st.integers(1, 4))
    tasks = []
    for _ in range(count):
        kind = draw(st.sampled_from(["leaf", "leaf", "seq", "par"] if depth < 3 else ["leaf"]))
        if kind == "leaf":
            tasks.append({"type": "io.kestra.plugin.core.debug.Return", "format": "x"})
        else:
            task = {
                "type": "io.kestra.plugin.core.flow." + ("Sequential" if kind == "seq" else "Parallel"),
                "tasks": draw(trees(depth + 1)),
            }
            if kind == "par":
                task["concurrent"] = draw(st.integers(0, 3))
            tasks.append(task)
    return tasks


def _number(tasks, counter):
    for task in tasks:
        task["id"] = f"t{next(counter)}"
        _number(task.get("tasks", []), counter)
    return tasks


def _walk(tasks):
    for task in tasks:
        yield task
        yield from _walk(task.get("tasks", []))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(), data=st.data(), seed=st.integers(0, 10_000), batch=st.integers(1, 3))
def test_invariants(tree, data, seed, batch):
    import itertools

    tasks = _number(tree, itertools.count())
    leaves = [t["id"] for t in _walk(tasks) if "tasks" not in t]
    outcomes = {leaf: data.draw(OUTCOMES) for leaf in leaves}
    flow = json.dumps({"id": "p", "namespace": "t", "tasks": tasks})
    trace = simulate(flow, outcomes, seed=seed, batch=batch)
    execution = trace.execution
    runs = execution.taskRunList
    by_task = {}
    for run in runs:
        assert run.taskId not in by_task, "a task got two task runs"
        by_task[run.taskId] = run

    # every task run ends in a final state, and so does the execution
    assert execution.state.current.terminal
    assert all(run.state.current.terminal for run in runs)

    # no attempt starts twice
    starts = [(e[2], e[3]) for e in trace.events if e[0] == "start"]
    assert len(starts) == len(set(starts))

    definitions = {t["id"]: t for t in _walk(tasks)}
    for task_id, definition in definitions.items():
        if "tasks" not in definition or task_id not in by_task:
            continue
        children = [by_task[c["id"]] for c in definition["tasks"] if c["id"] in by_task]
        declared = [c["id"] for c in definition["tasks"]]
        # children are created in declaration order, as a prefix of the list
        assert [c.taskId for c in sorted(children, key=lambda r: runs.index(r))] == declared[: len(children)]
        if definition["type"].endswith("Sequential"):
            for before, after in zip(children, children[1:]):
                assert before.state.end_date <= after.state.start_date, "Sequential children overlap"
        else:
            limit = definition.get("concurrent") or len(children)
            points = sorted({c.state.start_date for c in children})
            for point in points:
                alive = sum(1 for c in children if c.state.start_date <= point < c.state.end_date)
                assert alive <= limit, "Parallel exceeded its concurrent limit"
        # a flowable's state follows from its children
        if not by_task[task_id].state.current == State.FAILED or any(c.state.current.failed for c in children):
            assert by_task[task_id].state.current == worst(c.state.current for c in children)

    # the execution's state follows from its top-level task runs
    top = [by_task[t["id"]] for t in tasks if t["id"] in by_task]
    assert execution.state.current == worst(r.state.current for r in top)
    if execution.state.current == State.SUCCESS:
        assert len(runs) == len(definitions)
