"""`watch_execution`: the live view of a cluster Execution until it ends, and its plain-line form."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from kflow.client.kube import NotFound
from kflow.cli.watch import LiveDisplay, PlainDisplay, watch_execution
from kflow.execution import Execution
from tests.gantt.synthetic import execution, mixed_states, ran, taskrun

ROOT = Path(__file__).parents[2]


def body_of(ex: Execution, name: str = "run-1", flow: dict | None = None) -> dict:
    """An Execution resource as the operator writes it, from a synthetic execution."""
    data = ex.to_json()
    status = {k: data[k] for k in ("id", "namespace", "flowId", "state")}
    status["current"] = data["state"]["current"]
    status["taskRuns"] = {tr["id"]: tr for tr in data["taskRunList"]}
    if flow:
        status["flow"] = flow
    return {"metadata": {"name": name, "resourceVersion": "1"}, "status": status}


def plain_console() -> Console:
    return Console(file=io.StringIO(), width=120, force_terminal=False)


def test_plain_lines_one_per_change():
    console = plain_console()
    display = PlainDisplay(console)
    first = execution([taskrun("a", "first", ran(0, None), attempts=[ran(0, None)])])
    second = execution([
        taskrun("a", "first", ran(0, 1), attempts=[ran(0, 1)]),
        taskrun("b", "loop", ran(1, None)),
        taskrun("c", "item", ran(1, None), parent="b", value="x", attempts=[ran(1, 2, "FAILED"), ran(2, None)]),
    ])
    display.update({"metadata": {"name": "run-1"}, "status": {}})  # not started yet: nothing to say
    display.update(body_of(first))
    display.update(body_of(first))  # nothing changed, nothing printed
    display.update(body_of(second))
    done = body_of(mixed_states())
    done["status"]["current"] = "FAILED"
    lines = console.file.getvalue().splitlines()
    assert lines == [
        "execution run-1 RUNNING",
        "first                          RUNNING",
        "first                          SUCCESS in 1.00s",
        "loop                           RUNNING",
        "item[x]                        RUNNING (attempt 2)",
    ]
    display.update({**done, "status": {**done["status"], "taskRuns": {}, "error": "task bad failed"}})
    assert console.file.getvalue().splitlines()[-1] == "execution run-1 FAILED: task bad failed"


def test_live_display_draws_the_tree_and_bars():
    console = Console(file=io.StringIO(), width=100, height=30, force_terminal=True, color_system=None)
    display = LiveDisplay(console)
    flow = {"id": "demo", "namespace": "company.team", "tasks": [
        {"id": "ok", "type": "io.kestra.plugin.core.debug.Return", "format": "x"},
        {"id": "run", "type": "io.kestra.plugin.core.debug.Return", "format": "x"},
    ]}
    display.update(body_of(execution([taskrun("ok", "ok", ran(0, 1), attempts=[ran(0, 1)]),
                                      taskrun("run", "run", ran(1, None), attempts=[ran(1, None)])]), flow=flow))
    display.close()
    out = console.file.getvalue()
    assert "company.team.demo" in out and "✔ ok" in out and "… run" in out
    assert "RUNNING" in out and "█" in out


@pytest.mark.cluster
def test_watch_until_the_end_then_outputs(cli_env):
    kflow = cli_env.kflow
    kflow.apply_flow((ROOT / "examples/sample-parallel-task.yaml").read_text())
    kflow.wait_flow("sample-parallel-task")
    kflow.execute("sample-parallel-task", "watched")
    console = plain_console()
    from kubernetes import config

    client = config.new_client_from_config(config_file=cli_env.kubeconfig)
    with client:
        body = watch_execution(client, cli_env.namespace, "watched", console=console)
    out = console.file.getvalue()
    assert body["status"]["current"] == "SUCCESS", out
    lines = out.splitlines()
    for task in ("parallel", "task1", "task2", "task3"):
        assert any(line.startswith(task) and "SUCCESS in" in line for line in lines), task
    assert lines.index(next(l for l in lines if l.startswith("execution watched SUCCESS"))) > 0
    # Then the summary with every task run's outputs.
    assert "Execution " in out and "value: First parallel task, task id > task1" in out

    # A finished execution returns at once, drawn live on a terminal this time.
    live = Console(file=io.StringIO(), width=100, height=30, force_terminal=True, color_system=None)
    with config.new_client_from_config(config_file=cli_env.kubeconfig) as client:
        again = watch_execution(client, cli_env.namespace, "watched", console=live)
    assert again["metadata"]["resourceVersion"] == body["metadata"]["resourceVersion"]
    drawn = live.file.getvalue()
    assert "├─ ✔ task1" in drawn and "└─ ✔ task3" in drawn and "█" in drawn


@pytest.mark.cluster
def test_watch_names_a_missing_execution(cli_env):
    from kubernetes import config

    with config.new_client_from_config(config_file=cli_env.kubeconfig) as client:
        with pytest.raises(NotFound, match=f"execution 'nope' in namespace '{cli_env.namespace}' not found"):
            watch_execution(client, cli_env.namespace, "nope", console=plain_console())
