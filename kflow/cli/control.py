"""`kflow kill|restart|resume NAME`: the Execution's spec fields the operator acts on.

restart and resume are counters (raise by one): asking twice means twice, and the status
records the value last acted on.
"""

from __future__ import annotations

import argparse

from kflow.cli.completion import EXECUTIONS
from kflow.cli.inputs import UsageError
from kflow.cli.kube import add_cluster_args
from kflow.execution.states import TERMINAL_STATES


def add_parsers(subparsers) -> None:
    for name, help_text in (
        ("kill", "kill an execution: its pods are deleted, it ends KILLED"),
        ("restart", "restart a FAILED or KILLED execution from its failed task runs"),
        ("resume", "resume the PAUSED tasks of an execution"),
    ):
        parser = subparsers.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        parser.add_argument("name", metavar="EXECUTION", help="the Execution resource's name").complete = EXECUTIONS
        if name == "resume":
            parser.add_argument("-i", "--input", action="append", default=[], metavar="ID=VALUE",
                                help="a value of the Pause's onResume inputs (repeatable)")
        add_cluster_args(parser)
        parser.set_defaults(handler=run, action=name)


ACTIONS = ("kill", "restart", "resume")


def run(args: argparse.Namespace) -> int:
    from kflow.cli.kube import connect

    request_action(connect(args), args.name, args.action, getattr(args, "input", []))
    print(f"execution.kflow.io/{args.name}: {args.action} requested")
    return 0


def request_action(cluster, name: str, action: str, inputs: list[str] = ()) -> None:
    """Ask the operator to kill, restart or resume an Execution (the CLI's and the web UI's way);
    `inputs` (NAME=VALUE) go with a resume, for a Pause's `onResume`.

    Raises UsageError when the execution's state does not allow it, ClusterError when refused.
    """
    from kflow.cli.kube import ClusterError

    for _ in range(5):  # the patch is conditional on what was read: on a conflict, read again
        body = cluster.get("executions", name)
        try:
            spec = _spec_patch(action, name, body, inputs)
            if spec.get("resumeInputs"):  # SECRET ones go into a Secret, never in the spec
                from kflow.cli.secret_inputs import resume_with_secret_inputs

                spec = resume_with_secret_inputs(cluster, body, spec)
            _patch(cluster, name, body, spec)
            return
        except ClusterError as err:
            if "HTTP 409" not in str(err):
                raise
    raise ClusterError(f"execution {name!r} kept changing under us: try again")


def replay_execution(cluster, name: str, taskrun_id: str) -> dict:
    """A new Execution replaying `name` from one of its task runs (`spec.replay`): what ran before is kept."""
    from kflow.cli.kube import GROUP, VERSION, call
    from kflow.execution.status import ExecutionStatus, taskruns_by_id

    body = cluster.get("executions", name)
    status = ExecutionStatus.read(body.get("status"))
    if not status.ended:
        raise UsageError(f"execution {name!r} is {status.current or 'not started'}: only an ended execution is replayed")
    if taskrun_id not in taskruns_by_id(status.stored()):
        raise UsageError(f"execution {name!r} has no task run {taskrun_id!r}")
    flow_name = ((body.get("spec") or {}).get("flowRef") or {}).get("name") or ""
    replay = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Execution",
        "metadata": {"generateName": f"{flow_name[:57]}-"},
        "spec": {"flowRef": {"name": flow_name}, "replay": {"execution": name, "taskRunId": taskrun_id}},
    }
    return call(cluster.custom.create_namespaced_custom_object, GROUP, VERSION, cluster.namespace, "executions", replay,
                what=f"replaying execution {name!r} in namespace {cluster.namespace!r}")


def _spec_patch(action: str, name: str, body: dict, inputs: list[str] = ()) -> dict:
    spec = body.get("spec") or {}
    state = (body.get("status") or {}).get("current")
    if action == "kill":
        if state in TERMINAL_STATES:
            raise UsageError(f"execution {name!r} already ended {state}: nothing to kill")
        return {"kill": True}
    if action == "restart":
        if state not in ("FAILED", "KILLED"):
            raise UsageError(f"execution {name!r} is {state or 'not started'}: only a FAILED or KILLED execution restarts")
        patch = {"restart": int(spec.get("restart") or 0) + 1}
        if spec.get("kill"):
            patch["kill"] = False  # else the restarted execution would be killed again
        return patch
    values = {}
    for item in inputs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--input {item!r}: expected ID=VALUE")
        values[key] = value
    return {"resume": int(spec.get("resume") or 0) + 1, "resumeInputs": values or None}


def _patch(cluster, name: str, body: dict, spec: dict) -> None:
    """A merge patch carrying the resourceVersion read: two `restart`s at once raise the counter twice."""
    from kflow.cli.kube import GROUP, VERSION, call

    patch = {"metadata": {"resourceVersion": body["metadata"]["resourceVersion"]}, "spec": spec}
    call(cluster.custom.patch_namespaced_custom_object, GROUP, VERSION, cluster.namespace, "executions", name, patch, what=f"execution {name!r}")
