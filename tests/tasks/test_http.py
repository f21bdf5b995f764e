"""HTTP Download and Request against the local HTTP server, through `kflow run`."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path


from tests.servers.fixtures import ROOT
from tests.servers.http_server import expected_digest, reddit_json
from tests.tasks.support import flow as flow_yaml
from tests.tasks.support import reason, run_measured, runs, task_files

FLOW = flow_yaml("http", """  - id: fetch
    type: {type}
    uri: "{uri}"
{extra}
""")


GIB = 1024 * 1024 * 1024


def flow(uri: str, type: str = "io.kestra.plugin.core.http.Download", extra: str = "") -> str:
    return FLOW.format(type=type, uri=uri, extra=extra)


def stored_files(storage_dir: Path) -> list[Path]:
    return task_files(storage_dir)


def test_download_outputs(run_flow, http_server, storage_dir):
    execution, _ = run_flow(flow(http_server.url("/r/python.json"), extra="    headers: {x-test: [a, b]}"))
    out = runs(execution)["fetch"]["outputs"]
    assert out["code"] == 200
    assert out["length"] == len(reddit_json("python"))
    assert out["headers"]["content-type"] == ["application/json"]
    assert out["uri"].startswith(f"kestra:///company/team/http/executions/{execution['id']}/tasks/fetch/")
    assert out["uri"].endswith("/python.json")
    assert (storage_dir / out["uri"][len("kestra:///"):]).read_bytes() == reddit_json("python")


def test_request_outputs_and_body(run_flow, http_server):
    extra = """    method: POST
    contentType: application/json
    body: '{"hello": "{{ flow.id }}"}'
    headers: {x-kflow: "yes", x-flag: true}"""
    execution, _ = run_flow(flow(http_server.url("/echo"), "io.kestra.plugin.core.http.Request", extra))
    out = runs(execution)["fetch"]["outputs"]
    assert out["code"] == 200 and out["uri"] == http_server.url("/echo")
    echoed = json.loads(out["body"])
    assert echoed["method"] == "POST" and json.loads(echoed["body"]) == {"hello": "http"}
    assert echoed["headers"]["Content-Type"] == "application/json" and echoed["headers"]["x-kflow"] == "yes"
    assert echoed["headers"]["x-flag"] == "true"
    assert out["headers"]["content-type"] == ["application/json"]


def test_old_request_name_and_read_function(run_flow, http_server):
    """`fs.http.Request` is the old name; read() gives a stored file's content to a later task."""
    text = flow_yaml("read-it", f"""  - id: get
    type: io.kestra.plugin.fs.http.Download
    uri: "{http_server.url('/r/rust.json')}"
  - id: count
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ fromJson(read(outputs.get.uri)).data.children | length }}}}"
  - id: status
    type: io.kestra.plugin.fs.http.Request
    uri: "{http_server.url('/status/418')}"
    allowFailed: true
""")
    execution, _ = run_flow(text)
    assert runs(execution)["count"]["outputs"]["value"] == "50"
    assert runs(execution)["status"]["outputs"]["code"] == 418


def test_404_fails_naming_the_url_and_stores_nothing(run_flow, http_server, storage_dir):
    url = http_server.url("/r/missing")
    execution, _ = run_flow(flow(url), expect=1)
    message = reason(runs(execution)["fetch"])
    assert url in message and "404" in message, message
    assert stored_files(storage_dir) == []


def test_request_404_fails_naming_the_url(run_flow, http_server):
    url = http_server.url("/status/404")
    execution, _ = run_flow(flow(url, "io.kestra.plugin.core.http.Request"), expect=1)
    message = reason(runs(execution)["fetch"])
    assert url in message and "HTTP 404" in message, message


def test_timeout_fails_naming_the_url(run_flow, http_server, storage_dir):
    url = http_server.url("/slow?seconds=5")
    started = time.monotonic()
    execution, _ = run_flow(flow(url, extra="    options: {readTimeout: PT1S}"), expect=1)
    assert time.monotonic() - started < 30
    message = reason(runs(execution)["fetch"])
    assert url in message and "timed out" in message, message
    assert stored_files(storage_dir) == []


def test_killed_download_leaves_nothing_in_storage(run_flow, http_server, storage_dir):
    """A task timeout kills the runner mid-download: no file, not even a partial one, stays."""
    execution, _ = run_flow(flow(http_server.url(f"/bytes/{GIB}"), extra="    timeout: PT2S"), expect=1)
    assert "timed out" in reason(runs(execution)["fetch"])
    assert task_files(storage_dir) == []


def test_connection_refused_fails_naming_the_url(run_flow):
    from tests.servers.versitygw import free_port

    url = f"http://127.0.0.1:{free_port()}/nothing-listens.json"
    execution, _ = run_flow(flow(url), expect=1)
    message = reason(runs(execution)["fetch"])
    assert url in message and "cannot connect" in message, message


def test_empty_response_fails_unless_allowed(run_flow, http_server, storage_dir):
    execution, _ = run_flow(flow(http_server.url("/empty")), expect=1)
    assert "empty response" in reason(runs(execution)["fetch"])
    assert stored_files(storage_dir) == []
    execution, _ = run_flow(flow(http_server.url("/empty"), extra="    failOnEmptyResponse: false"), expect=1)
    assert execution["state"]["current"] == "WARNING"
    assert runs(execution)["fetch"]["outputs"]["length"] == 0


def test_one_gib_download_streams_in_constant_memory(http_server, kflow_env, storage_dir, tmp_path):
    """1 GiB generated on the fly by the server, streamed to storage; the whole `kflow run`
    process tree (CLI and runner) stays under 200 MiB of peak RSS."""
    path = tmp_path / "big.yaml"
    path.write_text(flow(http_server.url(f"/bytes/{GIB}")))
    started = time.monotonic()
    proc, peak_mib = run_measured([sys.executable, "-m", "kflow", "run", str(path), "--json"], env=kflow_env, cwd=ROOT)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = runs(json.loads(proc.stdout))["fetch"]["outputs"]
    assert out["length"] == GIB
    stored = storage_dir / out["uri"][len("kestra:///"):]
    assert sha256_file(stored) == expected_digest(GIB)
    stored.unlink()  # 1 GiB: do not leave it in pytest's kept temp dirs
    print(f"\n1 GiB download: {elapsed:.1f}s, peak RSS of kflow run and its runner: {peak_mib:.0f} MiB")
    assert peak_mib < 200, f"peak RSS {peak_mib:.0f} MiB"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
