"""`python -m kflow.runner --invocation FILE [--result FILE]`: run one task.

The result (compact JSON) goes to --result: a local file, or /dev/termination-log in a pod.
Exit code 0 when the task succeeded, 1 when it failed, 2 when the invocation is unusable.
"""

from __future__ import annotations

import argparse
import json
import sys

from kflow.runner.secrets import ENVELOPE_HELP


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kflow-runner", description=__doc__)
    parser.add_argument("--invocation", default="-", help="JSON invocation file, - for stdin, env:NAME for a variable")
    parser.add_argument("--result", default="-", help="where to write the JSON result, - for stdout")
    parser.add_argument("--result-limit", type=int, default=None, help="largest result in bytes (a pod's termination message: 4096)")
    parser.add_argument("--envelope", action="store_true", help="the invocation and private values come on stdin (kflow run): " + ENVELOPE_HELP)
    args = parser.parse_args(argv)
    from kflow.runner.undumpable import make_undumpable

    make_undumpable()  # what this process holds is not readable through /proc by its scripts
    # Killed (task timeout, kill, pod deletion): unwind, so the working directory and any
    # half-written storage file are removed; no result is written.
    import signal

    signal.signal(signal.SIGTERM, _terminated)

    if args.envelope:  # started by `kflow run`: end with it
        from kflow.runner.reaper import die_with_parent

        die_with_parent()
    try:
        raw = sys.stdin.read() if args.envelope else _read(args.invocation)
    except OSError as err:
        print(f"kflow-runner: unusable invocation: {err}", file=sys.stderr)
        return 2
    # A Return or Log that only prints variables, and was handed no private values, runs
    # without pydantic and jinja2 (light.py).
    from kflow.runner.light import run_light

    light = run_light(raw, args.result_limit, enveloped=args.envelope)
    if light is not None:
        payload, failed = light
        _write(args.result, payload)
        return 1 if failed else 0

    from pydantic import ValidationError

    from kflow.runner.invocation import Envelope, Invocation
    from kflow.runner.run import execute
    from kflow.storage.config import use_credentials

    secrets = None
    try:
        if args.envelope:
            envelope = Envelope.model_validate_json(raw)
            invocation, secrets = envelope.invocation, envelope.secrets
            use_credentials(envelope.storageCredentials)
        else:
            invocation = Invocation.model_validate_json(raw)
    except (ValidationError, json.JSONDecodeError) as err:
        print(f"kflow-runner: unusable invocation: {err}", file=sys.stderr)
        return 2
    result = execute(invocation, secrets=secrets)
    if args.result_limit is not None:
        from kflow.runner.offload import fit

        result = fit(result, args.result_limit, invocation)
    _write(args.result, result.to_json())
    return 0 if result.state != "FAILED" else 1


def _write(target: str, payload: str) -> None:
    if target == "-":
        print(payload)
    else:
        with open(target, "w", encoding="utf-8") as out:
            out.write(payload)


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _read(source: str) -> str:
    import os

    if source == "-":
        return sys.stdin.read()
    if source.startswith("env:"):
        value = os.environ.get(source[4:])
        if value is None:
            raise OSError(f"environment variable {source[4:]} is not set")
        return value
    with open(source, encoding="utf-8") as handle:
        return handle.read()


if __name__ == "__main__":
    sys.exit(main())
