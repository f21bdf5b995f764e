"""The chart as a self-contained SVG: one <rect> per task run carrying its data, a time axis,
a legend. No scripts, fonts or links: it opens anywhere, and tests can parse it as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kflow.execution.instants import format_instant
from kflow.gantt.chart import Bar, Chart
from kflow.gantt.style import LEGEND_ORDER, color, format_duration, format_tick, tick_step, ticks

SVG_NS = "http://www.w3.org/2000/svg"
_ROW_H = 24
_BAR_H = 14
_AXIS_H = 34
_LEGEND_H = 24
_PAD = 12
_CHAR_W = 7.2  # average width of a 12px sans-serif character, for laying out labels
_INDENT = 14
_DUR_W = 64
_STYLE = """
text { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 12px; fill: #1f2933; }
.axis text { fill: #616e7c; font-size: 11px; }
.grid { stroke: #e4e7eb; stroke-width: 1; }
.stripe { fill: #f5f7fa; }
.duration { fill: #52606d; }
.legend text { font-size: 11px; }
rect.taskrun.running { stroke-dasharray: 4 2; }
"""


def render_svg(chart: Chart, width: int = 1200) -> str:
    """The SVG document as text (UTF-8, with its XML declaration omitted: embeddable in HTML)."""
    return ET.tostring(svg_element(chart, width), encoding="unicode")


def svg_element(chart: Chart, width: int = 1200) -> ET.Element:
    bars = chart.bars
    label_w = min(max([len(b.label) * _CHAR_W + b.depth * _INDENT for b in bars] + [120]) + 2 * _PAD, width * 0.4)
    plot_x = label_w
    plot_w = max(width - label_w - _DUR_W - _PAD, 100)
    height = _AXIS_H + len(bars) * _ROW_H + _LEGEND_H + _PAD
    svg = ET.Element("svg", {
        "xmlns": SVG_NS, "width": str(width), "height": str(height), "viewBox": f"0 0 {width} {height}",
        "class": "kflow-gantt", "data-execution": chart.execution_id, "data-state": chart.span.state.value,
        "data-start": format_instant(chart.start), "data-end": format_instant(chart.end),
    })
    ET.SubElement(svg, "title").text = f"{chart.namespace}.{chart.flow_id} {chart.execution_id}: {chart.span.state.value}"
    ET.SubElement(svg, "style").text = _STYLE
    ET.SubElement(svg, "rect", {"x": "0", "y": "0", "width": str(width), "height": str(height), "fill": "#ffffff"})

    def x_of(instant) -> float:
        return plot_x + chart.offset(instant) * plot_w

    rows_top, rows_bottom = _AXIS_H, _AXIS_H + len(bars) * _ROW_H
    for i in range(0, len(bars), 2):
        ET.SubElement(svg, "rect", {"class": "stripe", "x": "0", "y": _n(rows_top + i * _ROW_H), "width": str(width), "height": str(_ROW_H)})
    _axis(svg, chart, plot_x, plot_w, rows_top, rows_bottom)
    for i, bar in enumerate(bars):
        _bar(svg, chart, bar, rows_top + i * _ROW_H, x_of, plot_x + plot_w)
    _legend(svg, chart, rows_bottom + _PAD)
    return svg


def _axis(svg: ET.Element, chart: Chart, plot_x: float, plot_w: float, top: float, bottom: float) -> None:
    group = ET.SubElement(svg, "g", {"class": "axis"})
    max_ticks = max(int(plot_w // 80), 1)
    step = tick_step(chart.seconds, max_ticks)
    for offset in ticks(chart.seconds, max_ticks):
        x = plot_x + offset / chart.seconds * plot_w
        ET.SubElement(group, "line", {"class": "grid tick", "x1": _n(x), "x2": _n(x), "y1": _n(top - 6), "y2": _n(bottom)})
        ET.SubElement(group, "text", {"class": "tick-label", "x": _n(x), "y": _n(top - 10), "text-anchor": "middle"}).text = format_tick(offset, step)


def _bar(svg: ET.Element, chart: Chart, bar: Bar, top: float, x_of, plot_end: float) -> None:
    group = ET.SubElement(svg, "g", {"class": "row"})
    ET.SubElement(group, "title").text = _tooltip(bar)
    label = ET.SubElement(group, "text", {"class": "label", "x": _n(_PAD + bar.depth * _INDENT), "y": _n(top + _ROW_H / 2 + 4)})
    label.text = bar.label
    x0, x1 = x_of(bar.start), x_of(bar.end)
    attrs = {
        "class": "taskrun" + (" running" if bar.span.running else ""),
        "x": _n(x0), "y": _n(top + (_ROW_H - _BAR_H) / 2), "width": _n(max(x1 - x0, 2)), "height": str(_BAR_H),
        "rx": "3", "fill": color(bar.state), "fill-opacity": "0.35" if bar.attempts else "0.9",
        "stroke": color(bar.state), "stroke-width": "1",
        "data-task": bar.task_id, "data-taskrun": bar.taskrun_id, "data-state": bar.state.value,
        "data-start": format_instant(bar.start), "data-end": format_instant(bar.end),
        "data-depth": str(bar.depth), "data-attempts": str(len(bar.attempts)),
    }
    if bar.value is not None:
        attrs["data-value"] = bar.value
    if bar.parent_id:
        attrs["data-parent"] = bar.parent_id
    if bar.span.running:
        attrs["data-running"] = "true"
    ET.SubElement(group, "rect", attrs)
    for number, attempt in enumerate(bar.attempts, 1):
        a0, a1 = x_of(attempt.start), x_of(attempt.end)
        ET.SubElement(group, "rect", {
            "class": "attempt", "x": _n(a0), "y": _n(top + (_ROW_H - _BAR_H) / 2 + 2), "width": _n(max(a1 - a0, 2)),
            "height": str(_BAR_H - 4), "rx": "2", "fill": color(attempt.state),
            "data-attempt": str(number), "data-state": attempt.state.value,
            "data-start": format_instant(attempt.start), "data-end": format_instant(attempt.end),
        })
    ET.SubElement(group, "text", {"class": "duration", "x": _n(plot_end + 6), "y": _n(top + _ROW_H / 2 + 4)}).text = format_duration(bar.span.seconds)


def _legend(svg: ET.Element, chart: Chart, top: float) -> None:
    """The states this chart shows, plus the usual ones, each with its colour."""
    present = {b.state for b in chart.bars} | {a.state for b in chart.bars for a in b.attempts} | {chart.span.state}
    states = [s for s in LEGEND_ORDER if s in present or s.value in ("SUCCESS", "FAILED", "WARNING", "RUNNING")]
    group = ET.SubElement(svg, "g", {"class": "legend"})
    x = float(_PAD)
    for state in states:
        item = ET.SubElement(group, "g", {"class": "legend-item", "data-state": state.value})
        ET.SubElement(item, "rect", {"x": _n(x), "y": _n(top), "width": "12", "height": "12", "rx": "2", "fill": color(state)})
        ET.SubElement(item, "text", {"x": _n(x + 17), "y": _n(top + 10)}).text = state.value
        x += 17 + len(state.value) * _CHAR_W + 16
    ET.SubElement(group, "text", {"class": "started", "x": _n(x + 8), "y": _n(top + 10)}).text = (
        f"0s = {format_instant(chart.start)}  ·  total {format_duration(chart.span.seconds)}"
    )


def _tooltip(bar: Bar) -> str:
    lines = [f"{bar.label}: {bar.state.value} in {format_duration(bar.span.seconds)}",
             f"{format_instant(bar.start)} → {format_instant(bar.end)}{' (running)' if bar.span.running else ''}"]
    for number, attempt in enumerate(bar.attempts, 1):
        lines.append(f"attempt {number}: {attempt.state.value} in {format_duration(attempt.seconds)}")
    if bar.reason:
        lines.append(bar.reason)
    return "\n".join(lines)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
