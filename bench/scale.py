"""Throughput on the test cluster, in one run: kflow against bare pods, and 1,000 live Executions.

Run (as root; the test cluster is started if needed, KFLOW_TEST_IMAGE names the image):
    python bench/scale.py [--executions 100] [--live 1000]

1. N bare pods of the project image running `python3 -c "print('r')"`, created at once: the
   seconds from the first create to the last pod ended.
2. N one-task (Return) Executions created at once, with kflow's operator running as a local
   process: the seconds to the last SUCCESS (every one must be SUCCESS), the ratio to (1), the
   operator's CPU per execution (/proc/<pid>/stat), and the API writes it made per task run
   (Execution status and label patches, pods created and deleted, Events posted, pod-log
   ConfigMaps created), counted by watches.
3. L Executions of a one-Pause flow created at once: the seconds until all are PAUSED, and the
   operator's resident memory then.
Prints JSON, then a one-line summary. The machine is shared: the load average is printed too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from cluster_bench import (
    ONE_PAUSE,
    ONE_TASK,
    Session,
    at_once,
    bare_pods_at_once,
    executions_at_once,
    load,
    process_cpu,
    process_rss_mib,
    watch_executions,
    watch_log_config_maps,
    watch_operator_events,
    watch_pods,
)


def progress(report: dict[str, object]) -> None:
    """What is measured so far, on stderr: a run that fails later still shows it."""
    print(json.dumps(report), file=sys.stderr, flush=True)


def measure_batch(session, operator, pods, executions, events, n: int, prefix: str, log_maps=None) -> dict[str, object]:
    """N one-task Executions at once: wall time, end states, the operator's CPU and API writes."""
    time.sleep(2)  # let earlier writes land before counting
    before = (executions.snapshot(), pods.snapshot(), events.snapshot(), log_maps.snapshot() if log_maps else {"ADDED": 0})
    cpu_before = process_cpu(operator.proc.pid)
    wall, states = executions_at_once(session, executions, "one", n, prefix)
    time.sleep(2)  # pods are collected, Events posted, just after the end
    cpu = process_cpu(operator.proc.pid) - cpu_before
    after = (executions.snapshot(), pods.snapshot(), events.snapshot(), log_maps.snapshot() if log_maps else {"ADDED": 0})
    writes = {
        "Execution status and label patches": after[0]["MODIFIED"] - before[0]["MODIFIED"],
        "pods created": after[1]["ADDED"] - before[1]["ADDED"],
        "pods deleted": after[1]["DELETED"] - before[1]["DELETED"],
        "Events posted": after[2]["ADDED"] + after[2]["MODIFIED"] - before[2]["ADDED"] - before[2]["MODIFIED"],
        "pod-log ConfigMaps created": after[3]["ADDED"] - before[3]["ADDED"],
    }
    return {
        f"{n} one-task executions at once (s)": round(wall, 1),
        "executions per minute": round(n / wall * 60),
        "end states": states,
        "operator CPU per execution (ms)": round(cpu / n * 1000, 1),
        "API writes per task run": round(sum(writes.values()) / n, 2),
        "API writes": writes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--live", type=int, default=1000, help="Pause executions kept live (0: skip)")
    parser.add_argument("--baseline-operator", metavar="DIR", help="also run the N executions with the operator of the kflow sources in DIR (e.g. an older checkout), for a before/after in one run")
    args = parser.parse_args()
    n = args.executions
    session = Session("scale")
    report: dict[str, object] = {"namespace": session.namespace, "load before": load()}
    try:
        pods, executions, events = watch_pods(session), watch_executions(session), watch_operator_events(session)
        log_maps = watch_log_config_maps(session)
        operator = session.start_operator()
        session.kflow.apply_flow(ONE_TASK)
        session.kflow.apply_flow(ONE_PAUSE)
        session.kflow.wait_flow("one")
        # warm: the image in the page cache, the operator's imports, the flow validated
        bare_pods_at_once(session, pods, 1, "warm-bare")
        executions_at_once(session, executions, "one", 1, "warm")

        bare = bare_pods_at_once(session, pods, n, "bare")
        report["load after bare pods"] = load()
        report[f"{n} bare pods at once (s)"] = round(bare, 1)
        report.update(measure_batch(session, operator, pods, executions, events, n, "one", log_maps))
        report["ratio executions / bare pods"] = round(report[f"{n} one-task executions at once (s)"] / bare, 2)  # type: ignore[operator]
        report["load after executions"] = load()
        progress(report)
        if args.baseline_operator:  # the same batch, driven by another tree's operator
            session.operator.stop()
            baseline = session.start_operator(sources=Path(args.baseline_operator).resolve())
            executions_at_once(session, executions, "one", 1, "warm-baseline")
            report[f"baseline operator ({args.baseline_operator})"] = measure_batch(session, baseline, pods, executions, events, n, "base", log_maps)
            report["load after baseline"] = load()
            progress(report)
            session.operator.stop()
            operator = session.start_operator()
        if args.live:
            names = [f"live-{i}" for i in range(args.live)]
            started = time.monotonic()
            at_once(lambda i: session.kflow.execute("wait", names[i]), args.live, threads=32)
            created = time.monotonic() - started

            def paused(name: str) -> bool:
                obj = executions.objects.get(name)
                return bool(obj) and (obj.get("status") or {}).get("current") == "PAUSED"

            deadline = time.monotonic() + 900
            while not all(paused(name) for name in names):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{sum(map(paused, names))} of {args.live} PAUSED after 900 s")
                time.sleep(0.2)
            report.update({
                f"{args.live} Pause executions: created in (s)": round(created, 1),
                f"{args.live} Pause executions: all PAUSED after (s)": round(time.monotonic() - started, 1),
                f"operator RSS with {args.live} live executions (MiB)": round(process_rss_mib(operator.proc.pid), 1),
                "load after live executions": load(),
            })
    finally:
        session.close()
    print(json.dumps(report, indent=2))
    summary = (
        f"{n} one-task executions {report[f'{n} one-task executions at once (s)']} s vs {n} bare pods {report[f'{n} bare pods at once (s)']} s "
        f"= {report['ratio executions / bare pods']}x (goal <= 1.15), all {report['end states']}; operator CPU {report['operator CPU per execution (ms)']} ms/execution "
        f"(goal < 20); {report['API writes per task run']} API writes/task run"
    )
    if args.live:
        summary += f"; {args.live} live: operator RSS {report[f'operator RSS with {args.live} live executions (MiB)']} MiB (goal <= 150)"
    print(summary + f"; load {report['load before']} -> {report['load after executions']}")


if __name__ == "__main__":
    main()
