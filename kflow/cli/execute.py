"""`kflow execute FLOW --input k=v`: start an Execution of a Flow on the cluster.

Inputs are checked against the Flow's declared inputs before anything is created (every bad
or missing one named with its type). A FILE input given as `@path` is uploaded to internal
storage first (--storage / KFLOW_STORAGE: the operator's storage), the Execution gets its
kestra:// URI. The operator assigns the Kestra execution id only once the Execution exists,
so uploads go under a fresh id of their own in the flow's `executions/` folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kflow.cli.completion import FLOWS
from kflow.client.create import checked_inputs, create_execution, find_flow, secret_ids
from kflow.client.inputs import parse_pairs
from kflow.client.kube import add_cluster_args

SUCCESSFUL = ("SUCCESS", "WARNING")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "execute",
        help="start an execution of a Flow on the cluster",
        description="Create an Execution of FLOW (a Flow resource name, or the flow id). Exit code with --wait/--watch: "
        "0 when it ends SUCCESS or WARNING, 1 otherwise; 2 for bad input.",
    )
    parser.add_argument("flow", metavar="FLOW", help="the Flow's resource name (or its Kestra id)").complete = FLOWS
    parser.add_argument("--input", "-i", action="append", default=[], metavar="KEY=VALUE",
                        help="a flow input (repeatable); a FILE input takes @path (uploaded to internal storage) or a kestra:// URI")
    parser.add_argument("--label", "-l", action="append", default=[], metavar="KEY=VALUE", help="a label of the execution (repeatable)")
    parser.add_argument("--wait", "-w", action="store_true", help="wait for the end, print each task's outputs")
    parser.add_argument("--watch", action="store_true", help="show the task tree live until the end")
    parser.add_argument("--storage", metavar="URL", help="internal storage for @file inputs: dir:/path or s3://bucket?endpoint=... (default: $KFLOW_STORAGE)")
    parser.add_argument("--json", action="store_true", help="with --wait: the final Execution resource as JSON on stdout")
    add_cluster_args(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kflow.client.kube import connect
    from kflow.operator.flows import flow_from_resource

    given = parse_pairs(args.input)
    labels = parse_pairs(args.label, "--label")
    cluster = connect(args)
    flow_body = find_flow(cluster, args.flow)
    flow = flow_from_resource(flow_body)
    inputs = checked_inputs(flow, given, args.storage)
    name = flow_body["metadata"]["name"]
    created = create_execution(cluster, name, inputs, labels, secret_ids(flow))
    execution_name = created["metadata"]["name"]
    print(execution_name, flush=True)
    if not (args.wait or args.watch):
        return 0
    body = follow(cluster, execution_name, watch=args.watch and not args.json)
    if args.json:
        json.dump(body, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    state = (body.get("status") or {}).get("current")
    return 0 if state in SUCCESSFUL else 1


def follow(cluster, name: str, watch: bool) -> dict[str, Any]:
    """Wait for the end: the live view of kflow/cli/watch.py when asked for."""
    if watch:
        from kflow.cli.watch import watch_execution

        return watch_execution(cluster.api, cluster.namespace, name)
    from kflow.client.executions import wait_for_end

    body = wait_for_end(cluster, name)
    print_summary(body)
    return body


def print_summary(body: dict[str, Any], stream=None) -> None:
    """How it ended and each task's outputs, as `kflow run` prints them."""
    from kflow.execution.status import ExecutionStatus
    from kflow.local.view import summary

    stream = stream or sys.stdout
    status = body.get("status") or {}
    if not status.get("id"):
        stream.write(f"execution {body['metadata']['name']}: {status.get('current')}: {status.get('error') or ''}\n")
        return
    if not status.get("state"):
        stream.write(f"execution {body['metadata']['name']}: {status.get('current')}\n")
        return
    summary(ExecutionStatus.read(status).execution(), stream)
    if status.get("error"):
        stream.write(f"error: {status['error']}\n")


