"""`kflow run FLOW.yaml`: run a flow on this machine, no cluster needed."""

from __future__ import annotations

import argparse
import json
import sys

from kflow.cli.inputs import parse_pairs
from kflow.execution import State


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a flow locally, each task as its own process",
        description="Run a Kestra flow on this machine. Exit code: 0 on SUCCESS, 1 otherwise, 2 for bad input.",
    )
    parser.add_argument("flow", help="the flow's YAML file")
    parser.add_argument("--input", "-i", action="append", default=[], metavar="KEY=VALUE", help="a flow input (repeatable)")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="a label of the execution")
    parser.add_argument("--json", action="store_true", help="print the final execution as JSON on stdout")
    parser.add_argument("--plain", action="store_true", help="plain progress lines instead of the live tree")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress, only the summary")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kflow.flow import load_flow_file
    from kflow.flow.inputs import resolve_inputs
    from kflow.local import LocalExecutor, RunOptions
    from kflow.local.view import LiveView, PlainView, summary

    flow = load_flow_file(args.flow)
    inputs = resolve_inputs(flow.inputs, parse_pairs(args.input))
    labels = parse_pairs(args.label, "--label")
    if args.quiet:
        view = None
    elif args.plain or args.json or not sys.stderr.isatty():
        view = PlainView(sys.stderr)
    else:
        view = LiveView()
    try:
        execution = LocalExecutor(flow, view).run(RunOptions(inputs=inputs, labels=labels))
    finally:
        if view is not None:
            view.close()
    if args.json:
        json.dump(execution.to_json(), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        summary(execution, sys.stdout)
    return 0 if execution.state.current == State.SUCCESS else 1
