"""`kflow kill|restart|resume NAME`: the Execution's spec fields the operator acts on.

restart and resume are counters (raise by one): asking twice means twice, and the status
records the value last acted on.
"""

from __future__ import annotations

import argparse

from kflow.cli.completion import EXECUTIONS
from kflow.client.control import request_action
from kflow.client.kube import add_cluster_args


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
    from kflow.client.kube import connect

    request_action(connect(args), args.name, args.action, getattr(args, "input", []))
    print(f"execution.kflow.io/{args.name}: {args.action} requested")
    return 0


