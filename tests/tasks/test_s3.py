"""S3 Upload, Download, List and Delete against versitygw on loopback, through `kflow run`."""

from __future__ import annotations

from tests.servers.fixtures import GUIDE_ACCESS_KEY, GUIDE_BUCKET, GUIDE_REGION, GUIDE_SECRET_KEY
from tests.servers.http_server import reddit_json
from tests.tasks.support import flow, reason, runs, storage_env, task_files

CONNECTION = f"""    accessKeyId: {GUIDE_ACCESS_KEY}
    secretKeyId: {{secret}}
    region: {GUIDE_REGION}
    endpointOverride: "{{{{ envs.s3_endpoint }}}}"
"""


def connection(secret: str = GUIDE_SECRET_KEY) -> str:
    return CONNECTION.replace("{secret}", secret)


def s3_task(task_id: str, kind: str, bucket: str = GUIDE_BUCKET, secret: str = GUIDE_SECRET_KEY) -> str:
    """An S3 task item up to its bucket (more properties may follow): id, type, connection."""
    return f"  - id: {task_id}\n    type: io.kestra.plugin.aws.s3.{kind}\n{connection(secret)}    bucket: {bucket}\n"


def s3_flow(url: str, bucket: str = GUIDE_BUCKET, key: str = "roundtrip/news.json", secret: str = GUIDE_SECRET_KEY) -> str:
    return flow("s3-roundtrip", f"""  - id: get
    type: io.kestra.plugin.core.http.Download
    uri: "{url}"
{s3_task('upload', 'Upload', bucket, secret)}    key: {key}
    from: "{{{{ outputs.get.uri }}}}"
    contentType: application/json
{s3_task('list', 'List', bucket, secret)}    prefix: roundtrip/
{s3_task('download', 'Download', bucket, secret)}    key: {key}
  - id: same
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read(outputs.download.uri) == read(outputs.get.uri) }}}}"
{s3_task('delete', 'Delete', bucket, secret)}    key: {key}
""")


def test_upload_list_download_delete(run_flow, http_server, s3_server, storage_dir):
    execution, _ = run_flow(s3_flow(http_server.url("/r/news.json")))
    by_task = runs(execution)
    assert by_task["upload"]["outputs"]["key"] == "roundtrip/news.json"
    assert by_task["upload"]["outputs"]["eTag"]
    listed = by_task["list"]["outputs"]["objects"]
    assert [o["key"] for o in listed] == ["roundtrip/news.json"]
    assert listed[0]["size"] == len(reddit_json("news"))
    assert listed[0]["uri"] == f"s3://{GUIDE_BUCKET}/roundtrip/news.json"
    download = by_task["download"]["outputs"]
    assert download["contentLength"] == len(reddit_json("news"))
    assert download["contentType"] == "application/json"
    assert (storage_dir / download["uri"][len("kestra:///"):]).read_bytes() == reddit_json("news")
    assert by_task["same"]["outputs"]["value"] == "true"
    client = s3_server.client()
    assert client.list_objects_v2(Bucket=GUIDE_BUCKET, Prefix="roundtrip/").get("KeyCount", 0) == 0


def test_upload_of_several_files_goes_under_the_key(run_flow, http_server, s3_server):
    text = flow("s3-many", f"""  - id: a
    type: io.kestra.plugin.core.http.Download
    uri: "{http_server.url('/r/a.json')}"
  - id: b
    type: io.kestra.plugin.core.http.Download
    uri: "{http_server.url('/r/b.json')}"
{s3_task('upload', 'Upload')}    key: many
    from: ["{{{{ outputs.a.uri }}}}", "{{{{ outputs.b.uri }}}}"]
""")
    execution, _ = run_flow(text)
    assert runs(execution)["upload"]["outputs"]["keys"] == ["many/a.json", "many/b.json"]
    client = s3_server.client()
    assert client.get_object(Bucket=GUIDE_BUCKET, Key="many/b.json")["Body"].read() == reddit_json("b")


def test_wrong_credentials_fail_naming_bucket_key_and_cause(run_flow, http_server, s3_server):
    execution, _ = run_flow(s3_flow(http_server.url("/r/news.json"), key="denied.json", secret="wrong-secret"), expect=1)
    message = reason(runs(execution)["upload"])
    assert f"bucket '{GUIDE_BUCKET}'" in message and "key 'denied.json'" in message
    assert "SignatureDoesNotMatch" in message, message
    assert "wrong-secret" not in message


def test_missing_bucket_fails_naming_it(run_flow, http_server, s3_server):
    execution, _ = run_flow(s3_flow(http_server.url("/r/news.json"), bucket="no-such-bucket"), expect=1)
    message = reason(runs(execution)["upload"])
    assert "bucket 'no-such-bucket'" in message and "key 'roundtrip/news.json'" in message
    assert "NoSuchBucket" in message, message


def test_missing_key_fails_naming_it_and_stores_nothing(run_flow, s3_server, storage_dir):
    text = flow("s3-missing", f"""{s3_task('download', 'Download')}    key: does/not/exist.json
""")
    execution, _ = run_flow(text, expect=1)
    message = reason(runs(execution)["download"])
    assert f"bucket '{GUIDE_BUCKET}'" in message and "key 'does/not/exist.json'" in message
    assert "NoSuchKey" in message, message
    assert task_files(storage_dir) == []


def test_upload_of_a_missing_kestra_uri_fails_naming_it(run_flow, s3_server):
    missing = "kestra:///company/team/s3-gone/executions/nope/tasks/x/y/file.json"
    text = flow("s3-gone", f"""{s3_task('upload', 'Upload')}    key: gone.json
    from: "{missing}"
""")
    execution, _ = run_flow(text, expect=1)
    message = reason(runs(execution)["upload"])
    assert missing in message and "does not exist" in message and "key 'gone.json'" in message, message
    client = s3_server.client()
    assert client.list_objects_v2(Bucket=GUIDE_BUCKET, Prefix="gone.json").get("KeyCount", 0) == 0


def test_internal_storage_in_a_bucket(run_flow, http_server, s3_server):
    """The cluster's storage backend: the runner writes task files to a bucket, and reads them back."""
    s3_server.ensure_bucket("kflow-internal")
    env = storage_env(f"s3://kflow-internal/storage?endpoint={s3_server.endpoint}&region={GUIDE_REGION}", GUIDE_ACCESS_KEY, GUIDE_SECRET_KEY)
    execution, _ = run_flow(s3_flow(http_server.url("/r/news.json"), key="roundtrip/internal.json"), env=env)
    by_task = runs(execution)
    assert by_task["same"]["outputs"]["value"] == "true"
    uri = by_task["get"]["outputs"]["uri"]
    key = "storage/" + uri[len("kestra:///"):]
    assert s3_server.client().get_object(Bucket="kflow-internal", Key=key)["Body"].read() == reddit_json("news")


def test_internal_storage_bucket_missing_fails_the_task(run_flow, http_server, s3_server):
    env = storage_env(f"s3://no-internal-bucket?endpoint={s3_server.endpoint}&region={GUIDE_REGION}", GUIDE_ACCESS_KEY, GUIDE_SECRET_KEY)
    text = flow("no-storage", f"""  - id: get
    type: io.kestra.plugin.core.http.Download
    uri: "{http_server.url('/r/news.json')}"
""")
    execution, _ = run_flow(text, env=env, expect=1)
    message = reason(runs(execution)["get"])
    assert "no-internal-bucket" in message and "NoSuchBucket" in message, message


GIB = 1024 * 1024 * 1024


def test_one_gib_through_s3_in_constant_memory(http_server, s3_server, kflow_env, storage_dir, tmp_path):
    """1 GiB: HTTP → internal storage → S3 Upload → S3 Download → internal storage, every hop
    streamed: `kflow run` and its runners stay under 200 MiB of peak RSS."""
    import json
    import sys
    import time

    from tests.servers.fixtures import ROOT
    from tests.servers.http_server import expected_digest
    from tests.tasks.support import run_measured
    from tests.tasks.test_http import sha256_file

    path = tmp_path / "big-s3.yaml"
    path.write_text(flow("big-s3", f"""  - id: get
    type: io.kestra.plugin.core.http.Download
    uri: "{http_server.url(f'/bytes/{GIB}')}"
{s3_task('upload', 'Upload')}    key: big/one-gib.bin
    from: "{{{{ outputs.get.uri }}}}"
{s3_task('download', 'Download')}    key: big/one-gib.bin
"""))
    started = time.monotonic()
    proc, peak_mib = run_measured([sys.executable, "-m", "kflow", "run", str(path), "--json"], env=kflow_env, cwd=ROOT)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    by_task = runs(json.loads(proc.stdout))
    assert by_task["download"]["outputs"]["contentLength"] == GIB
    assert sha256_file(storage_dir / by_task["download"]["outputs"]["uri"][len("kestra:///"):]) == expected_digest(GIB)
    for path in storage_dir.rglob("*"):
        if path.is_file():
            path.unlink()  # 2 GiB: do not leave them in pytest's kept temp dirs
    head = s3_server.client().head_object(Bucket=GUIDE_BUCKET, Key="big/one-gib.bin")
    assert head["ContentLength"] == GIB
    s3_server.client().delete_object(Bucket=GUIDE_BUCKET, Key="big/one-gib.bin")
    print(f"\n1 GiB HTTP → S3 → back: {elapsed:.1f}s, peak RSS {peak_mib:.0f} MiB")
    assert peak_mib < 200, f"peak RSS {peak_mib:.0f} MiB"
