"""The chart in a terminal: a rich renderable of tree-indented task runs and their bars.

Used by `kflow gantt` (printed once) and by the live watch view (redrawn as the execution runs).
"""

from __future__ import annotations

import math
from collections import Counter

from rich.console import Console, ConsoleOptions, RenderResult
from rich.style import Style
from rich.text import Text

from kflow.gantt.chart import Bar, Chart, Span
from kflow.gantt.style import ICONS, color, format_duration, format_tick, tick_step, ticks

_STATE_W = 11  # "RUNNING ×3"
_DUR_W = 7
_MIN_BAR_W = 10


class GanttView:
    """Rows of `name  state  duration  bar`, with a time axis on top; `max_rows` bounds the rows
    (running task runs are kept first, then the latest ones) for a live view on a small screen."""

    def __init__(self, chart: Chart, max_rows: int | None = None, header: bool = True):
        self.chart = chart
        self.max_rows = max_rows
        self.header = header

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        chart = self.chart
        width = max(options.max_width, 40)
        bars = list(chart.bars)
        names = _tree_names(bars)
        shown = _pick(bars, self.max_rows)
        name_w = min(max([len(names[i]) for i in shown] + [4]), max(16, int(width * 0.35)))
        bar_w = max(width - name_w - _STATE_W - _DUR_W - 3, _MIN_BAR_W)
        if self.header:
            yield _header(chart)
        yield Text(" " * (name_w + _STATE_W + _DUR_W + 3)) + _axis(chart, bar_w)
        for i in shown:
            yield _row(chart, bars[i], names[i], name_w, bar_w)
        hidden = len(bars) - len(shown)
        if hidden:
            counts = Counter(bars[i].state.value for i in range(len(bars)) if i not in set(shown))
            detail = ", ".join(f"{n} {s}" for s, n in counts.most_common())
            yield Text(f"… {hidden} more task runs ({detail})", style="dim")


def _header(chart: Chart) -> Text:
    state = chart.span.state
    text = Text(f"{chart.namespace}.{chart.flow_id} ", style="bold")
    text += Text(chart.execution_id + "  ", style="dim")
    text += Text(state.value, style=Style(color=color(state), bold=True))
    text += Text(f"  {format_duration(chart.span.seconds)}", style="dim")
    if chart.error:
        text += Text(f"  {chart.error}", style=Style(color=color(state)))
    return text


def _tree_names(bars: list[Bar]) -> list[str]:
    """`├─ task[value]` with the guides of its ancestors, as `tree` draws them."""
    last_at: dict[int, bool] = {}
    names = []
    for bar in bars:
        last_at[bar.depth] = bar.last_sibling
        guides = "".join("   " if last_at.get(level, True) else "│  " for level in range(1, bar.depth))
        branch = ("└─ " if bar.last_sibling else "├─ ") if bar.depth else ""
        names.append(f"{guides}{branch}{ICONS.get(bar.state, '…')} {bar.label}")
    return names


def _pick(bars: list[Bar], limit: int | None) -> list[int]:
    if limit is None or len(bars) <= limit:
        return list(range(len(bars)))
    limit = max(limit - 1, 1)  # one line says what is hidden
    running = [i for i, b in enumerate(bars) if b.span.running]
    rest = sorted((i for i, b in enumerate(bars) if not b.span.running), key=lambda i: bars[i].end, reverse=True)
    return sorted((running + rest)[:limit])


def _axis(chart: Chart, bar_w: int) -> Text:
    """Tick labels placed under their column, as many as fit without touching."""
    seconds = chart.seconds
    step = tick_step(seconds, max(bar_w // 10, 1))
    cells = [" "] * bar_w
    for offset in ticks(seconds, max(bar_w // 10, 1)):
        label = "┊" + format_tick(offset, step)
        col = min(int(offset / seconds * bar_w), bar_w - 1)
        if col + len(label) > bar_w or any(c != " " for c in cells[max(col - 1, 0):col + len(label)]):
            continue
        cells[col:col + len(label)] = list(label)
    return Text("".join(cells), style="dim")


def _cells(chart: Chart, span: Span, bar_w: int) -> range:
    first = min(int(chart.offset(span.start) * bar_w), bar_w - 1)
    last = min(bar_w - 1, math.ceil(chart.offset(span.end) * bar_w) - 1)
    return range(first, max(first, last) + 1)


def _row(chart: Chart, bar: Bar, name: str, name_w: int, bar_w: int) -> Text:
    style = Style(color=color(bar.state))
    if len(name) > name_w:
        name = name[: name_w - 1] + "…"
    attempts = f" ×{len(bar.attempts)}" if len(bar.attempts) > 1 else ""
    text = Text(name.ljust(name_w) + " ", style=style)
    text += Text((bar.state.value + attempts).ljust(_STATE_W)[:_STATE_W] + " ", style=style)
    text += Text(format_duration(bar.span.seconds).rjust(_DUR_W)[-_DUR_W:] + " ", style="dim")
    cells: list[tuple[str, Style | str]] = [(" ", "")] * bar_w
    waiting = bool(bar.attempts)  # a runnable's time before (and between) its attempts
    for col in _cells(chart, bar.span, bar_w):
        cells[col] = ("─", Style(color=color(bar.state), dim=True)) if waiting else ("█", style)
    for attempt in bar.attempts:
        for col in _cells(chart, attempt, bar_w):
            cells[col] = ("█", Style(color=color(attempt.state)))
    for char, cell_style in cells:
        text.append(char, style=cell_style)
    return text
