"""`kflow run flow.yaml --ui`: the same execution page for a local run, in Debian's Chromium
(no cluster): live states, a task's log, Resume of a Pause, and Ctrl-C ends the page."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.ui.conftest import artifacts, free_port

ROOT = Path(__file__).parents[2]
FLOW = """id: approval
namespace: company.team
tasks:
  - {id: hello, type: io.kestra.plugin.core.log.Log, message: "waiting for a human"}
  - {id: wait, type: io.kestra.plugin.core.flow.Pause}
  - {id: after, type: io.kestra.plugin.core.debug.Return, format: resumed}
"""


def test_local_run_page_resume_and_logs(tmp_path, browser):
    flow = tmp_path / "approval.yaml"
    flow.write_text(FLOW)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kflow.cli.main", "run", str(flow), "--plain", "--ui", "--ui-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "KFLOW_STORAGE": f"dir:{tmp_path / 'storage'}"})
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/executions/local/\w+", proc.stderr.readline()).group(0)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(url)
        page.locator('button[data-action="resume"]').wait_for(timeout=60_000)
        assert page.locator('tr[data-task="wait"]').get_attribute("data-state") == "PAUSED"
        page.locator('#execution-graph [data-node="wait"][data-state="PAUSED"]').wait_for()  # the same live graph as on a cluster
        page.locator('tr[data-task="hello"][data-state="SUCCESS"]').wait_for()
        page.click('tr[data-task="hello"] button[data-logs]')
        page.locator("#log-lines").filter(has_text="waiting for a human").wait_for()
        page.screenshot(path=artifacts() / "local-run-paused.png", full_page=True)
        page.click('button[data-action="resume"]')
        page.locator("h1 .badge").filter(has_text="SUCCESS").wait_for(timeout=60_000)
        assert page.locator('tr[data-task="after"]').get_attribute("data-state") == "SUCCESS"
        page.locator('#execution-graph [data-node="after"][data-state="SUCCESS"]').wait_for()
        assert page.locator('button[data-action="restart"]').count() == 0, "a local run offers kill and resume only"
        page.screenshot(path=artifacts() / "local-run-success.png", full_page=True)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "after" in out and "resumed" in out
    finally:
        if proc.poll() is None:
            proc.kill()
