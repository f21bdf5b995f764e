"""CLI mistakes and an unreachable cluster: one clear line on stderr, non-zero exit, no traceback.

No cluster needed: these fail before any request, or against a port where nothing listens.
"""

from __future__ import annotations

import socket
import subprocess

import pytest

from tests.cli.conftest import ROOT, run_kflow


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dead_kubeconfig(tmp_path) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:{_closed_port()}'}}}}]\n"
        "users: [{name: u, user: {token: x}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u, namespace: team-a}}]\ncurrent-context: x\n"
    )
    return str(path)


def assert_one_clear_line(proc: subprocess.CompletedProcess, *needles: str, code: int | None = None) -> None:
    assert proc.returncode != 0, proc
    if code is not None:
        assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("kflow: "), proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.mark.parametrize("args", [
    ["get", "executions"],
    ["get", "flows", "-A"],
    ["describe", "execution", "x"],
    ["logs", "x"],
    ["kill", "x"],
    ["restart", "x"],
    ["resume", "x"],
    ["execute", "hello"],
    ["apply", "examples/sample-task.yaml"],
])
def test_unreachable_cluster_is_one_line(args, dead_kubeconfig):
    proc = run_kflow(*args, "--kubeconfig", dead_kubeconfig, timeout=60)
    assert_one_clear_line(proc, "cannot reach the Kubernetes API server", "127.0.0.1", code=1)
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_kubeconfig_and_unknown_context(tmp_path, dead_kubeconfig):
    proc = run_kflow("get", "executions", env={"KUBECONFIG": str(tmp_path / "nope"), "HOME": str(tmp_path)})
    assert_one_clear_line(proc, "no usable kubeconfig", "KUBECONFIG", code=1)
    proc = run_kflow("get", "flows", "--kubeconfig", str(tmp_path / "missing"))
    assert_one_clear_line(proc, "--kubeconfig", "no such file", code=1)
    proc = run_kflow("get", "flows", "--kubeconfig", dead_kubeconfig, "--context", "other")
    assert_one_clear_line(proc, "--context other: no such context", code=1)


def test_invalid_flow_names_file_task_and_field(tmp_path, dead_kubeconfig):
    good = tmp_path / "good.yaml"
    good.write_text("id: fine\nnamespace: t\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: hi}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: ok-one\nnamespace: t\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: hi}\n---\n"
        "id: broken\nnamespace: t\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Retrun\n    format: x\n"
    )
    # Validation comes before any request: the dead cluster is never asked.
    proc = run_kflow("apply", str(good), str(bad), "--kubeconfig", dead_kubeconfig)
    assert_one_clear_line(proc, "bad.yaml (document 2)", "tasks[0].type", "io.kestra.plugin.core.debug.Return", code=2)
    assert "cannot reach" not in proc.stderr


def test_convert_gives_flow_manifests_for_every_document(tmp_path):
    import yaml

    source = tmp_path / "flows.yaml"
    source.write_text(
        "id: My_Flow.v2\nnamespace: company.team\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: hi}\n---\n"
        "apiVersion: kflow.io/v1alpha1\nkind: Flow\nmetadata: {name: second}\nspec:\n  namespace: company.team\n"
        "  tasks:\n    - {id: b, type: io.kestra.core.tasks.debugs.Return, format: x}\n"
    )
    proc = run_kflow("convert", str(source), "-n", "apps")
    assert proc.returncode == 0, proc.stderr
    docs = list(yaml.safe_load_all(proc.stdout))
    assert [d["metadata"] for d in docs] == [{"name": "my-flow-v2", "namespace": "apps"}, {"name": "second", "namespace": "apps"}]
    assert docs[0]["apiVersion"] == "kflow.io/v1alpha1" and docs[0]["kind"] == "Flow"
    assert docs[0]["spec"]["id"] == "My_Flow.v2", "the Kestra flow goes into spec unchanged"
    assert "id" not in docs[1]["spec"], "a manifest is passed through as written"


def test_convert_rejects_other_kinds_and_duplicate_names(tmp_path):
    other = tmp_path / "cm.yaml"
    other.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert_one_clear_line(run_kflow("convert", str(other)), "cm.yaml", "'ConfigMap'", "not a Flow", code=2)
    dup = tmp_path / "dup.yaml"
    flow = "id: {}\nnamespace: t\ntasks:\n  - {{id: a, type: io.kestra.plugin.core.log.Log, message: hi}}\n"
    dup.write_text(flow.format("a_b") + "---\n" + flow.format("a.b"))
    assert_one_clear_line(run_kflow("convert", str(dup)), "'a-b'", "document 1", code=2)
    assert_one_clear_line(run_kflow("convert", str(tmp_path / "none.yaml")), "no such file or directory", code=2)


def test_examples_convert_unchanged():
    import yaml

    proc = run_kflow("convert", "examples")
    assert proc.returncode == 0, proc.stderr
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(proc.stdout)}
    for name in ("sample-task", "sample-sequential-task", "sample-parallel-task"):
        assert docs[name]["spec"] == yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text())


def test_bad_usage_of_inputs_and_labels(dead_kubeconfig):
    proc = run_kflow("execute", "f", "--input", "novalue", "--kubeconfig", dead_kubeconfig)
    assert_one_clear_line(proc, "--input 'novalue'", "KEY=VALUE", code=2)


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script_is_generated_from_the_parser(shell, tmp_path):
    proc = run_kflow("completion", shell)
    assert proc.returncode == 0, proc.stderr
    for word in ("apply", "execute", "logs", "restart", "--follow", "--all-namespaces", "_kflow_names executions"):
        assert word in proc.stdout
    assert "kubectl-kflow" in proc.stdout  # the kubectl plugin is completed too
    if shell == "zsh":  # `source <(kflow completion zsh)` registers the function (shtab alone only under eval)
        assert "compdef _shtab_kflow -N kflow kubectl-kflow" in proc.stdout
        assert "!= loadautofunc" in proc.stdout
    script = tmp_path / f"kflow.{shell}"
    script.write_text(proc.stdout)
    if shell == "bash":
        # Really complete in a bash: `kflow ge<TAB>`, `kflow logs --fo<TAB>`, `kflow get <TAB>`, and
        # `kflow logs -n team <TAB>` with execution names from a stand-in `kflow get` on the PATH.
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        stub = bin_dir / "kflow"
        stub.write_text('#!/bin/sh\necho "kflowexecution.kflow.io/run-a-$5"\necho "kflowexecution.kflow.io/run-b-$5"\n')
        stub.chmod(0o755)
        probe = (
            f"source {script}\n"
            f"PATH={bin_dir}:$PATH\n"
            "complete -p kflow kubectl-kflow | wc -l\n"
            "COMP_WORDS=(kflow ge); COMP_CWORD=1; _shtab_kflow; echo \"${COMPREPLY[*]}\"\n"
            "COMP_WORDS=(kflow logs --fo); COMP_CWORD=2; _shtab_kflow; echo \"${COMPREPLY[*]}\"\n"
            "COMP_WORDS=(kflow get ''); COMP_CWORD=2; _shtab_kflow; echo \"${COMPREPLY[*]}\"\n"
            "COMP_WORDS=(kflow logs -n team ''); COMP_CWORD=4; _shtab_kflow; echo \"${COMPREPLY[*]}\"\n"
        )
        out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == [
            "2", "get", "--follow", "executions execution flows flow", "run-a---namespace=team run-b---namespace=team",
        ], out.stdout


def test_kubectl_plugin_entry_point_runs_the_same_main():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["kubectl-kflow"] == scripts["kflow"] == "kflow.cli.entry:main"


def test_ctrl_c_while_the_cli_still_imports_ends_quietly():
    """SIGINT before `kflow` has set up (its imports take seconds on a loaded machine): exit 130
    with one line, not a KeyboardInterrupt traceback; importing kflow.cli.main alone sets nothing."""
    import subprocess
    import sys

    code = ("import os, signal, sys, time\nfrom kflow.cli import entry\n"
            "signal.signal(signal.SIGINT, entry.interrupted_while_starting) if sys.argv[1] == 'entry' else __import__('kflow.cli.main')\n"
            "os.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)\nprint('not interrupted')")
    proc = subprocess.run([sys.executable, "-c", code, "entry"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr == "kflow: interrupted\n" and "not interrupted" not in proc.stdout
    library = subprocess.run([sys.executable, "-c", code, "library"], capture_output=True, text=True, timeout=60)
    assert "KeyboardInterrupt" in library.stderr  # as a library, Python's own handling is left alone
