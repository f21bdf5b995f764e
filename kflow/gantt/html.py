"""The chart as one self-contained HTML page: a title, the SVG, and a table of task runs."""

from __future__ import annotations

from html import escape

from kflow.execution.instants import format_instant
from kflow.gantt.chart import Chart
from kflow.gantt.style import color, format_duration
from kflow.gantt.svg import render_svg

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 24px; color: #1f2933; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #52606d; margin-bottom: 16px; }
.state { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; }
.chart { overflow-x: auto; border: 1px solid #e4e7eb; border-radius: 6px; margin-bottom: 20px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.error { color: #d9304f; }
"""


def render_html(chart: Chart, width: int = 1200) -> str:
    state = chart.span.state
    title = f"{chart.namespace}.{chart.flow_id} — {chart.execution_id}"
    rows = []
    for bar in chart.bars:
        indent = "&nbsp;" * (3 * bar.depth)
        rows.append(
            f'<tr data-taskrun="{escape(bar.taskrun_id)}" data-state="{bar.state.value}">'
            f"<td>{indent}{escape(bar.task_id)}</td>"
            f"<td>{escape(bar.value) if bar.value is not None else ''}</td>"
            f"<td>{_badge(bar.state)}</td>"
            f'<td class="num">{len(bar.attempts)}</td>'
            f"<td>{format_instant(bar.start)}</td>"
            f'<td class="num">{format_duration(bar.span.seconds)}{" (running)" if bar.span.running else ""}</td>'
            f'<td class="error">{escape(bar.reason) if bar.reason and bar.state.failed else ""}</td></tr>'
        )
    error = f'<p class="error">{escape(chart.error)}</p>' if chart.error else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<div class="meta">{_badge(state)} &nbsp;{format_duration(chart.span.seconds)}'
        f"{' so far' if chart.span.running else ''} &nbsp;·&nbsp; started {format_instant(chart.start)}"
        f" &nbsp;·&nbsp; {len(chart.bars)} task runs</div>\n{error}"
        f'<div class="chart">{render_svg(chart, width)}</div>\n'
        "<table><thead><tr><th>task</th><th>value</th><th>state</th><th>attempts</th><th>start</th>"
        "<th>duration</th><th>reason</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        "</body></html>\n"
    )


def _badge(state) -> str:
    return f'<span class="state" style="background:{color(state)}">{state.value}</span>'
