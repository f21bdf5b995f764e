"""`kflow logs EXECUTION [TASK] [-f]`: each task attempt's log, every line prefixed by its task.

Lines come from the task pods while they exist; once a pod is collected, from the bounded copy
the operator kept in a ConfigMap named after the pod (kflow.operator.pod_logs), else from the
copy the runner kept in internal storage (--storage / KFLOW_STORAGE, the operator's storage) at
`.../tasks/<task>/<task run>/logs/attempt-<n>.log`. Without -f, task runs are shown in the
order they started; with -f, lines are printed as pods write them until the execution ends.
"""

from __future__ import annotations

import argparse

from kflow.cli.completion import EXECUTIONS
from kflow.client.kube import add_cluster_args
from kflow.client.logs import LogReader, open_log_storage, task_ids


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "logs", help="print the task logs of an execution",
        description="Print the log of each task attempt of EXECUTION (only TASK's with a task id), prefixed by task id "
        "(and loop value). Collected pods: read from the copy the operator kept in a ConfigMap, else from internal storage "
        "(--storage or KFLOW_STORAGE).",
    )
    parser.add_argument("execution", metavar="EXECUTION").complete = EXECUTIONS
    parser.add_argument("task", nargs="?", metavar="TASK", help="only this task id")
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until the execution ends")
    parser.add_argument("--storage", metavar="URL", help="internal storage where runners keep logs: dir:/path or s3://bucket?endpoint=... (default: $KFLOW_STORAGE)")
    parser.add_argument("--no-prefix", action="store_true", help="lines as the task printed them")
    add_cluster_args(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kflow.client.inputs import UsageError
    from kflow.client.kube import connect
    from kflow.execution.status import ExecutionStatus

    cluster = connect(args)
    body = cluster.get("executions", args.execution)
    status = ExecutionStatus.read(body.get("status"))
    if args.task and args.task not in task_ids(status):
        known = ", ".join(sorted(task_ids(status))) or "none yet"
        raise UsageError(f"execution {args.execution!r} has no task run of task {args.task!r} (task ids: {known})")
    reader = LogReader(cluster, args.execution, open_log_storage(args.storage), prefix=not args.no_prefix)
    if args.follow:
        return reader.follow(body, args.task)
    reader.print_all(status, args.task)
    return 0


