"""`kflow`: one entry point, a subcommand per job (also `kubectl kflow ...` as a kubectl plugin).

Errors are one clear message on stderr, never a traceback: exit code 2 for bad input (an
invalid flow, a missing or mistyped input, an unknown flow or execution), 1 when the cluster
cannot be reached or refuses.
"""

from __future__ import annotations

import argparse
import sys

from kflow.cli import apply as apply_command
from kflow.cli import completion as completion_command
from kflow.cli import control as control_command
from kflow.cli import convert as convert_command
from kflow.cli import describe as describe_command
from kflow.cli import execute as execute_command
from kflow.cli import gantt as gantt_command
from kflow.cli import get as get_command
from kflow.cli import logs as logs_command
from kflow.cli import run as run_command
from kflow.client.inputs import UsageError
from kflow.client.kube import ClusterError, NotFound
from kflow.ui import command as ui_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kflow", description="Kestra-style YAML workflows, on Kubernetes or on this machine.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_command.add_parser(subparsers)
    apply_command.add_parser(subparsers)
    convert_command.add_parser(subparsers)
    execute_command.add_parser(subparsers)
    get_command.add_parser(subparsers)
    describe_command.add_parser(subparsers)
    logs_command.add_parser(subparsers)
    control_command.add_parsers(subparsers)
    gantt_command.add_parser(subparsers)
    ui_command.add_parser(subparsers)
    completion_command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from kflow.execution.status import StatusError
    from kflow.flow import FlowError
    from kflow.flow.inputs import InputsError

    parser = build_parser()
    args = parser.parse_args(argv)
    args.parser = parser
    try:
        return args.handler(args)
    except FlowError as err:
        print(f"kflow: {err}", file=sys.stderr)
    except InputsError as err:
        print(f"kflow: invalid inputs:{' ' if len(err.problems) == 1 else chr(10)}{err}", file=sys.stderr)
    except (UsageError, NotFound) as err:
        print(f"kflow: {err}", file=sys.stderr)
    except ClusterError as err:
        print(f"kflow: {err}", file=sys.stderr)
        return 1
    except StatusError as err:  # an Execution whose status was edited past reading
        print(f"kflow: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kflow: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kflow logs ... | head`
        sys.stderr.close()
        return 0
    except Exception as err:
        if "kubernetes" not in sys.modules:
            raise
        from kflow.client.kube import connection_message, is_connection_error

        if not is_connection_error(err):
            raise
        print(f"kflow: {connection_message(err)}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
