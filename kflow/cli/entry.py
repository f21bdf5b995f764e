"""The `kflow` program's first lines: Ctrl-C while the CLI still imports ends it quietly.

The imports behind `kflow.cli.main` take a while on a busy machine; a SIGINT then would print a
KeyboardInterrupt traceback. Until `kflow.cli.main` is imported (then SIGINT is Python's
KeyboardInterrupt again, which `main` reports in one line), nothing has started, so ending at once is right.
A module of its own so that importing `kflow.cli.main` as a library changes no signal handler.
"""

from __future__ import annotations

import os
import signal


def interrupted_while_starting(signum, frame) -> None:  # noqa: ARG001 - a signal handler's shape
    os.write(2, b"kflow: interrupted\n")
    os._exit(130)


def main() -> int:
    quiet = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if quiet:
        signal.signal(signal.SIGINT, interrupted_while_starting)
    from kflow.cli.main import main as cli_main

    if quiet:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on: KeyboardInterrupt, reported by main
    return cli_main()
