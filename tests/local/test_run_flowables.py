"""The flow language's flowables through `kflow run`: the same flows the cluster runs."""

from __future__ import annotations

from tests.local.test_run_examples import run_json, runs


def test_switch_if_and_flow_outputs():
    execution = run_json("switch-and-if.yaml", "--input", "environment=prod", "--input", "replicas=9")
    by_task = runs(execution)
    assert set(by_task) == {"by_environment", "careful", "scale_check", "big"}
    assert by_task["by_environment"]["outputs"] == {"value": "prod", "defaults": False}
    assert execution["outputs"] == {"size": "big"}


def test_foreach_values_and_dag_order():
    execution = run_json("foreach-dag.yaml")
    reports = [tr for tr in execution["taskRunList"] if tr["taskId"] == "report"]
    assert sorted(tr["value"] for tr in reports) == ["ap-south-1", "eu-west-1", "us-east-1"]
    assert runs(execution)["load"]["outputs"]["value"] == "a of report for eu-west-1 + b of report for eu-west-1"
    order = [tr["taskId"] for tr in execution["taskRunList"]]
    assert order.index("extract") < order.index("transform_a") < order.index("load")


def test_subflow_runs_the_child_flow_found_next_to_the_parent():
    execution = run_json("subflow-parent.yaml")
    by_task = runs(execution)
    assert by_task["call_child"]["outputs"]["state"] == "SUCCESS"
    assert by_task["call_child"]["outputs"]["outputs"] == {"greeting": "hello subflow-parent"}
    assert by_task["use_output"]["outputs"]["value"] == "child said: hello subflow-parent"


def test_a_paused_local_run_resumes_on_sigusr1(tmp_path):
    import signal
    import subprocess
    import sys
    flow = tmp_path / "gate.yaml"
    flow.write_text("""id: gate
namespace: t
tasks:
  - {id: approve, type: io.kestra.plugin.core.flow.Pause}
  - {id: after, type: io.kestra.plugin.core.debug.Return, format: resumed}
""")
    proc = subprocess.Popen([sys.executable, "-m", "kflow", "run", str(flow), "--plain", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    for line in proc.stderr:  # plain progress lines, until the pause shows
        seen += line
        if "PAUSED" in line:
            break
    assert "PAUSED" in seen, seen
    proc.send_signal(signal.SIGUSR1)
    out, _ = proc.communicate(timeout=60)
    import json
    execution = json.loads(out)
    assert proc.returncode == 0
    assert {tr["taskId"]: tr["state"]["current"] for tr in execution["taskRunList"]} == {"approve": "SUCCESS", "after": "SUCCESS"}
