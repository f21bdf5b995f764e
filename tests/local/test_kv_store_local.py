"""The KV store through `kflow run` (real CLI, runner processes, the directory store): values set
in one execution are read by another flow's, with their JSON types, ttl, Get/Delete/GetKeys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.local.readme_blocks import readme_commands, run_readme_commands
from tests.local.test_run_examples import EXAMPLES, ROOT, runs


def run(flow: str, kv_dir, *args: str, expect: int = 0) -> dict:
    env = {**os.environ, "KFLOW_KV_DIR": str(kv_dir)}
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", flow, "--json", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == expect, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else {"stderr": proc.stderr}


def flow(tmp_path, text: str) -> str:
    path = tmp_path / "flow.yaml"
    path.write_text(text)
    return str(path)


def test_values_set_in_one_execution_are_read_by_another_flow_then_deleted(tmp_path):
    store = tmp_path / "kv"
    first = run(str(EXAMPLES / "kv-store.yaml"), store, "--input", "orders=7")
    by_task = runs(first)
    assert by_task["get_config"]["outputs"]["value"] == {"region": "eu-west-1", "retries": 2, "enabled": True}
    assert by_task["list_orders"]["outputs"]["keys"] == ["orders_config", "orders_count"]
    assert by_task["report"]["outputs"]["value"] == "8 next, in eu-west-1, retries 2; keys orders_config,orders_count"
    assert json.loads((store / "company.team" / "orders_count.json").read_text())["value"] == 7  # NUMBER: a number

    second = runs(run(str(EXAMPLES / "kv-consume.yaml"), store))
    assert second["read"]["outputs"]["value"] == f"7 orders, token token-{first['id']}"
    assert second["forget"]["outputs"] == {"deleted": True}
    assert not second["after"].get("outputs")  # Get: errorOnMissing defaults to false; no value output

    third = run(str(EXAMPLES / "kv-consume.yaml"), store, expect=1)
    reason = runs(third)["read"]["attempts"][-1]["reason"]
    assert "kv('orders_count'): no such key in namespace 'company.team'" in reason


def test_ttl_expiry_makes_the_key_missing(tmp_path):
    store = tmp_path / "kv"
    text = """
id: ttl
namespace: team.a
tasks:
  - {id: set, type: io.kestra.plugin.core.kv.Set, key: short, value: [1, 2], ttl: PT10S}
  - {id: keep, type: io.kestra.plugin.core.kv.Set, key: long, value: kept}
"""
    run(flow(tmp_path, text), store)
    read = flow(tmp_path, """
id: read
namespace: team.a
tasks:
  - {id: keys, type: io.kestra.plugin.core.kv.GetKeys}
  - {id: get, type: io.kestra.plugin.core.kv.Get, key: short}
  - {id: fn, type: io.kestra.plugin.core.debug.Return, format: "{{ kv('short', errorOnMissing=false) ?? 'gone' }}"}
""")
    before = runs(run(read, store))  # KV tasks run in the engine: within a second or two of the Set
    time.sleep(10.2)
    after = runs(run(read, store))
    assert before["get"]["outputs"]["value"] == [1, 2]
    assert before["keys"]["outputs"]["keys"] == ["long", "short"]
    assert after["keys"]["outputs"]["keys"] == ["long"]
    assert not after["get"].get("outputs")
    assert after["fn"]["outputs"]["value"] == "gone"


@pytest.mark.parametrize("task, message", [
    ("{id: t, type: io.kestra.plugin.core.kv.Get, key: absent, errorOnMissing: true}",
     "KV key 'absent': no such key in namespace 'team.b'"),
    ("{id: t, type: io.kestra.plugin.core.kv.Delete, key: absent, errorOnMissing: true}",
     "KV key 'absent': no such key in namespace 'team.b' to delete"),
    ("{id: t, type: io.kestra.plugin.core.kv.Set, key: 'bad/key', value: 1}",
     "KV key 'bad/key': a key starts with a letter or digit"),
    ("{id: t, type: io.kestra.plugin.core.kv.Set, key: n, value: 'abc', kvType: NUMBER}",
     "KV key 'n': the value 'abc' is not a valid NUMBER"),
    ("{id: t, type: io.kestra.plugin.core.kv.Set, key: big, value: \"{{ 'x' * 600000 }}\"}",
     "KV key 'big' in namespace 'team.b': the value is 600002 bytes, more than 524288"),
    ("{id: t, type: io.kestra.plugin.core.debug.Return, format: \"{{ kv(inputs.k) }}\"}",
     "only keys written as constants"),
])
def test_bad_keys_values_and_missing_keys_fail_the_task_naming_the_key(tmp_path, task, message):
    text = f"id: bad\nnamespace: team.b\ninputs:\n  - {{id: k, type: STRING, defaults: x}}\ntasks:\n  - {task}\n"
    execution = run(flow(tmp_path, text), tmp_path / "kv", expect=1)
    reason = execution["taskRunList"][0]["attempts"][-1]["reason"]
    assert message in reason, reason


def test_overwrite_false_refuses_an_existing_key(tmp_path):
    store = tmp_path / "kv"
    text = "id: once\nnamespace: team.c\ntasks:\n  - {id: set, type: io.kestra.plugin.core.kv.Set, key: k, value: v, overwrite: false}\n"
    run(flow(tmp_path, text), store)
    again = run(flow(tmp_path, text), store, expect=1)
    assert "KV key 'k' already exists in namespace 'team.c' and `overwrite` is false" in again["taskRunList"][0]["attempts"][-1]["reason"]


def test_kv_dir_flag_and_other_namespaces(tmp_path):
    store = tmp_path / "elsewhere"
    text = """
id: ns
namespace: team.d
tasks:
  - {id: set, type: io.kestra.plugin.core.kv.Set, key: shared, value: {a: 1}, namespace: team.shared}
  - {id: get, type: io.kestra.plugin.core.debug.Return, format: "{{ kv('shared', 'team.shared').a }}"}
"""
    path = flow(tmp_path, text)
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", path, "--json", "--kv-dir", str(store)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert runs(json.loads(proc.stdout))["get"]["outputs"]["value"] == "1"
    assert (store / "team.shared" / "shared.json").exists()


def test_the_readme_kv_commands_run_as_written(tmp_path):
    """The two lines of README.md's "The KV store" block, verbatim (the store in a temp XDG dir)."""
    commands = readme_commands("### The KV store")
    assert [c.split()[:3] for c in commands] == [["kflow", "run", "examples/kv-store.yaml"], ["kflow", "run", "examples/kv-consume.yaml"]]
    procs = run_readme_commands("### The KV store", tmp_path, "--plain")
    assert [p.returncode for p in procs] == [0, 0], procs[-1].stderr
    assert "7 orders, token token-" in procs[-1].stdout  # the summary, with outputs
    assert sorted(p.name for p in (tmp_path / "kflow" / "kv" / "company.team").iterdir()) == ["orders_config.json", "session_token.json"]


def test_purge_kv_deletes_expired_keys_then_all_matching_ones(tmp_path):
    store = tmp_path / "kv"
    (store / "other.ns").mkdir(parents=True)
    (store / "other.ns" / "cache_x.json").write_text('{"value": 1, "updateDate": "2026-01-01T00:00:00Z", "expirationDate": "2026-01-01T00:00:01Z"}')
    by_task = runs(run(str(EXAMPLES / "kv-purge.yaml"), store))
    assert by_task["purge_expired"]["outputs"] == {"size": 1}  # cache_short (company.team is a child of company)
    assert by_task["purge_all"]["outputs"] == {"size": 1}  # cache_kept, expired or not
    assert list((store / "company.team").iterdir()) == []
    assert (store / "other.ns" / "cache_x.json").exists()  # another namespace: not named, kept
