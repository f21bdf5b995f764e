"""WorkingDirectory in the runner: children share one directory, see earlier children's outputs,
stop at a failure, skip on a false runIf; and the flow loader rejects what cannot run inside."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kflow.engine.ids import taskrun_id
from kflow.flow.errors import FlowError
from kflow.flow.load import load_flow
from kflow.runner.context import TaskLogger
from kflow.runner.invocation import ChildResult, Invocation, TaskResult
from kflow.runner.offload import fit
from kflow.runner.run import execute
from kflow.storage import StorageConfig, open_storage

WD = "io.kestra.plugin.core.flow.WorkingDirectory"
SH = "io.kestra.plugin.scripts.shell.Commands"
PY = "io.kestra.plugin.scripts.python.Script"
RETURN = "io.kestra.plugin.core.debug.Return"
ROOT = Path(__file__).resolve().parents[2]


def run_group(tmp_path, tasks, **props):
    """Run a WorkingDirectory of `tasks` as the runner would; returns (result, log text)."""
    stream = io.StringIO()
    invocation = Invocation(
        executionId="e1",
        taskRunId="wd-run",
        namespace="company.team",
        flowId="f",
        task={"id": "wd", "type": WD, "tasks": tasks, **props},
        context={"flow": {"id": "f", "namespace": "company.team"}, "inputs": {"who": "kflow"}, "outputs": {"before": {"value": "b"}},
                 "taskrun": {"id": "wd-run", "value": None}, "task": {"id": "wd", "type": WD}},
        storage=StorageConfig(type="dir", path=str(tmp_path / "storage")),
    )
    result = execute(invocation, log=TaskLogger(stream=stream))
    return result, stream.getvalue()


def test_files_and_outputs_flow_from_one_child_to_the_next(tmp_path):
    result, log = run_group(
        tmp_path,
        [
            {"id": "write", "type": SH, "commands": ["echo 'hello {{ inputs.who }}' > note.txt", "echo '::{\"outputs\":{\"n\":2}}::'"]},
            {"id": "read", "type": PY, "warningOnStdErr": False, "script": (
                "import json, os\n"
                "text = open('note.txt').read().strip()\n"
                "assert os.getcwd() == '{{ workingDir }}'\n"
                "print('::' + json.dumps({'outputs': {'text': text, 'twice': {{ outputs.write.vars.n }} * 2}}) + '::')\n"
                "open('report.csv', 'w').write('a,b\\n')\n"
            )},
            {"id": "ret", "type": RETURN, "format": "{{ outputs.read.vars.text }}/{{ outputs.before.value }}/{{ task.id }}/{{ parent.taskrun.id }}"},
        ],
        outputFiles=["*.csv"],
    )
    assert result.state == "SUCCESS", result.reason
    children = {child.taskId: child for child in result.children}
    assert [child.taskId for child in result.children] == ["write", "read", "ret"]
    assert all(child.state == "SUCCESS" and child.startDate <= child.endDate for child in result.children)
    assert children["read"].outputs["vars"] == {"text": "hello kflow", "twice": 4}
    assert children["ret"].outputs == {"value": "hello kflow/b/ret/wd-run"}
    uri = result.outputs["outputFiles"]["report.csv"]
    assert uri == "kestra:///company/team/f/executions/e1/tasks/wd/wd-run/report.csv"
    with open_storage(StorageConfig(type="dir", path=str(tmp_path / "storage"))).open(uri) as handle:
        assert handle.read() == b"a,b\n"
    assert "[write] started" in log and "[read] started" in log


def test_a_childs_files_go_under_its_own_task_run(tmp_path):
    result, _ = run_group(tmp_path, [{"id": "make", "type": SH, "outputFiles": ["out.txt"], "commands": ["echo x > out.txt"]}])
    uri = result.children[0].outputs["outputFiles"]["out.txt"]
    # The task run id the engine gives this child: a hash of execution, parent and task.
    assert uri == f"kestra:///company/team/f/executions/e1/tasks/make/{taskrun_id('e1', 'wd-run', 'make', None)}/out.txt"


def test_input_files_are_there_for_the_first_child(tmp_path):
    result, _ = run_group(
        tmp_path,
        [{"id": "cat", "type": SH, "commands": ["echo \"::{\\\"outputs\\\":{\\\"q\\\":\\\"$(cat query.sql)\\\"}}::\""]}],
        inputFiles={"query.sql": "SELECT {{ inputs.who }}"},
    )
    assert result.state == "SUCCESS", result.reason
    assert result.children[0].outputs["vars"] == {"q": "SELECT kflow"}


def test_a_failing_child_stops_the_rest_and_fails_the_group_with_its_reason(tmp_path):
    result, _ = run_group(
        tmp_path,
        [
            {"id": "ok", "type": RETURN, "format": "1"},
            {"id": "boom", "type": SH, "commands": ["echo broken >&2", "exit 3"]},
            {"id": "never", "type": RETURN, "format": "2"},
        ],
    )
    assert result.state == "FAILED"
    assert [(c.taskId, c.state) for c in result.children] == [("ok", "SUCCESS"), ("boom", "FAILED")]
    assert "exited with code 3" in result.children[1].reason and "broken" in result.children[1].reason
    assert "'boom'" in result.reason and "exited with code 3" in result.reason
    assert result.children[1].outputs is None


def test_allow_failure_goes_on_and_ends_warning(tmp_path):
    result, _ = run_group(
        tmp_path,
        [
            {"id": "boom", "type": SH, "allowFailure": True, "commands": ["exit 1"]},
            {"id": "after", "type": RETURN, "format": "still here"},
        ],
    )
    assert result.state == "WARNING"
    assert [(c.taskId, c.state) for c in result.children] == [("boom", "WARNING"), ("after", "SUCCESS")]
    assert "exited with code 1" in result.children[0].reason
    assert "'boom'" in result.reason


def test_a_false_run_if_skips_the_child(tmp_path):
    result, _ = run_group(
        tmp_path,
        [
            {"id": "first", "type": RETURN, "format": "no"},
            {"id": "maybe", "type": RETURN, "format": "x", "runIf": "{{ outputs.first.value == 'yes' }}"},
            {"id": "last", "type": RETURN, "format": "{{ outputs.maybe.value ?? 'skipped' }}"},
        ],
    )
    assert result.state == "SUCCESS", result.reason
    assert [(c.taskId, c.state) for c in result.children] == [("first", "SUCCESS"), ("maybe", "SKIPPED"), ("last", "SUCCESS")]
    assert result.children[2].outputs == {"value": "skipped"}


def test_a_run_if_that_cannot_render_fails_the_child(tmp_path):
    result, _ = run_group(tmp_path, [{"id": "bad", "type": RETURN, "format": "x", "runIf": "{{ outputs.nope.value }}"}])
    assert result.state == "FAILED"
    assert result.children[0].state == "FAILED" and "runIf" in result.children[0].reason


def test_a_childs_retry_runs_it_again_in_the_same_directory(tmp_path):
    result, _ = run_group(
        tmp_path,
        [{"id": "flaky", "type": SH, "retry": {"type": "constant", "interval": "PT0S", "maxAttempt": 3},
          "commands": ["echo x >> tries", "test $(wc -l < tries) -ge 2", "echo \"::{\\\"outputs\\\":{\\\"tries\\\":$(wc -l < tries)}}::\""]}],
    )
    assert result.state == "SUCCESS", result.reason
    assert result.children[0].outputs["vars"] == {"tries": 2}


def test_the_result_json_carries_the_children():
    raw = {"state": "SUCCESS", "children": [{"taskId": "a", "state": "SKIPPED", "startDate": "2026-01-01T00:00:00Z", "endDate": "2026-01-01T00:00:01Z"}]}
    parsed = TaskResult.model_validate_json(TaskResult.model_validate(raw).to_json())
    assert parsed.children[0].taskId == "a" and parsed.children[0].state == "SKIPPED"


FLOW = """
id: f
namespace: company.team
tasks:
  - id: wd
    type: {type}
    tasks:
{children}
"""


@pytest.mark.parametrize(
    "children, expected",
    [
        ("      - {id: seq, type: io.kestra.plugin.core.flow.Sequential, tasks: [{id: r, type: io.kestra.plugin.core.debug.Return}]}",
         "task 'seq' (io.kestra.plugin.core.flow.Sequential) cannot run inside WorkingDirectory 'wd'"),
        ("      - {id: inner, type: io.kestra.plugin.core.flow.WorkingDirectory, tasks: [{id: r, type: io.kestra.plugin.core.debug.Return}]}",
         "task 'inner' (io.kestra.plugin.core.flow.WorkingDirectory) cannot run inside WorkingDirectory 'wd'"),
        ("      - {id: slow, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S, timeout: PT5S}",
         "task 'slow' cannot have its own `timeout` inside WorkingDirectory 'wd'"),
    ],
)
def test_what_cannot_run_inside_is_rejected_naming_the_task(children, expected):
    with pytest.raises(FlowError) as caught:
        load_flow(FLOW.format(type=WD, children=children))
    assert expected in str(caught.value)
    assert "tasks[0]" in str(caught.value)


def test_old_names_load_and_errors_is_refused_clearly():
    children = "      - {id: r, type: io.kestra.core.tasks.debugs.Return, format: x}"
    for old in ("io.kestra.core.tasks.flows.WorkingDirectory", "io.kestra.core.tasks.flows.Worker"):
        flow = load_flow(FLOW.format(type=old, children=children))
        assert flow.tasks[0].type_name == WD
    with pytest.raises(FlowError) as caught:
        load_flow(FLOW.format(type=WD, children=children) + "    errors:\n      - {id: e, type: io.kestra.plugin.core.log.Log, message: m}\n")
    assert "`errors` on a WorkingDirectory is not supported" in str(caught.value)


def test_cache_and_namespace_files_are_accepted():
    text = FLOW.format(type=WD, children="      - {id: r, type: io.kestra.plugin.core.debug.Return, format: x}")
    text += "    cache: {patterns: ['node_modules/**'], ttl: PT1H}\n    namespaceFiles: {enabled: true}\n"
    assert load_flow(text).tasks[0].cache.patterns == ["node_modules/**"]


def test_kflow_run_of_the_example(tmp_path):
    """End to end on a laptop: `kflow run examples/working-directory.yaml --json`."""
    env = {**os.environ, "KFLOW_STORAGE": f"dir:{tmp_path}"}
    proc = subprocess.run(
        [sys.executable, "-m", "kflow", "run", "examples/working-directory.yaml", "--json", "--plain"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    execution = json.loads(proc.stdout)
    runs = {tr["taskId"]: tr for tr in execution["taskRunList"]}
    wd = runs["working_dir"]
    assert execution["state"]["current"] == "SUCCESS"
    assert {runs[c]["parentTaskRunId"] for c in ("write", "count", "summary")} == {wd["id"]}
    assert runs["count"]["outputs"]["vars"] == {"lines": 3}
    assert runs["summary"]["outputs"]["value"] == "3 lines in greetings.txt"
    assert runs["after"]["outputs"]["value"] == "3"
    stored = wd["outputs"]["outputFiles"]["greetings.txt"]
    assert (tmp_path / stored[len("kestra:///"):]).read_text().count("hello") == 3


# -- what fits in a pod's termination message --------------------------------------------------
def _invocation(tmp_path):
    return Invocation(executionId="e1", taskRunId="wd-run", namespace="company.team", flowId="f",
                      task={"id": "wd", "type": WD}, context={}, storage=StorageConfig(type="dir", path=str(tmp_path)))


def _child(task_id, outputs=None, state="SUCCESS", reason=None):
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    return ChildResult(taskId=task_id, state=state, outputs=outputs, reason=reason, startDate=now, endDate=now)


def test_childrens_large_outputs_move_to_their_own_task_runs_files(tmp_path):
    big = "z" * 6000
    result = TaskResult(state="SUCCESS", children=[_child("small", {"value": "s"}), _child("large", {"value": big, "n": 1})])
    fitted = fit(result, 4096, _invocation(tmp_path))
    assert fitted.state == "SUCCESS" and len(fitted.to_json()) <= 4096
    small, large = fitted.children
    assert small.outputs == {"value": "s"} and large.outputs["n"] == 1
    uri = large.outputs["value"]
    assert uri == f"kestra:///company/team/f/executions/e1/tasks/large/{taskrun_id('e1', 'wd-run', 'large', None)}/output-value"
    with open_storage(StorageConfig(type="dir", path=str(tmp_path))).open(uri) as handle:
        assert handle.read().decode() == big


def test_long_child_reasons_are_cut_to_their_end(tmp_path):
    reason = "stderr line\n" * 400 + "the real cause"
    result = TaskResult(state="FAILED", reason=reason, children=[_child("ok"), _child("boom", state="FAILED", reason=reason)])
    fitted = fit(result, 4096, _invocation(tmp_path))
    assert fitted.state == "FAILED" and len(fitted.to_json()) <= 4096
    assert fitted.children[1].reason.endswith("the real cause") and fitted.reason.endswith("the real cause")


def test_too_many_children_fail_saying_so(tmp_path):
    result = TaskResult(state="SUCCESS", children=[_child(f"task{i}", {"v": i}) for i in range(60)])
    fitted = fit(result, 4096, _invocation(tmp_path))
    assert fitted.state == "FAILED" and fitted.children is None
    assert "its 60 tasks' results; split the WorkingDirectory" in fitted.reason
