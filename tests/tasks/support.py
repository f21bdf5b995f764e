"""Helpers for writing the flows of task tests and reading a `kflow run --json` execution."""

from __future__ import annotations


def flow(flow_id: str, tasks: str, namespace: str = "company.team") -> str:
    """A flow's YAML: its id and namespace, then `tasks` (YAML list items, indented by two)."""
    return f"\nid: {flow_id}\nnamespace: {namespace}\ntasks:\n{tasks}"


def storage_env(url: str, access_key: str, secret_key: str) -> dict[str, str]:
    """The environment that puts `kflow run`'s internal storage at `url` (an S3 bucket)."""
    return {"KFLOW_STORAGE": url, "KFLOW_STORAGE_ACCESS_KEY_ID": access_key, "KFLOW_STORAGE_SECRET_ACCESS_KEY": secret_key}


def runs(execution: dict) -> dict[str, dict]:
    return {tr["taskId"]: tr for tr in execution["taskRunList"]}


def task_files(storage_dir) -> list:
    """Files tasks left in storage: each attempt's log (`.../logs/attempt-N.log`) aside."""
    return [p for p in storage_dir.rglob("*") if p.is_file() and p.parent.name != "logs"]


def reason(taskrun: dict) -> str:
    """The last attempt's reason (why it failed)."""
    return (taskrun.get("attempts") or [{}])[-1].get("reason") or ""


_MEASURE = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:])
sys.stderr.write("\\npeak-rss-kib %d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(proc.returncode)
"""


def run_measured(args: list[str], *, env: dict, cwd, timeout: float = 900):
    """Run a command in a fresh wrapper process; returns (completed process, peak RSS in MiB of
    the command and every descendant it waited for, e.g. `kflow run` and its runners)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _MEASURE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    head, _, tail = proc.stderr.rpartition("\npeak-rss-kib ")
    proc.stderr = head
    return proc, int(tail.split()[0]) / 1024
