"""Secrets locally (`kflow run`): a script reads only what its task named, never another
secret or the storage credentials, through its environment, /proc or files; every path that
shows a value masks it (log, stdout, stderr, outputs, reasons, --json); SECRET inputs are
masked as Kestra masks them; symlinks out of the output directory are refused."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys

import pytest

from tests.tasks.support import reason, runs

MINE = "mine-Value-8d1f"
OTHER = "other-Value-77ac"
ACCESS_KEY = "AKIAPROBE0123456789"
SECRET_KEY = "probe-storage-secret-key-0xbeef"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEAq7BFUpkGp3+\nXQe7/sNhIFIpl3+lsq\n-----END PRIVATE KEY-----\n"


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# The probe never holds the values it looks for, only their hashes: its own command line and
# memory cannot make a false positive.
PROBE = """
import hashlib, json, os, subprocess
canary = subprocess.Popen(["sleep", "30"], start_new_session=True, env={"PATH": os.environ["PATH"]})  # a process of this user elsewhere
targets = json.loads(os.environ["TARGETS"])
found, readable = set(), 0
def check(blob, where):
    for part in blob.split(b"\\0"):
        value = part.split(b"=", 1)[-1]
        for name, digest in targets.items():
            if hashlib.sha256(value).hexdigest() == digest or hashlib.sha256(part).hexdigest() == digest:
                found.add(name + " in " + where)
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        if os.getsid(int(pid)) == os.getsid(0):  # the script's own processes: they hold its own secret
            continue
    except OSError:
        continue
    for what in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                check(f.read(), what)
            readable += what == "environ" and int(pid) == canary.pid
        except OSError:
            pass
try:
    with open(f"/proc/{os.getppid()}/mem", "rb") as f:
        f.read(1)
    found.add("parent memory readable")
except OSError:
    pass
canary.kill()
mine = hashlib.sha256(os.environ["TOKEN"].encode()).hexdigest() == targets["MINE"]
print("::" + json.dumps({"outputs": {"found": sorted(found), "readable": readable, "mine": mine}}) + "::")
"""


def test_a_script_reads_its_named_secret_and_nothing_else(kflow_env, tmp_path):
    """Run as a user without capabilities (as anyone but root is): the runner and `kflow run`
    are not dumpable, so their /proc/<pid>/environ and memory are closed to the script."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop capabilities")
    targets = {
        "MINE": sha(MINE), "OTHER": sha(OTHER), "OTHER_B64": sha(b64(OTHER)),
        "ACCESS_KEY": sha(ACCESS_KEY), "SECRET_KEY": sha(SECRET_KEY),
    }
    flow = tmp_path / "probe.yaml"
    flow.write_text(
        "id: probe\nnamespace: t\ntasks:\n"
        "  - id: probe\n    type: io.kestra.plugin.scripts.python.Script\n    warningOnStdErr: false\n"
        f"    env: {{TOKEN: \"{{{{ secret('MINE') }}}}\", TARGETS: '{json.dumps(targets)}'}}\n"
        "    script: |\n" + "".join(f"      {line}\n" for line in PROBE.strip().splitlines())
    )
    env = {
        **kflow_env,
        "SECRET_MINE": b64(MINE), "SECRET_OTHER": b64(OTHER),
        "KFLOW_STORAGE_ACCESS_KEY_ID": ACCESS_KEY, "KFLOW_STORAGE_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    proc = subprocess.run(
        ["setpriv", "--bounding-set=-all", "--inh-caps=-all", sys.executable, "-m", "kflow", "run", str(flow), "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    outputs = runs(json.loads(proc.stdout))["probe"]["outputs"]["vars"]
    assert outputs["mine"] is True
    assert outputs["readable"] == 1  # the probe can read the environment of a process of this user
    assert outputs["found"] == []


def test_secret_forms_are_masked_on_every_path(run_flow):
    flow = """
id: masks
namespace: t
tasks:
  - id: shell
    type: io.kestra.plugin.scripts.shell.Commands
    warningOnStdErr: false
    env: {NL: "{{ secret('NL') }}", PEM: "{{ secret('PEM') }}"}
    commands:
      - echo "stdout $NL"
      - echo "stderr $NL" >&2
      - printf '%s\\n' "$PEM"
      - printf '%s\\n' "$PEM" >&2
      - 'echo "::{\\"outputs\\":{\\"nl\\":\\"$(echo $NL)\\"}}::"'
  - id: escaped
    type: io.kestra.plugin.core.debug.Return
    format: "{{ secret('NL') | number }}"
"""
    env = {"SECRET_NL": b64("newline-Secret-31\n"), "SECRET_PEM": b64(PEM)}
    execution, proc = run_flow(flow, env=env, expect=1)
    shown = proc.stdout + proc.stderr
    for value in ["newline-Secret-31", *PEM.strip().splitlines()]:
        assert value not in shown, value
    assert "stdout ******" in proc.stderr and "stderr ******" in proc.stderr
    assert runs(execution)["shell"]["outputs"]["vars"] == {"nl": "******"}
    assert "'******' is not a number" in reason(runs(execution)["escaped"])


def test_secret_inputs_are_masked_as_kestra_masks_them(run_flow, storage_dir):
    flow = """
id: secret-input
namespace: t
inputs:
  - {id: password, type: SECRET}
tasks:
  - {id: log, type: io.kestra.plugin.core.log.Log, message: "pw is {{ inputs.password }}"}
  - {id: ret, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs.password }}"}
outputs:
  - {id: echoed, type: STRING, value: "engine rendered {{ inputs.password }}"}
"""
    execution, proc = run_flow(flow, "password=Input-Pass-5150")
    assert "Input-Pass-5150" not in proc.stdout + proc.stderr
    assert execution["inputs"]["password"] == "******"
    assert runs(execution)["ret"]["outputs"]["value"] == "******"
    assert execution["outputs"] == {"echoed": "engine rendered ******"}
    assert "pw is ******" in proc.stderr
    logs = [p.read_text() for p in storage_dir.rglob("attempt-*.log")]
    assert logs and not any("Input-Pass-5150" in text for text in logs)


def test_a_short_secret_is_masked_only_as_a_whole_word(run_flow):
    flow = """
id: short
namespace: t
tasks:
  - id: ret
    type: io.kestra.plugin.core.debug.Return
    format: "{{ secret('S') }} and abc and cab, {{ secret('S') }}."
  - id: vars
    type: io.kestra.plugin.scripts.shell.Commands
    commands: ['echo "::{\\"outputs\\":{\\"ab_count\\":1, \\"label\\":\\"about ab\\"}}::"']
    env: {X: "{{ secret('S') }}"}
"""
    execution, _ = run_flow(flow, env={"SECRET_S": b64("ab")})
    assert runs(execution)["ret"]["outputs"] == {"value": "****** and abc and cab, ******."}
    assert runs(execution)["vars"]["outputs"]["vars"] == {"ab_count": 1, "label": "about ******"}


def test_a_computed_secret_name_fails_naming_it(run_flow):
    flow = """
id: dynamic
namespace: t
inputs:
  - {id: name, type: STRING, defaults: MINE}
tasks:
  - {id: ret, type: io.kestra.plugin.core.debug.Return, format: "{{ secret(inputs.name) }}"}
"""
    execution, _ = run_flow(flow, env={"SECRET_MINE": b64(MINE)}, expect=1)
    why = reason(runs(execution)["ret"])
    assert "secret('MINE')" not in why and "names no secret as a constant" in why and "secret(inputs.x)" in why


@pytest.mark.parametrize("where", ["outputDir", "outputFiles"])
def test_a_symlink_out_of_the_output_directory_is_refused(run_flow, storage_dir, where):
    link = "ln -s /etc/hostname \"$OUTPUT_DIR/host\"" if where == "outputDir" else "ln -s /etc/hostname host.txt"
    flow = f"""
id: links
namespace: t
tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: ["*.txt"]
    commands: ['{link}']
"""
    execution, _ = run_flow(flow, expect=1)
    assert "is a symlink out of" in reason(runs(execution)["sh"])
    stored = [p for p in storage_dir.rglob("*") if p.is_file() and p.parent.name != "logs"]
    assert stored == []
