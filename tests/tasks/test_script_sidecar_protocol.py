"""The runner <-> script container protocol of cluster pods (kflow.tasks.script_container),
with the script container's real command run as a local process on a shared directory: a
WorkingDirectory runs several scripts through one script container, each with its own output
directory; a control file the script turned into a symlink is refused, never followed."""

from __future__ import annotations

import subprocess

import pytest

from kflow.tasks.script_container import SCRIPT_CONTAINER_COMMAND
from tests.tasks.support import reason, runs


@pytest.fixture
def script_container(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    proc = subprocess.Popen(["/bin/sh", "-c", SCRIPT_CONTAINER_COMMAND], env={"KFLOW_SCRIPT_CONTAINER_DIR": str(shared), "PATH": "/usr/bin:/bin"})
    yield shared
    proc.terminate()
    proc.wait(10)


def test_a_working_directory_runs_its_scripts_one_after_another(run_flow, script_container):
    flow = """
id: wd
namespace: t
tasks:
  - id: group
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: one
        type: io.kestra.plugin.scripts.shell.Commands
        env: {WHO: first}
        commands: ['echo "$WHO" > shared.txt', 'echo one > "$OUTPUT_DIR/one.txt"', 'echo "::{\\"outputs\\":{\\"who\\":\\"$WHO\\"}}::"']
      - id: two
        type: io.kestra.plugin.scripts.shell.Commands
        commands: ['echo "::{\\"outputs\\":{\\"seen\\":\\"$(cat shared.txt)\\", \\"who\\":\\"${WHO:-unset}\\"}}::"']
"""
    execution, _ = run_flow(flow, env={"KFLOW_SCRIPT_CONTAINER_DIR": str(script_container)}, timeout=120)
    assert runs(execution)["one"]["outputs"]["vars"] == {"who": "first"}
    assert list(runs(execution)["one"]["outputs"]["outputFiles"]) == ["one.txt"]
    assert runs(execution)["two"]["outputs"]["vars"] == {"seen": "first", "who": "unset"}  # no environment carried over


def test_a_control_file_made_a_symlink_is_refused(run_flow, script_container, tmp_path):
    private = tmp_path / "runner-only.txt"  # stands for a file only the runner container has
    private.write_text("RUNNER-ONLY-VALUE\n")
    flow = f"""
id: swap
namespace: t
tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    commands: ['rm "$KFLOW_SCRIPT_CONTAINER_DIR/.kflow-control/stdout"', 'ln -s {private} "$KFLOW_SCRIPT_CONTAINER_DIR/.kflow-control/stdout"', 'sleep 0.5']
"""
    execution, proc = run_flow(flow, env={"KFLOW_SCRIPT_CONTAINER_DIR": str(script_container)}, expect=1, timeout=120)
    assert "left 'stdout' unreadable" in reason(runs(execution)["sh"])
    assert "RUNNER-ONLY-VALUE" not in proc.stdout + proc.stderr
