"""The cluster-facing CLI on the real test cluster: each command as a user runs it (a
subprocess with KUBECONFIG), against an operator really running the executions."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest
import yaml

from tests.cli.conftest import ROOT
from tests.operator.support import taskruns

pytestmark = pytest.mark.cluster
EXAMPLES = ROOT / "examples"
GUIDE = ("sample-task", "sample-sequential-task", "sample-parallel-task")


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc.stdout


def fails(proc: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    assert proc.returncode == code, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("kflow: "), proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def executions(cli_env) -> list[dict]:
    return cli_env.kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", cli_env.namespace, "executions")["items"]


def test_apply_examples_unchanged_then_get_and_run_them(cli_env):
    out = ok(cli_env.run("apply", *(str(EXAMPLES / f"{name}.yaml") for name in GUIDE)))
    assert [line.split()[0] for line in out.splitlines()] == [f"flow.kflow.io/{name}" for name in GUIDE]
    for name in GUIDE:
        flow = cli_env.kflow.wait_flow(name)
        assert flow["status"]["valid"] == "True", flow["status"]
        assert flow["spec"] == yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()), "the Kestra flow is the spec, unchanged"
    # Re-applying is a no-op (server-side apply): the generation stays.
    again = ok(cli_env.run("apply", str(EXAMPLES / "sample-task.yaml")))
    assert "(generation 1)" in again
    table = ok(cli_env.run("get", "flows")).splitlines()
    assert table[0].split()[:2] == ["NAME", "ID"]
    assert {line.split()[0] for line in table[1:]} == set(GUIDE)
    assert all(" True " in line for line in table[1:]), table

    out = ok(cli_env.run("execute", "sample-parallel-task", "--wait"))
    name = out.splitlines()[0]
    assert name.startswith("sample-parallel-task-")
    assert "SUCCESS" in out and "task id > task1 running within flow > sample-parallel-task" in out, out
    runs = taskruns(cli_env.kflow.get("executions", name))
    assert runs["task2"]["outputs"]["value"].startswith("Second parallel task, task id > task2")


def test_apply_whole_directory_dry_run_and_edits(cli_env, tmp_path):
    out = ok(cli_env.run("apply", str(EXAMPLES), "--dry-run"))
    assert "sample-task applied" in out and "(dry run)" in out
    assert cli_env.kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", cli_env.namespace, "flows")["items"] == []
    ok(cli_env.run("apply", str(EXAMPLES)))
    names = {f["metadata"]["name"] for f in cli_env.kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", cli_env.namespace, "flows")["items"]}
    assert set(GUIDE) | {"hello-inputs", "errors-branch"} <= names

    # A Kestra flow with a non-DNS id, edited: the same resource, a new generation, the
    # removed property gone from the spec (server-side apply owns what it applied).
    path = tmp_path / "flow.yaml"
    path.write_text("id: My_Flow.v1\nnamespace: t\ndescription: first\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: hi}\n")
    ok(cli_env.run("apply", str(path)))
    path.write_text("id: My_Flow.v1\nnamespace: t\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: bye}\n")
    assert "(generation 2)" in ok(cli_env.run("apply", str(path)))
    flow = cli_env.kflow.get("flows", "my-flow-v1")
    assert flow["spec"]["id"] == "My_Flow.v1" and "description" not in flow["spec"]
    assert flow["spec"]["tasks"][0]["message"] == "bye"
    # The GitOps path: convert's output applies as a manifest, to the same resource.
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(ok(cli_env.run("convert", str(path), namespace=False)))
    assert "(generation 2)" in ok(cli_env.run("apply", str(manifest)))
    # A flow is found by its Kestra id too.
    assert ok(cli_env.run("execute", "My_Flow.v1")).startswith("my-flow-v1-")


def test_execute_with_inputs_and_labels_wait_get_describe(cli_env):
    ok(cli_env.run("apply", str(EXAMPLES / "hello-inputs.yaml")))
    out = ok(cli_env.run("execute", "hello-inputs", "--input", "name=cli", "--input", "shout=true", "--label", "team=qa", "--wait"))
    name = out.splitlines()[0]
    assert "Hello, CLI!" in out and "SUCCESS" in out, out
    body = cli_env.kflow.get("executions", name)
    assert body["spec"]["inputs"] == {"name": "cli", "shout": True}, "typed before sending"
    assert body["status"]["labels"]["team"] == "qa"

    table = ok(cli_env.run("get", "executions")).splitlines()
    assert table[0].split() == ["NAME", "FLOW", "STATE", "PROGRESS", "START", "DURATION"]
    row = next(line.split() for line in table[1:] if line.startswith(name))
    assert row[1:4] == ["hello-inputs", "SUCCESS", "3/3"]
    wide = ok(cli_env.run("get", "executions", "-o", "wide"))
    assert body["status"]["id"] in wide and "team=qa" in wide
    listed = json.loads(ok(cli_env.run("get", "executions", name, "-o", "json")))
    assert listed["metadata"]["name"] == name and listed["status"]["current"] == "SUCCESS"
    everywhere = ok(cli_env.run("get", "executions", "-A", namespace=False))
    assert any(line.startswith(cli_env.namespace) and name in line for line in everywhere.splitlines())

    described = ok(cli_env.run("describe", "execution", name))
    assert f"Execution id: {body['status']['id']}" in described
    assert "State:        SUCCESS" in described
    assert "  name: cli" in described and "  team: qa" in described
    greet = next(line for line in described.splitlines() if line.strip().startswith("greet "))
    assert "SUCCESS" in greet
    assert "value: Hello, CLI!" in described


def test_bad_inputs_unknown_flow_and_execution_create_nothing(cli_env):
    ok(cli_env.run("apply", str(EXAMPLES / "hello-inputs.yaml")))
    proc = cli_env.run("execute", "hello-inputs", "--input", "times=many", "--input", "shout=maybe", "--input", "extra=1")
    fails(proc, 2, "input 'times' (INT)", "input 'shout' (BOOLEAN)", "'maybe'", "input 'extra'")
    required = cli_env.kflow.apply_flow(
        "id: needs-input\nnamespace: t\ninputs:\n  - {id: when, type: DATETIME}\n"
        "tasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: '{{ inputs.when }}'}\n"
    )
    assert required
    fails(cli_env.run("execute", "needs-input"), 2, "input 'when' (DATETIME)", "required")
    fails(cli_env.run("execute", "needs-input", "--input", "when=yesterday"), 2, "input 'when' (DATETIME)")
    fails(cli_env.run("execute", "no-such-flow"), 2, "flow 'no-such-flow' not found", cli_env.namespace)
    assert executions(cli_env) == [], "nothing was created"
    for args in (("describe", "execution", "nope"), ("logs", "nope"), ("kill", "nope"), ("restart", "nope"), ("resume", "nope"), ("get", "executions", "nope")):
        fails(cli_env.run(*args), 2, "execution 'nope'", "not found")


def test_failed_execution_exit_code_describe_and_logs(cli_env):
    ok(cli_env.run("apply", str(EXAMPLES / "errors-branch.yaml")))
    proc = cli_env.run("execute", "errors-branch", "--wait")
    assert proc.returncode == 1, proc
    name = proc.stdout.splitlines()[0]
    assert "FAILED" in proc.stdout and "outputs.nope" in proc.stdout
    described = ok(cli_env.run("describe", "execution", name))
    assert "State:        FAILED" in described
    assert "attempt 0: FAILED" in described and "'outputs.nope' is undefined" in described

    lines = ok(cli_env.run("logs", name)).splitlines()
    assert lines, "the pods are kept (KFLOW_KEEP_FINISHED_PODS=Always): their logs are read"
    assert [line.split()[0] for line in lines] == ["[broken]", "[alert]"], "prefixed, in the order the task runs started"
    assert "ERROR" in lines[0] and "'outputs.nope' is undefined" in lines[0]
    assert f"failed in execution {cli_env.kflow.get('executions', name)['status']['id']}" in lines[1]
    only = ok(cli_env.run("logs", name, "alert")).splitlines()
    assert only == lines[1:]
    fails(cli_env.run("logs", name, "nope"), 2, "no task run of task 'nope'", "alert, broken, ok")


def test_logs_follow_prints_lines_until_the_end(cli_env):
    cli_env.kflow.apply_flow(
        "id: chatty\nnamespace: t\ntasks:\n"
        "  - {id: first, type: io.kestra.plugin.core.log.Log, message: [one, two]}\n"
        "  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT2S}\n"
        "  - id: loop\n    type: io.kestra.plugin.core.flow.ForEach\n    values: [a, b]\n    tasks:\n"
        "      - {id: each, type: io.kestra.plugin.core.log.Log, message: 'value {{ taskrun.value }}'}\n"
    )
    name = ok(cli_env.run("execute", "chatty")).strip()
    proc = cli_env.run("logs", name, "-f")
    assert proc.returncode == 0, proc.stderr
    assert cli_env.kflow.get("executions", name)["status"]["current"] == "SUCCESS", "-f returns once the execution ended"
    lines = proc.stdout.splitlines()
    messages = [(line.split()[0], line.split(maxsplit=3)[3]) for line in lines]
    assert ("[first]", "one") in messages and ("[first]", "two") in messages
    assert ("[each[a]]", "value a") in messages and ("[each[b]]", "value b") in messages
    assert len(lines) == len(set(lines)), "no line printed twice"


def test_kill_restart_resume(cli_env):
    cli_env.kflow.apply_flow(
        "id: slow\nnamespace: t\ntasks:\n  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT120S}\n"
    )
    name = ok(cli_env.run("execute", "slow")).strip()
    cli_env.kflow.wait(name, until=lambda e: (e.get("status") or {}).get("current") == "RUNNING")
    assert "kill requested" in ok(cli_env.run("kill", name))
    assert cli_env.kflow.wait(name, timeout=60)["status"]["current"] == "KILLED"
    fails(cli_env.run("kill", name), 2, "already ended KILLED")
    fails(cli_env.run("resume", name, "--kubeconfig", cli_env.kubeconfig, "--context", "none"), 1, "no such context")

    ok(cli_env.run("restart", name))
    spec = cli_env.kflow.get("executions", name)["spec"]
    assert spec["restart"] == 1 and spec["kill"] is False, spec
    ok(cli_env.run("resume", name))
    ok(cli_env.run("resume", name))
    assert cli_env.kflow.get("executions", name)["spec"]["resume"] == 2, "a counter: each resume raises it"


def test_resume_a_paused_execution(cli_env):
    cli_env.kflow.apply_flow(
        "id: approval\nnamespace: t\ntasks:\n  - {id: wait, type: io.kestra.plugin.core.flow.Pause}\n"
        "  - {id: after, type: io.kestra.plugin.core.debug.Return, format: resumed}\n"
    )
    name = ok(cli_env.run("execute", "approval")).strip()
    cli_env.kflow.wait(name, timeout=60, until=lambda e: any(
        (tr.get("state") or {}).get("current") == "PAUSED" for tr in ((e.get("status") or {}).get("taskRuns") or {}).values() if tr))
    ok(cli_env.run("resume", name))
    done = cli_env.kflow.wait(name, timeout=90)
    assert done["status"]["current"] == "SUCCESS", done["status"]
    assert taskruns(done)["after"]["outputs"]["value"] == "resumed"


def test_kubectl_plugin(cli_env, tmp_path, cluster):
    """`kubectl kflow ...`: kubectl finds `kubectl-kflow` on PATH and passes the arguments on."""
    ok(cli_env.run("apply", str(EXAMPLES / "sample-task.yaml")))
    plugin = tmp_path / "bin" / "kubectl-kflow"
    plugin.parent.mkdir()
    plugin.write_text(f"#!/bin/sh\ncd {ROOT} && exec {sys.executable} -m kflow.cli.main \"$@\"\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    kubectl = str(cluster.kubectl_bin)
    env = {**os.environ, "KUBECONFIG": cli_env.kubeconfig, "PATH": f"{plugin.parent}:{os.environ['PATH']}"}
    proc = subprocess.run([kubectl, "kflow", "get", "flows", "-n", cli_env.namespace], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1].split()[0] == "sample-task"


def test_file_input_upload_and_logs_after_pods_are_collected(s3_cli_env, tmp_path):
    env = s3_cli_env
    env.kflow.apply_flow(
        "id: files\nnamespace: company.team\ninputs:\n  - {id: data, type: FILE}\ntasks:\n"
        "  - {id: show, type: io.kestra.plugin.core.log.Log, message: 'got {{ read(inputs.data) | trim }}'}\n"
        "  - {id: back, type: io.kestra.plugin.core.debug.Return, format: '{{ read(inputs.data) | trim }}'}\n"
    )
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    fails(env.run("execute", "files", "--input", f"data=@{tmp_path / 'missing.csv'}"), 2, "input 'data' (FILE)", "missing.csv")
    out = ok(env.run("execute", "files", "--input", f"data=@{data}", "--wait"))
    name = out.splitlines()[0]
    body = env.kflow.get("executions", name)
    uri = body["spec"]["inputs"]["data"]
    assert uri.startswith("kestra:///company/team/files/executions/") and uri.endswith("/inputs/data/data.csv")
    assert body["status"]["current"] == "SUCCESS", body["status"]
    assert taskruns(body)["back"]["outputs"]["value"] == "a,b\n1,2"

    deadline = time.monotonic() + 60
    while env.kflow.pods(name):
        assert time.monotonic() < deadline, "finished pods were not collected"
        time.sleep(0.5)
    lines = ok(env.run("logs", name)).splitlines()  # the operator's ConfigMap copy
    assert [line.split()[0] for line in lines] == ["[show]", "[show]"], "\n".join(lines)
    assert lines[0].endswith("got a,b") and lines[1].endswith("1,2")
    # Without that copy, the runner's in internal storage.
    env.kflow.core.delete_collection_namespaced_config_map(env.namespace, label_selector=f"kflow.io/execution={name}")
    assert ok(env.run("logs", name)).splitlines() == lines
    # Without either, the CLI says where the logs are.
    no_storage = subprocess.run(
        [sys.executable, "-m", "kflow.cli.main", "logs", name, "-n", env.namespace], capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={k: v for k, v in {**os.environ, "KUBECONFIG": env.kubeconfig}.items() if not k.startswith("KFLOW_STORAGE")},
    )
    assert no_storage.returncode == 0 and no_storage.stdout == ""
    assert "no log found for [show] attempt 0" in no_storage.stderr and "--storage" in no_storage.stderr
