"""`kflow describe execution NAME`: the flow, inputs, labels, the task tree with each attempt
(state, duration, reason) and outputs, and the error, in one screen."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from kflow.cli.completion import EXECUTIONS, KINDS
from kflow.client.kube import add_cluster_args

OUTPUT_LIMIT = 400  # characters of one output value shown; the rest is in `get -o yaml`


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("describe", help="show an execution's task tree, attempts, outputs and error",
                                   description="Show an Execution (or a Flow) in detail.")
    parser.add_argument("kind", choices=("execution", "executions", "kex", "flow", "flows", "kfl"), metavar="execution|flow").complete = KINDS
    parser.add_argument("name", metavar="NAME").complete = EXECUTIONS
    add_cluster_args(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kflow.client.kube import connect

    cluster = connect(args)
    if args.kind in ("flow", "flows", "kfl"):
        describe_flow(cluster.get("flows", args.name), sys.stdout)
    else:
        describe_execution(cluster.get("executions", args.name), sys.stdout)
    return 0


def describe_execution(body: dict[str, Any], out: TextIO) -> None:
    from kflow.client.executions import human_duration, label, span, tree
    from kflow.execution.status import ExecutionStatus

    meta, spec, status = body["metadata"], body.get("spec") or {}, ExecutionStatus.read(body.get("status"))
    flow_ref = (spec.get("flowRef") or {}).get("name")
    kestra_flow = f"{status.namespace}.{status.flowId}" if status.flowId and status.namespace else "-"
    fields = [
        ("Name", meta["name"]),
        ("Namespace", meta.get("namespace", "")),
        ("Flow", f"{flow_ref} ({kestra_flow}, revision {status.flowRevision or '-'})"),
        ("Execution id", status.id or "-"),
        ("State", status.current or "PENDING (not picked up by the operator yet)"),
        ("Progress", status.progress or "-"),
        ("Started", status.startDate or "-"),
        ("Duration", human_duration(span(status.state_info)) if status.state else "-"),
    ]
    if spec.get("kill"):
        fields.append(("Kill", "requested"))
    if spec.get("restart"):
        fields.append(("Restarts", f"{spec['restart']} asked, {status.restarted or 0} done"))
    if spec.get("resume"):
        fields.append(("Resumes", f"{spec['resume']} asked, {status.resumed or 0} done"))
    width = max(len(k) for k, _ in fields) + 2
    for key, value in fields:
        out.write(f"{key + ':':<{width}}{value}\n")
    _mapping(out, "Labels", status.labels or spec.get("labels") or {})
    _mapping(out, "Inputs", status.inputs if status.inputs is not None else spec.get("inputs") or {})
    if status.error:
        out.write(f"Error:\n  {_indent(status.error, 2)}\n")
    runs = tree(status)
    out.write(f"Task runs: {len(runs)}\n" if runs else "Task runs: none yet\n")
    for depth, run in runs:
        pad = "  " * (depth + 1)
        out.write(f"{pad}{label(run)}  {run.state.current.value}  {human_duration(span(run.state))}  (task run {run.id})\n")
        for number, attempt in enumerate(run.attempts):
            if len(run.attempts) == 1 and not attempt.reason:
                break  # one plain attempt says nothing the line above does not
            line = f"{pad}  attempt {number}: {attempt.state.current.value} {human_duration(span(attempt.state))}"
            if attempt.reason:
                line += f": {_indent(attempt.reason, len(pad) + 4)}"
            out.write(line + "\n")
        for key, value in (run.outputs or {}).items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            if len(shown) > OUTPUT_LIMIT:
                shown = shown[:OUTPUT_LIMIT] + f"… ({len(shown)} characters)"
            out.write(f"{pad}  {key}: {_indent(shown, len(pad) + 4)}\n")
    out.flush()


def describe_flow(body: dict[str, Any], out: TextIO) -> None:
    import yaml

    meta, spec, status = body["metadata"], body.get("spec") or {}, body.get("status") or {}
    out.write(f"Name:       {meta['name']}\nNamespace:  {meta.get('namespace', '')}\n")
    out.write(f"Flow:       {spec.get('namespace')}.{spec.get('id') or meta['name']}, revision {status.get('revision') or '-'}\n")
    for condition in status.get("conditions") or []:
        out.write(f"{condition.get('type')}:      {condition.get('status')} ({condition.get('reason')}): {_indent(condition.get('message') or '', 4)}\n")
    out.write("Spec:\n")
    out.write("  " + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True).replace("\n", "\n  ").rstrip() + "\n")


def _mapping(out: TextIO, title: str, values: dict[str, Any]) -> None:
    if not values:
        out.write(f"{title}: none\n")
        return
    out.write(f"{title}:\n")
    for key, value in values.items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        out.write(f"  {key}: {shown}\n")


def _indent(text: str, spaces: int) -> str:
    return str(text).replace("\n", "\n" + " " * spaces)
