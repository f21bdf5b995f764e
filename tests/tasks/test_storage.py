"""Internal storage: URIs and layout, the directory backend (atomic writes), configuration."""

from __future__ import annotations

import pytest

from kflow.storage import StorageConfig, StorageFileNotFound, input_uri, open_storage, parse_uri, task_uri
from kflow.storage.directory import DirectoryStorage
from kflow.uris import BadUri


def test_layout_is_kestras():
    assert task_uri("io.kestra.tests", "flow", "exec1", "task", "run1", "data.json") == (
        "kestra:///io/kestra/tests/flow/executions/exec1/tasks/task/run1/data.json"
    )
    assert input_uri("company.team", "flow", "exec1", "file", "given.csv") == (
        "kestra:///company/team/flow/executions/exec1/inputs/file/given.csv"
    )
    assert task_uri("a", "f", "e", "t", "r", "sub/dir/x y.txt").endswith("/tasks/t/r/sub/dir/x%20y.txt")
    assert parse_uri(task_uri("a", "f", "e", "t", "r", "x y.txt")).endswith("/x y.txt")


@pytest.mark.parametrize("bad", ["http://x/y", "kestra:///a/../b", "kestra:///", "kestra:///a//b", "/a/b"])
def test_bad_uris_are_refused(bad):
    with pytest.raises(BadUri):
        parse_uri(bad)


def test_names_cannot_escape():
    assert "/../" not in task_uri("a", "f", "e", "t", "r", "../../etc/passwd")


def test_directory_write_is_atomic(tmp_path):
    storage = DirectoryStorage(tmp_path)
    uri = task_uri("a", "f", "e", "t", "r", "out.bin")
    with pytest.raises(RuntimeError):
        with storage.writer(uri) as out:
            out.write(b"half")
            raise RuntimeError("the download broke")
    assert not storage.exists(uri)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    storage.put_bytes(b"whole", uri)
    assert storage.read_bytes(uri) == b"whole" and storage.size(uri) == 5
    assert storage.delete(uri) and not storage.delete(uri)
    with pytest.raises(StorageFileNotFound, match="out.bin does not exist"):
        storage.open(uri)


def test_config_from_environment(tmp_path):
    assert StorageConfig.from_env({}).type == "dir"
    assert StorageConfig.from_env({}).resolved().path.endswith(".kflow/storage")
    config = StorageConfig.from_env({"KFLOW_STORAGE": f"dir:{tmp_path}"})
    assert isinstance(open_storage(config), DirectoryStorage)
    s3 = StorageConfig.from_env(
        {"KFLOW_STORAGE": "s3://bucket/some/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1", "KFLOW_STORAGE_REGION": "us-east-2"}
    )
    assert (s3.type, s3.bucket, s3.prefix, s3.endpoint, s3.region) == ("s3", "bucket", "some/prefix", "http://127.0.0.1:9000", "us-east-2")
    # The invocation carries the config, never credentials.
    assert "secret" not in s3.model_dump_json().lower()


def test_read_function_in_expressions():
    from kflow.expr import ExpressionError, render

    files = {"kestra:///a/b.txt": "content"}
    assert render("{{ read('kestra:///a/b.txt') | upper }}", {}, read=files.__getitem__) == "CONTENT"
    with pytest.raises(ExpressionError, match="no internal storage"):
        render("{{ read('kestra:///a/b.txt') }}", {})
    with pytest.raises(ExpressionError, match="kestra:///a/c.txt"):
        render("{{ read('kestra:///a/c.txt') }}", {}, read=files.__getitem__)


def test_runner_reads_only_its_own_namespace(tmp_path):
    from kflow.runner.invocation import Invocation
    from kflow.runner.run import execute

    storage = DirectoryStorage(tmp_path)
    other = task_uri("other.team", "f", "e", "t", "r", "x.txt")
    storage.put_bytes(b"not yours", other)
    invocation = Invocation(
        executionId="e", taskRunId="r", namespace="company.team", flowId="f",
        task={"id": "t", "type": "io.kestra.plugin.core.debug.Return", "format": f"{{{{ read('{other}') }}}}"},
        context={}, storage=StorageConfig(type="dir", path=str(tmp_path)),
    )
    result = execute(invocation)
    assert result.state == "FAILED" and "another namespace" in result.reason


def test_config_from_the_charts_operator_variables():
    config = StorageConfig.from_env(
        {"KFLOW_STORAGE_TYPE": "s3", "KFLOW_STORAGE_S3_BUCKET": "b", "KFLOW_STORAGE_S3_ENDPOINT": "http://s3:9000", "KFLOW_STORAGE_S3_REGION": "r"}
    )
    assert (config.type, config.bucket, config.endpoint, config.region) == ("s3", "b", "http://s3:9000", "r")
    assert StorageConfig.from_env({"KFLOW_STORAGE_TYPE": "local"}).type == "dir"


def test_secrets_from_a_mounted_directory(tmp_path, monkeypatch):
    from kflow.runner.context import env_secret

    (tmp_path / "API_TOKEN").write_text("from-a-file")
    monkeypatch.setenv("KFLOW_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_OTHER", "b3RoZXI=")
    assert env_secret("API_TOKEN") == "from-a-file"
    assert env_secret("OTHER") == "other"
    with pytest.raises(KeyError):
        env_secret("../API_TOKEN")
