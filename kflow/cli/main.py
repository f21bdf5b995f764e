"""`kflow`: one entry point, a subcommand per job. Bad input: one clear line, exit code 2."""

from __future__ import annotations

import argparse
import sys

from kflow.cli import run as run_command
from kflow.cli.inputs import UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kflow", description="Kestra-style YAML workflows, on Kubernetes or on this machine.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from kflow.flow import FlowError
    from kflow.flow.inputs import InputsError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except FlowError as err:
        print(f"kflow: {err}", file=sys.stderr)
    except InputsError as err:
        print(f"kflow: invalid inputs:\n{err}", file=sys.stderr)
    except UsageError as err:
        print(f"kflow: {err}", file=sys.stderr)
    except KeyboardInterrupt:
        print("kflow: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
