"""`kflow run FLOW.yaml`: run a flow on this machine, no cluster needed."""

from __future__ import annotations

import argparse
import json
import sys

from kflow.client.inputs import UsageError, parse_pairs
from kflow.client.uploads import FileUploader
from kflow.execution import State


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a flow locally, each task as its own process",
        description="Run a Kestra flow on this machine. Exit code: 0 on SUCCESS, 1 otherwise, 2 for bad input.",
    )
    parser.add_argument("flow", help="the flow's YAML file")
    parser.add_argument(
        "--input", "-i", action="append", default=[], metavar="KEY=VALUE",
        help="a flow input (repeatable); a FILE input takes @path (uploaded to internal storage) or a kestra:// URI",
    )
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="a label of the execution")
    parser.add_argument(
        "--flows", action="append", default=[], metavar="DIR",
        help="a directory of flows that Subflow tasks may start (repeatable; the flow file's directory is always searched)",
    )
    parser.add_argument(
        "--workers", type=_positive, default=None, metavar="N",
        help="at most N runner processes at once; more wait their turn (default: twice the CPUs, at least 4)",
    )
    parser.add_argument("--kv-dir", metavar="DIR", help="the KV store's directory (default: KFLOW_KV_DIR, else ~/.local/share/kflow/kv)")
    parser.add_argument("--json", action="store_true", help="print the final execution as JSON on stdout")
    parser.add_argument("--plain", action="store_true", help="plain progress lines instead of the live tree")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress, only the summary")
    parser.add_argument("--gantt", metavar="FILE.svg|FILE.html", help="write a Gantt chart of the execution to this file")
    parser.add_argument("--ui", action="store_true", help="serve the execution's web page (live; kill, resume) on 127.0.0.1 while it runs, until Ctrl-C")
    parser.add_argument("--ui-port", type=int, default=8090, metavar="PORT", help="port of --ui (default 8090)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kflow.flow import load_flow_file
    from kflow.flow.inputs import resolve_inputs
    from pathlib import Path

    from kflow.local import LocalExecutor, RunOptions
    from kflow.local.subflows import FlowCatalog
    from kflow.local.view import LiveView, PlainView, summary

    from kflow.engine import new_execution_id
    from kflow.execution import Execution

    _guard_this_process()
    flow = load_flow_file(args.flow)
    if args.gantt:
        from kflow.cli.gantt import check_output

        check_output(args.gantt)
    storage = storage_config()
    execution_id = new_execution_id()
    files = FileUploader(storage, flow.namespace, flow.id, execution_id)
    inputs = resolve_inputs(flow.inputs, parse_pairs(args.input), files=files)
    labels = parse_pairs(args.label, "--label")
    if args.quiet:
        view = None
    elif args.plain or args.json or not sys.stderr.isatty():
        view = PlainView(sys.stderr)
    else:
        view = LiveView()
    page = None
    if args.ui:
        from kflow.ui.local import LocalRun, serve_local_run

        view = LocalRun(flow, _flow_spec(args.flow), view)
        page = serve_local_run(view, args.ui_port)
        print(f"kflow run: {page.url}/executions/local/{execution_id}", file=sys.stderr, flush=True)
    try:
        catalog = FlowCatalog([Path(args.flow).resolve().parent, *map(Path, args.flows)])
        executor = LocalExecutor(flow, view, storage=storage, catalog=catalog, workers=args.workers, kv=_kv_store(args.kv_dir))
        if page is not None:
            view.executor = executor
        _resume_on_signal(executor)
        execution = executor.run(
            RunOptions(inputs=inputs, labels=labels, execution_id=execution_id)
        )
    finally:
        if view is not None:
            view.close()
    if page is not None:
        _serve_until_interrupted(page, execution)
    shown = Execution.model_validate(shown_execution(execution, flow))  # what every view below shows
    if args.gantt:
        from kflow.cli.gantt import write_chart
        from kflow.gantt import build_chart

        write_chart(build_chart(shown, flow), args.gantt)
    if args.json:
        json.dump(shown.to_json(), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        summary(shown, sys.stdout)
    return 0 if execution.state.current == State.SUCCESS else 1


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _guard_this_process() -> None:
    """Scripts run as this user: keep this process's environment (SECRET_*, credentials) out of
    their reach through /proc."""
    from kflow.runner.undumpable import make_undumpable

    make_undumpable()


def shown_execution(execution, flow) -> dict:
    """The execution as JSON, SECRET inputs shown as ****** (as Kestra shows them), and their
    values masked wherever else they appear (kflow.masking)."""
    from kflow.masking import shown_execution as shown

    return shown(execution.to_json(), [i.id for i in flow.inputs if i.type == "SECRET"])


def _flow_spec(path: str) -> dict:
    import yaml

    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _serve_until_interrupted(page, execution) -> None:
    """--ui: the page stays up after the end (for a look at logs and outputs) until Ctrl-C."""
    import time

    print(f"kflow run: ended {execution.state.current.value}; the page stays at {page.url} until Ctrl-C", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        page.stop()


def _resume_on_signal(executor) -> None:
    """A Pause without a duration waits for SIGUSR1 (`kill -USR1 <pid>`), or Enter on a terminal."""
    import signal
    import threading

    signal.signal(signal.SIGUSR1, lambda *_: executor.request_resume())
    if sys.stdin is not None and sys.stdin.isatty():
        def read_lines() -> None:
            for _ in sys.stdin:
                executor.request_resume()

        threading.Thread(target=read_lines, name="resume-on-enter", daemon=True).start()


def _kv_store(directory: str | None):
    from kflow.kv.directory import DirectoryKV

    return DirectoryKV(directory)


def storage_config():
    """Internal storage for this run: KFLOW_STORAGE, else the directory ~/.kflow/storage."""
    from kflow.storage import StorageConfig

    try:
        return StorageConfig.from_env().resolved()
    except ValueError as err:
        raise UsageError(f"KFLOW_STORAGE: {err}") from None
