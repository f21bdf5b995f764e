"""The terminal renderer: tree-indented names, state colours, a bar per task on one axis."""

from __future__ import annotations

import io
import math

from rich.console import Console
from rich.segment import Segment

from kflow.gantt import GanttView, build_chart
from kflow.gantt.style import COLORS
from kflow.execution import State
from tests.gantt.synthetic import at, execution, mixed_states, parallel_then_sequential, ran, taskrun


def lines_of(view, width: int = 100) -> list[list[Segment]]:
    console = Console(file=io.StringIO(), width=width, color_system="truecolor", force_terminal=True)
    return console.render_lines(view, console.options, pad=False)


def text(line: list[Segment]) -> str:
    return "".join(s.text for s in line)


def rows_by_label(view, width: int = 100) -> dict[str, str]:
    """Each row's bar area (the columns under the axis), by task label."""
    lines = [text(line) for line in lines_of(view, width)]
    bar_start = lines[1].index("┊")  # the axis' first tick is the bar area's first column
    rows = {}
    for line in lines[2:]:
        words = line[:bar_start].replace("─", " ").replace("│", " ").replace("├", " ").replace("└", " ").split()
        rows[words[1]] = line[bar_start:]  # icon, label, state, duration
    return rows


def bar_cells(bar_area: str) -> set[int]:
    """Columns of the bar area drawn solid."""
    return {i for i, ch in enumerate(bar_area) if ch == "█"}


def segments_by_label(view, width: int = 100) -> dict[str, list[Segment]]:
    return {text(line).replace("─", " ").replace("│", " ").replace("├", " ").replace("└", " ").split()[1]: line
            for line in lines_of(view, width)[2:]}


def test_tree_names_states_and_durations():
    lines = [text(line) for line in lines_of(GanttView(build_chart(parallel_then_sequential())))]
    assert lines[0].startswith("company.team.demo exec1") and "SUCCESS" in lines[0] and "6.0s" in lines[0]
    assert "┊0" in lines[1]
    assert lines[2].startswith("✔ parallel") and "SUCCESS" in lines[2] and "4.0s" in lines[2]
    assert lines[3].startswith("├─ ✔ task1") and "2.9s" in lines[3]
    assert lines[4].startswith("└─ ✔ task2")
    assert lines[5].startswith("✔ after")
    assert all(len(line) <= 100 for line in lines)


def test_bars_share_the_axis():
    rows = rows_by_label(GanttView(build_chart(parallel_then_sequential())))
    task1, task2, parallel, after = (bar_cells(rows[k]) for k in ("task1", "task2", "parallel", "after"))
    assert task1 & task2, "parallel task runs overlap"
    assert not parallel & after and min(after) > max(parallel), "the next task starts after the Parallel"
    assert max(after) == len(rows["after"]) - 1, "the last task ends at the axis' end"
    assert min(parallel) == 0


def test_bars_are_coloured_by_state_and_attempt():
    rows = segments_by_label(GanttView(build_chart(mixed_states(), now=at(10))))

    def bar_colours(label):
        return {s.style.color.triplet.hex for s in rows[label] if "█" in s.text and s.style and s.style.color}

    assert bar_colours("ok") == {COLORS[State.SUCCESS]}
    assert bar_colours("bad") == {COLORS[State.FAILED]}
    assert bar_colours("run") == {COLORS[State.RUNNING]}
    # The gap between the two failed attempts is drawn, but not solid.
    bad = text(rows["bad"])
    assert "█─" in bad and "─█" in bad
    assert "FAILED ×2" in bad


def test_running_bar_reaches_the_end_of_the_axis():
    rows = rows_by_label(GanttView(build_chart(mixed_states(), now=at(20))))
    width = len(rows["run"])
    assert max(bar_cells(rows["run"])) == width - 1
    assert bar_cells(rows["ok"]) == set(range(math.ceil(width / 20)))  # its 1 s of the 20 s axis


def test_loop_values_shown():
    chart = build_chart(execution([
        taskrun("e", "each", ran(0, 2)),
        taskrun("i1", "item", ran(0, 1), parent="e", value="first", attempts=[ran(0, 1)]),
        taskrun("i2", "item", ran(1, 2), parent="e", value="second", attempts=[ran(1, 2)]),
    ]))
    lines = [text(line) for line in lines_of(GanttView(chart))]
    assert lines[3].startswith("├─ ✔ item[first]") and lines[4].startswith("└─ ✔ item[second]")


def test_max_rows_keeps_running_ones_and_counts_the_rest():
    runs = [taskrun(f"t{i}", f"t{i}", ran(i, i + 1), attempts=[ran(i, i + 1)]) for i in range(30)]
    runs.append(taskrun("live", "live", ran(0, None), attempts=[ran(0, None)]))
    lines = [text(line) for line in lines_of(GanttView(build_chart(execution(runs), now=at(40)), max_rows=6))]
    assert len(lines) == 2 + 6
    assert any("live" in line and "RUNNING" in line for line in lines)
    assert lines[-1] == "… 26 more task runs (26 SUCCESS)"


def test_narrow_terminal_truncates_names_not_the_bars():
    chart = build_chart(execution([taskrun("x", "a-very-long-task-identifier-indeed", ran(0, 1), attempts=[ran(0, 1)])]))
    lines = [text(line) for line in lines_of(GanttView(chart), width=50)]
    assert all(len(line) <= 50 for line in lines)
    assert "…" in lines[2] and "█" in lines[2]
