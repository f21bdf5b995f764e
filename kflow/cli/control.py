"""`kflow kill|restart|resume NAME`: the Execution's spec fields the operator acts on.

restart and resume are counters (raise by one): asking twice means twice, and the status
records the value last acted on.
"""

from __future__ import annotations

import argparse

from kflow.cli.completion import EXECUTIONS
from kflow.cli.inputs import UsageError
from kflow.cli.kube import TERMINAL, add_cluster_args


def add_parsers(subparsers) -> None:
    for name, help_text in (
        ("kill", "kill an execution: its pods are deleted, it ends KILLED"),
        ("restart", "restart a FAILED or KILLED execution from its failed task runs"),
        ("resume", "resume the PAUSED tasks of an execution"),
    ):
        parser = subparsers.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        parser.add_argument("name", metavar="EXECUTION", help="the Execution resource's name").complete = EXECUTIONS
        add_cluster_args(parser)
        parser.set_defaults(handler=run, action=name)


def run(args: argparse.Namespace) -> int:
    from kflow.cli.kube import ClusterError, connect

    cluster = connect(args)
    for _ in range(5):  # the patch is conditional on what was read: on a conflict, read again
        body = cluster.get("executions", args.name)
        try:
            _patch(cluster, args.name, body, _spec_patch(args.action, args.name, body))
            break
        except ClusterError as err:
            if "HTTP 409" not in str(err):
                raise
    else:
        raise ClusterError(f"execution {args.name!r} kept changing under us: try again")
    print(f"execution.kflow.io/{args.name}: {args.action} requested")
    return 0


def _spec_patch(action: str, name: str, body: dict) -> dict:
    spec = body.get("spec") or {}
    state = (body.get("status") or {}).get("current")
    if action == "kill":
        if state in TERMINAL:
            raise UsageError(f"execution {name!r} already ended {state}: nothing to kill")
        return {"kill": True}
    if action == "restart":
        if state not in ("FAILED", "KILLED"):
            raise UsageError(f"execution {name!r} is {state or 'not started'}: only a FAILED or KILLED execution restarts")
        patch = {"restart": int(spec.get("restart") or 0) + 1}
        if spec.get("kill"):
            patch["kill"] = False  # else the restarted execution would be killed again
        return patch
    return {"resume": int(spec.get("resume") or 0) + 1}


def _patch(cluster, name: str, body: dict, spec: dict) -> None:
    """A merge patch carrying the resourceVersion read: two `restart`s at once raise the counter twice."""
    from kflow.cli.kube import GROUP, VERSION, call

    patch = {"metadata": {"resourceVersion": body["metadata"]["resourceVersion"]}, "spec": spec}
    call(cluster.custom.patch_namespaced_custom_object, GROUP, VERSION, cluster.namespace, "executions", name, patch, what=f"execution {name!r}")
