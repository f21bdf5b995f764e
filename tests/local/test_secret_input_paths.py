"""A SECRET input's value never shows on any path of a local run (issue 12, point 4), also where
the engine, not a runner, wrote it: a Switch's reason quotes its value. Each path is looked at:
the plain and the live view, the summary (stdout), --json, the Gantt chart, stored attempt logs and
the `--ui` page's data; and the engine's own reasons and errors (a unit test of the pure engine)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

from kflow.engine import Engine
from kflow.execution import State
from kflow.flow import load_flow
from tests.engine.simulate import T0
from tests.servers.fixtures import kflow_env, storage_dir  # noqa: F401 - fixtures

ROOT = Path(__file__).parents[2]
VALUE = "Input-Pass-5150"
FLOW = """
id: secret-paths
namespace: t
inputs:
  - {id: password, type: SECRET}
tasks:
  - {id: log, type: io.kestra.plugin.core.log.Log, message: "pw is {{ inputs.password }}"}
  - id: choose
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.password }}"
    cases:
      other: [{id: never, type: io.kestra.plugin.core.debug.Return, format: x}]
"""


def _run(tmp_path, kflow_env, *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    args = [sys.executable, "-m", "kflow", "run", str(path), "--input", f"password={VALUE}", *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT, env=kflow_env)


def test_an_engine_reason_with_a_secret_input_is_masked_on_every_local_path(tmp_path, kflow_env, storage_dir):
    gantt = tmp_path / "run.html"
    plain = _run(tmp_path, kflow_env, "--plain", "--gantt", str(gantt))
    assert plain.returncode == 1, plain.stderr
    assert "matches no case" in plain.stderr and "value '******' matches no case" in plain.stdout  # the plain view, the summary
    assert VALUE not in plain.stdout + plain.stderr
    assert "******" in gantt.read_text() and VALUE not in gantt.read_text()
    logs = [p.read_text() for p in storage_dir.rglob("attempt-*.log")]
    assert logs and any("pw is ******" in text for text in logs) and not any(VALUE in text for text in logs)

    as_json = _run(tmp_path, kflow_env, "--json")
    execution = json.loads(as_json.stdout)
    assert execution["inputs"]["password"] == "******"
    (choose,) = [tr for tr in execution["taskRunList"] if tr["taskId"] == "choose"]
    assert "'******' matches no case" in choose["attempts"][-1]["reason"]
    assert VALUE not in as_json.stdout + as_json.stderr


def test_the_live_view_on_a_terminal_shows_it_masked(tmp_path, kflow_env):
    from tests.local.test_terminal import on_a_terminal

    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    returncode, screen = on_a_terminal(["run", str(path), "--input", f"password={VALUE}"], env=kflow_env)
    assert returncode == 1
    assert "✘ choose FAILED" in screen and "pw is ******" in screen and "'******' matches no case" in screen, screen[-2000:]
    assert VALUE not in screen


def test_the_local_ui_page_shows_a_secret_input_masked(tmp_path, kflow_env):
    from tests.ui.conftest import free_port

    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kflow", "run", str(path), "--input", f"password={VALUE}", "--plain", "--ui", "--ui-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=kflow_env)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/executions/local/\w+", proc.stderr.readline()).group(0)
        api = url.replace("/executions/", "/api/executions/")
        for line in proc.stderr:  # the page stays up once the run ended
            if "the page stays" in line:
                break
        detail = urllib.request.urlopen(api, timeout=30).read().decode()
        svg = urllib.request.urlopen(api + "/gantt.svg", timeout=30).read().decode()
        assert json.loads(detail)["inputs"]["password"] == "******"
        assert "'******' matches no case" in detail
        assert VALUE not in detail and VALUE not in svg
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_the_engine_masks_secret_inputs_in_the_reasons_and_the_error_it_writes():
    flow = load_flow(f"""
id: f
namespace: t
inputs:
  - {{id: password, type: SECRET}}
tasks:
  - {{id: r, type: io.kestra.plugin.core.debug.Return, format: x}}
outputs:
  - {{id: n, type: STRING, value: "{{{{ inputs.password | number }}}}"}}
""")
    engine = Engine(flow)
    run = engine.load(engine.new_execution("e1", {"password": VALUE}, T0))
    result = engine.start(run, T0)
    (action,) = result.actions
    from kflow.engine import AttemptEnded

    engine.step(run, [AttemptEnded(action.taskrun_id, action.attempt, State.FAILED, reason=f"runner quoted {VALUE}")], T0 + timedelta(seconds=1))
    reason = run.execution.taskRunList[0].attempts[-1].reason
    assert reason == "runner quoted ******"
    run = engine.load(engine.new_execution("e2", {"password": VALUE}, T0))
    (action,) = engine.start(run, T0).actions
    engine.step(run, [AttemptEnded(action.taskrun_id, action.attempt, State.SUCCESS, {"value": "x"})], T0 + timedelta(seconds=1))
    assert run.execution.state.current == State.FAILED
    assert "flow output 'n'" in run.execution.error and VALUE not in run.execution.error and "******" in run.execution.error
