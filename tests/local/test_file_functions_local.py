"""fileExists(), fileSize(), isFileEmpty() on internal storage, through `kflow run` (a FILE input)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.local.test_run_examples import ROOT, runs

FLOW = """
id: files
namespace: team.files
inputs:
  - {id: data, type: FILE}
  - {id: empty, type: FILE}
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: >-
      {{ fileExists(inputs.data) }} {{ fileSize(inputs.data) }} {{ isFileEmpty(inputs.data) }}
      {{ isFileEmpty(inputs.empty) }} {{ fileExists('kestra:///team/files/files/nope.txt') }}
  - id: missing
    type: io.kestra.plugin.core.debug.Return
    format: "{{ fileSize('kestra:///team/files/files/nope.txt') }}"
"""


def test_file_functions_on_stored_files(tmp_path):
    (tmp_path / "flow.yaml").write_text(FLOW)
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "empty.txt").write_text("")
    env = {**os.environ, "KFLOW_STORAGE": f"dir:{tmp_path / 'storage'}"}
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", str(tmp_path / "flow.yaml"), "--json",
                           "--input", f"data=@{tmp_path / 'data.csv'}", "--input", f"empty=@{tmp_path / 'empty.txt'}"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == 1, proc.stderr  # `missing` fails
    by_task = runs(json.loads(proc.stdout))
    assert by_task["show"]["outputs"]["value"] == "true 8 false true false"
    reason = by_task["missing"]["attempts"][-1]["reason"]
    assert "fileSize('kestra:///team/files/files/nope.txt'): no such file" in reason, reason
