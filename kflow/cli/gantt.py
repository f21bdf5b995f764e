"""`kflow gantt EXECUTION`: a Gantt chart of a cluster Execution, in the terminal or as SVG/HTML.

Also what `kflow run --gantt FILE` uses to write its chart.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from kflow.cli.completion import EXECUTIONS
from kflow.client.gantt import chart_from_body
from kflow.client.inputs import UsageError
from kflow.client.kube import add_cluster_args

FORMATS = (".svg", ".html", ".htm")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "gantt",
        help="show a Gantt chart of an Execution's task runs",
        description="Draw when each task run of a cluster Execution ran: in the terminal, or as a self-contained SVG or HTML file.",
    )
    parser.add_argument("execution", help="the Execution resource's name").complete = EXECUTIONS
    parser.add_argument("--output", "-o", metavar="FILE.svg|FILE.html", help="write the chart to this file instead of the terminal")
    add_cluster_args(parser)
    parser.set_defaults(handler=gantt)


def gantt(args: argparse.Namespace) -> int:
    from kflow.gantt import GanttView

    from kflow.client.kube import connect

    if args.output:
        check_output(args.output)
    cluster = connect(args)
    with cluster.api:
        body = cluster.get("executions", args.execution)
    chart = chart_from_body(body, now=datetime.now(timezone.utc))
    if args.output:
        write_chart(chart, args.output)
        print(f"kflow: wrote {args.output} ({len(chart.bars)} task runs)", file=sys.stderr)
    else:
        from rich.console import Console

        Console().print(GanttView(chart))
    return 0


def check_output(path: str) -> None:
    """Refuse, before any work, a file the chart cannot be written to."""
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise UsageError(f"--output/--gantt {path}: expected a file name ending in .svg or .html")
    if not target.parent.is_dir():
        raise UsageError(f"--output/--gantt {path}: directory {target.parent} does not exist")


def write_chart(chart, path: str) -> None:
    from kflow.gantt import render_html, render_svg

    text = render_svg(chart) if Path(path).suffix.lower() == ".svg" else render_html(chart)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write the Gantt chart to {path}: {err.strerror}") from None


