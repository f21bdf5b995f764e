"""Python and shell script tasks: outputs, outputFiles, inputFiles, exit codes, secrets masked."""

from __future__ import annotations

import base64
import json

from tests.tasks.support import flow, reason, runs

SECRET = "s3cr3t-Value-42"


def test_python_script_outputs_and_output_files(run_flow, storage_dir):
    text = flow("scripts", """  - id: py
    type: io.kestra.plugin.scripts.python.Script
    containerImage: python:3.11-slim
    warningOnStdErr: false
    env: {GREETING: "hello {{ flow.id }}"}
    outputFiles: ["*.csv", "sub/**/*.txt"]
    script: |
      import json, os, pathlib
      print("working in", os.getcwd())
      pathlib.Path("data.csv").write_text("a,b\\n1,2\\n")
      pathlib.Path("sub/deep").mkdir(parents=True)
      pathlib.Path("sub/deep/note.txt").write_text("deep")
      pathlib.Path(os.environ["OUTPUT_DIR"], "auto.json").write_text("{}")
      print("::" + json.dumps({"outputs": {"greeting": os.environ["GREETING"], "n": 3}}) + "::")
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      copy.csv: "{{ outputs.py.outputFiles['data.csv'] }}"
      inline.txt: "inline {{ outputs.py.vars.n }}"
    commands:
      - test "$(cat inline.txt)" = "inline 3"
      - echo "::{\\"outputs\\":{\\"lines\\":$(wc -l < copy.csv)}}::"
  - id: again
    type: io.kestra.plugin.scripts.shell.Script
    script: |
      echo '::{"outputs":{"read":"{{ read(outputs.py.outputFiles['sub/deep/note.txt']) }}"}}::'
""")
    execution, proc = run_flow(text)
    by_task = runs(execution)
    py = by_task["py"]["outputs"]
    assert py["exitCode"] == 0 and py["vars"] == {"greeting": "hello scripts", "n": 3}
    assert set(py["outputFiles"]) == {"data.csv", "sub/deep/note.txt", "auto.json"}
    data = py["outputFiles"]["data.csv"]
    assert data.startswith(f"kestra:///company/team/scripts/executions/{execution['id']}/tasks/py/")
    assert (storage_dir / data[len("kestra:///"):]).read_text() == "a,b\n1,2\n"
    assert by_task["sh"]["outputs"]["vars"] == {"lines": 2}
    assert by_task["again"]["outputs"]["vars"] == {"read": "deep"}
    assert "working in" in proc.stderr  # stdout lines are the task's log
    assert '::{"outputs"' not in proc.stderr


def test_non_zero_exit_fails_with_code_and_last_stderr_lines(run_flow):
    text = flow("failing", """  - id: boom
    type: io.kestra.plugin.scripts.python.Commands
    beforeCommands: ["echo preparing"]
    commands:
      - python -c "import sys; print('about to fail', file=sys.stderr); sys.exit(3)"
      - echo never
""")
    execution, proc = run_flow(text, expect=1)
    message = reason(runs(execution)["boom"])
    assert "exited with code 3" in message and "about to fail" in message, message
    assert "never" not in proc.stderr


def test_stderr_makes_a_warning_by_default(run_flow):
    text = flow("warned", """  - id: noisy
    type: io.kestra.plugin.scripts.shell.Commands
    commands: ["echo careful >&2"]
""")
    execution, _ = run_flow(text, expect=1)
    assert execution["state"]["current"] == "WARNING"
    assert runs(execution)["noisy"]["outputs"]["exitCode"] == 0


def test_secrets_are_masked_in_logs_outputs_and_reasons(run_flow):
    text = flow("secretive", """  - id: leak
    type: io.kestra.plugin.scripts.shell.Commands
    warningOnStdErr: false
    env: {TOKEN: "{{ secret('API_TOKEN') }}"}
    commands:
      - echo "the token is $TOKEN"
      - echo "on stderr $TOKEN" >&2
      - 'echo "::{\\"outputs\\":{\\"token\\":\\"$TOKEN\\", \\"$TOKEN\\": 1}}::"'
  - id: fail
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo "failing with {{ secret('API_TOKEN') }}" >&2
      - exit 4
""")
    env = {"SECRET_API_TOKEN": base64.b64encode(SECRET.encode()).decode()}
    execution, proc = run_flow(text, env=env, expect=1)
    assert SECRET not in proc.stderr and SECRET not in proc.stdout
    assert "the token is ******" in proc.stderr
    leak = runs(execution)["leak"]["outputs"]["vars"]
    assert leak == {"token": "******", "******": 1}
    assert "failing with ******" in reason(runs(execution)["fail"])
    assert SECRET not in json.dumps(execution)


def test_scripts_do_not_inherit_secret_variables(run_flow):
    text = flow("env", """  - id: look
    type: io.kestra.plugin.scripts.shell.Commands
    commands: ['echo "::{\\"outputs\\":{\\"seen\\":\\"${SECRET_API_TOKEN:-none}\\"}}::"']
""")
    env = {"SECRET_API_TOKEN": base64.b64encode(SECRET.encode()).decode()}
    execution, _ = run_flow(text, env=env)
    assert runs(execution)["look"]["outputs"]["vars"] == {"seen": "none"}


def test_missing_input_file_uri_fails_naming_it(run_flow):
    missing = "kestra:///company/team/gone/executions/x/tasks/y/z/in.csv"
    text = flow("gone", f"""  - id: read
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles: {{in.csv: "{missing}"}}
    commands: ["cat in.csv"]
""")
    execution, _ = run_flow(text, expect=1)
    message = reason(runs(execution)["read"])
    assert missing in message and "does not exist" in message, message


def test_file_input_is_uploaded_under_the_inputs_layout(run_flow, tmp_path, storage_dir):
    source = tmp_path / "given.txt"
    source.write_text("from the command line\n")
    text = """
id: with-file
namespace: company.team
inputs:
  - id: file
    type: FILE
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(inputs.file) | trim }}"
  - id: count
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles: {given.txt: "{{ inputs.file }}"}
    commands: ['echo "::{\\"outputs\\":{\\"words\\":$(wc -w < given.txt)}}::"']
"""
    execution, _ = run_flow(text, f"file=@{source}")
    uri = execution["inputs"]["file"]
    assert uri == f"kestra:///company/team/with-file/executions/{execution['id']}/inputs/file/given.txt"
    assert (storage_dir / uri[len("kestra:///"):]).read_text() == "from the command line\n"
    assert runs(execution)["show"]["outputs"]["value"] == "from the command line"
    assert runs(execution)["count"]["outputs"]["vars"] == {"words": 4}


def test_file_input_that_does_not_exist_is_bad_input(run_flow, tmp_path):
    text = """
id: with-file
namespace: company.team
inputs:
  - id: file
    type: FILE
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.file }}"
"""
    _, proc = run_flow(text, f"file=@{tmp_path / 'nope.txt'}", expect=2)
    assert "nope.txt" in proc.stderr and "input 'file'" in proc.stderr
