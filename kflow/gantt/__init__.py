"""Gantt charts of an execution: a pure model of bars on a time axis, and its renderers.

`build_chart` turns an Execution (local or from a cluster's status) into a `Chart`;
`GanttView` draws it in a terminal (rich), `render_svg` and `render_html` as files.
"""

from kflow.gantt.aggregate import rollup_state
from kflow.gantt.chart import Bar, Chart, Span, build_chart
from kflow.gantt.html import render_html
from kflow.gantt.svg import render_svg
from kflow.gantt.terminal import GanttView

__all__ = ["Bar", "Chart", "GanttView", "Span", "build_chart", "render_html", "render_svg", "rollup_state"]
