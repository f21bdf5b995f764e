"""How long a state change takes to show in the web UI, on the real test cluster.

    python bench/ui_live_latency.py [CHANGES]      (default 15 per page; the cluster must be up)

A namespace of its own holds two Executions written as the operator writes them (no operator
runs there, so nothing else changes them): one with one task run, one with 5,000 (archived
chunks). `kflow ui -n NS` runs as its own process; Debian's Chromium (Playwright) opens a page,
then the bench patches the Execution's status on the API server and waits for the DOM to show
the new state (polled each animation frame). Figure: from just before the patch is sent to the
DOM showing it, for the execution page (small and 5,000 task runs) and the executions list.
Includes Playwright's own round trip, so it is an upper bound.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ui.resources import at, execution, taskrun  # noqa: E402

KUBECONFIG = os.environ.get("KUBECONFIG", "/var/lib/kflow-cluster/admin.kubeconfig")
GROUP, VERSION = "kflow.io", "v1alpha1"
STATES = ("WARNING", "SUCCESS", "FAILED", "RUNNING")


def create(custom, namespace: str, body: dict) -> None:
    status = body.pop("status")
    body["metadata"]["namespace"] = namespace
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "executions", body)
    custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, "executions", body["metadata"]["name"], {"status": status})


def set_state(custom, namespace: str, name: str, state: str, step: int) -> None:
    histories = [{"state": "CREATED", "date": at(0)}, {"state": "RUNNING", "date": at(0)}, {"state": state, "date": at(10 + step)}]
    custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, "executions", name,
                                                 {"status": {"current": state, "state": {"current": state, "histories": histories}}})


def measure(page, custom, namespace: str, name: str, selector: str, changes: int) -> list[float]:
    """Seconds from each status patch to the DOM element `selector` showing it (data-state)."""
    out = []
    for step in range(changes):
        state = STATES[step % len(STATES)]
        start = time.perf_counter()
        set_state(custom, namespace, name, state, step)
        try:
            page.wait_for_function("([sel, state]) => { const el = document.querySelector(sel); return el && el.dataset.state === state; }",
                                   arg=[selector, state], polling="raf", timeout=30_000)
        except Exception:  # a change never shown: say what the page shows, count it, go on
            shown = page.evaluate("sel => { const el = document.querySelector(sel); return el && el.dataset.state; }", selector)
            print(f"  MISSED: {name} step {step}: wanted {state}, the page shows {shown} ({page.locator('#live').inner_text()})")
            out.append(float("inf"))
            continue
        out.append(time.perf_counter() - start)
        time.sleep(0.3)
    return out


def summary(values: list[float]) -> str:
    missed = sum(1 for v in values if v == float("inf"))
    values = [v for v in values if v != float("inf")] or [float("nan")]
    ordered = sorted(values)
    p90 = ordered[min(int(len(ordered) * 0.9), len(ordered) - 1)]
    return (f"median {statistics.median(values) * 1000:5.0f} ms  p90 {p90 * 1000:5.0f} ms  max {max(values) * 1000:5.0f} ms  (n={len(values)})"
            + (f"  MISSED {missed}" if missed else ""))


def main() -> None:
    from kubernetes import client, config
    from playwright.sync_api import sync_playwright

    changes = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    api = config.new_client_from_config(KUBECONFIG)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    namespace = f"bench-ui-live-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": namespace}})
    proc = None
    try:
        create(custom, namespace, execution("small", "RUNNING", runs=[taskrun("a", "last", "RUNNING")]))
        big = [taskrun("loop", "loop", "RUNNING")] + [taskrun(f"e{i}", "say", "SUCCESS", parent="loop", value=str(i)) for i in range(5000)]
        create(custom, namespace, execution("big", "RUNNING", runs=big[:51], archived=[big[j:j + 50] for j in range(51, 5001, 50)]))
        proc = subprocess.Popen([sys.executable, "-m", "kflow.cli.main", "ui", "--port", "18778", "-n", namespace, "--kubeconfig", KUBECONFIG],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        url = re.search(r"http://\S+/", proc.stdout.readline()).group(0).rstrip("/")
        results = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            for label, path, name, selector in (
                ("execution page, 1 task run", "/executions/{ns}/small", "small", "h1 .badge"),
                ("execution page, 5,000 task runs", "/executions/{ns}/big", "big", "h1 .badge"),
                ("executions list", "/executions", "small", 'tr[data-execution="small"]'),
            ):
                page.goto(url + path.format(ns=namespace))
                page.locator(selector).first.wait_for(timeout=60_000)
                time.sleep(1)
                results[label] = measure(page, custom, namespace, name, selector, changes)
            browser.close()
        print("status patched on the API server -> the DOM shows the new state (kflow ui, real cluster, Chromium)")
        for label, values in results.items():
            print(f"  {label:<34} {summary(values)}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        core.delete_namespace(namespace)


if __name__ == "__main__":
    main()
