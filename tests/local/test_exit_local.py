"""Kestra's Exit through `kflow run`: the execution ends at once in the state given."""

from __future__ import annotations

import json

from tests.local.test_run_examples import EXAMPLES, kflow, run_json, runs

PARALLEL = """
id: exit-parallel
namespace: team.x
tasks:
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - {id: slow, type: io.kestra.plugin.core.flow.Sleep, duration: PT30S}
      - id: quick
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - {id: first, type: io.kestra.plugin.core.debug.Return, format: done}
          - {id: stop, type: io.kestra.plugin.core.execution.Exit, state: "{{ 'WARN' ~ 'ING' }}"}
          - {id: never, type: io.kestra.plugin.core.debug.Return, format: never}
  - {id: after, type: io.kestra.plugin.core.debug.Return, format: never}
"""


def test_exit_ends_the_execution_in_its_state_and_nothing_after_it_runs():
    ended = run_json("exit.yaml", "--input", "state=END", expect=1)
    assert ended["state"]["current"] == "KILLED"
    by_task = runs(ended)
    assert by_task["exit"]["state"]["current"] == "KILLED" and by_task["if"]["state"]["current"] == "KILLED"
    assert "end" not in by_task
    went_on = run_json("exit.yaml")
    assert [tr["taskId"] for tr in went_on["taskRunList"]] == ["if", "hello", "end"]


def test_exit_in_a_branch_stops_the_other_branches(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text(PARALLEL)
    proc = kflow("run", str(path), "--json")
    assert proc.returncode == 1, proc.stderr  # kflow run exits 0 on SUCCESS only
    execution = json.loads(proc.stdout)
    assert execution["state"]["current"] == "WARNING"
    by_task = runs(execution)
    assert by_task["stop"]["state"]["current"] == "WARNING"
    assert by_task["quick"]["state"]["current"] == by_task["both"]["state"]["current"] == "WARNING"  # its parents
    assert by_task["slow"]["state"]["current"] == "KILLED"  # stopped, not left running
    assert "never" not in by_task and "after" not in by_task
