"""The chart model: one bar per task run, tree order, time spans, attempts, running bars."""

from __future__ import annotations

from kflow.execution import State
from kflow.gantt import build_chart
from tests.gantt.synthetic import at, execution, mixed_states, parallel_then_sequential, ran, taskrun


def overlap(a, b) -> bool:
    return a.start < b.end and b.start < a.end


def test_one_bar_per_task_run_in_tree_order():
    chart = build_chart(parallel_then_sequential())
    assert [b.taskrun_id for b in chart.bars] == ["p", "a", "b", "c"]
    assert [b.depth for b in chart.bars] == [0, 1, 1, 0]
    assert [b.parent_id for b in chart.bars] == [None, "p", "p", None]
    assert [b.last_sibling for b in chart.bars] == [False, False, True, True]
    assert chart.start == at(0) and chart.end == at(6)


def test_parallel_bars_overlap_and_sequential_ones_do_not():
    bars = {b.taskrun_id: b for b in build_chart(parallel_then_sequential()).bars}
    assert overlap(bars["a"], bars["b"])
    assert not overlap(bars["p"], bars["c"]) and bars["c"].start >= bars["p"].end
    assert bars["a"].attempts[0].start == at(0.5) and bars["a"].attempts[0].end == at(3)


def test_siblings_follow_the_flow_order_not_the_list_order():
    runs = parallel_then_sequential().taskRunList
    swapped = execution([runs[0], runs[2], runs[1], runs[3]])
    assert [b.task_id for b in build_chart(swapped).bars][1:3] == ["task2", "task1"]
    order = {"parallel": 0, "task1": 1, "task2": 2, "after": 3}
    assert [b.task_id for b in build_chart(swapped, order=order).bars][1:3] == ["task1", "task2"]


def test_a_running_task_run_ends_at_now():
    chart = build_chart(mixed_states(), now=at(10))
    bars = {b.taskrun_id: b for b in chart.bars}
    assert bars["run"].state == State.RUNNING and bars["run"].span.running
    assert bars["run"].end == at(10) and bars["run"].attempts[0].end == at(10)
    assert not bars["ok"].span.running and bars["ok"].end == at(1)
    assert chart.end == at(10) and chart.span.running
    # Without a clock the chart stops at the latest instant the execution records.
    assert build_chart(mixed_states()).end == at(7)


def test_retries_keep_each_attempt_and_the_reason():
    bar = next(b for b in build_chart(mixed_states()).bars if b.taskrun_id == "bad")
    assert [(a.state, a.start, a.end) for a in bar.attempts] == [
        (State.FAILED, at(2), at(3)), (State.FAILED, at(5), at(7)),
    ]
    assert bar.reason == "exit code 3" and bar.span.seconds == 5


def test_loop_values_label_their_bars():
    chart = build_chart(execution([
        taskrun("e", "each", ran(0, 3)),
        *(taskrun(f"i{n}", "item", ran(n, n + 1), parent="e", value=v, iteration=n, attempts=[ran(n, n + 1)])
          for n, v in enumerate(["b", "a", "c"])),
    ]))
    assert [b.label for b in chart.bars] == ["each", "item[b]", "item[a]", "item[c]"]
    assert [b.value for b in chart.bars[1:]] == ["b", "a", "c"]  # iteration order, not alphabetical


def test_deep_trees_need_no_recursion():
    runs = [taskrun("t0", "t0", ran(0, 1))]
    runs += [taskrun(f"t{i}", f"t{i}", ran(0, 1), parent=f"t{i - 1}") for i in range(1, 3000)]
    chart = build_chart(execution(runs))
    assert len(chart.bars) == 3000 and chart.bars[-1].depth == 2999


def test_an_orphan_task_run_is_drawn_at_the_root():
    chart = build_chart(execution([taskrun("x", "x", ran(0, 1), parent="missing")]))
    assert [(b.taskrun_id, b.depth) for b in chart.bars] == [("x", 0)]
