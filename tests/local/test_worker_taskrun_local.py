"""Kestra's `workerTaskrun`: a WorkingDirectory's children see its task run (and its loop value)."""

from __future__ import annotations

import json

from tests.local.test_run_examples import kflow

FLOW = """
id: worker-taskrun
namespace: team.w
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [eu, us]
    tasks:
      - id: wd
        type: io.kestra.plugin.core.flow.WorkingDirectory
        tasks:
          - id: show
            type: io.kestra.plugin.core.debug.Return
            format: "{{ workerTaskrun.id }}|{{ workerTaskrun.value }}|{{ taskrun.value }}|{{ taskrun.parentId }}"
"""


def test_children_of_a_working_directory_see_its_task_run_as_worker_taskrun(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    proc = kflow("run", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    execution = json.loads(proc.stdout)
    working_dirs = {tr["id"]: tr for tr in execution["taskRunList"] if tr["taskId"] == "wd"}
    shown = [tr for tr in execution["taskRunList"] if tr["taskId"] == "show"]
    assert len(shown) == 2
    for child in shown:
        wd_id, wd_value, value, parent_id = child["outputs"]["value"].split("|")
        assert wd_id == parent_id == child["parentTaskRunId"] and wd_id in working_dirs
        assert wd_value == value == working_dirs[wd_id]["value"]
    assert sorted(tr["outputs"]["value"].split("|")[1] for tr in shown) == ["eu", "us"]
