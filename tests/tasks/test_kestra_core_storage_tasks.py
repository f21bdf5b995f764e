"""Kestra's internal-storage tasks and Assert (issue 16), run as the runner runs them (render,
validate, run) against a real directory storage; behaviour as Kestra documents it."""

from __future__ import annotations

import io
import json

import pytest

from kflow.runner.context import TaskLocation, TaskLogger
from kflow.runner.run import run_task
from kflow.storage.directory import DirectoryStorage
from kflow.uris import task_uri

CORE = "io.kestra.plugin.core"
WHERE = TaskLocation("company.team", "flow", "exec-1", "t", "run-1")


@pytest.fixture
def storage(tmp_path):
    return DirectoryStorage(tmp_path / "storage")


def run(storage, tmp_path, task: dict, context: dict | None = None):
    """One task through the runner's own path; returns (result, its log text)."""
    log = io.StringIO()
    workdir = tmp_path / f"work-{task['id']}"
    workdir.mkdir(exist_ok=True)
    where = TaskLocation(WHERE.namespace, WHERE.flowId, WHERE.executionId, task["id"], f"run-{task['id']}")
    result = run_task({"id": task["id"], **task}, context or {}, TaskLogger(log), str(workdir), where, storage)
    return result, log.getvalue()


def stored(storage, name: str, data: bytes) -> str:
    return storage.put_bytes(data, task_uri(WHERE.namespace, WHERE.flowId, WHERE.executionId, "src", "r", name))


def content(storage, uri: str) -> bytes:
    return storage.read_bytes(uri)


def test_write_stores_the_content_and_size_measures_it(storage, tmp_path):
    result, _ = run(storage, tmp_path, {"id": "w", "type": f"{CORE}.storage.Write", "content": "héllo\n"})
    assert result.state == "SUCCESS" and result.outputs["uri"].endswith("/tasks/w/run-w/write.ion")
    assert content(storage, result.outputs["uri"]) == "héllo\n".encode()
    size, _ = run(storage, tmp_path, {"id": "s", "type": "io.kestra.core.tasks.storages.Size", "uri": result.outputs["uri"]})
    assert size.outputs == {"size": 7}


def test_concat_puts_the_separator_between_files_and_takes_a_json_list(storage, tmp_path):
    a, b = stored(storage, "a.csv", b"1\n2"), stored(storage, "b.csv", b"3\n")
    result, _ = run(storage, tmp_path, {"id": "c", "type": f"{CORE}.storage.Concat", "files": [a, b], "separator": "\n", "extension": ".csv"})
    assert result.outputs["uri"].endswith(".csv") and content(storage, result.outputs["uri"]) == b"1\n2\n3\n"
    result, _ = run(storage, tmp_path, {"id": "c2", "type": f"{CORE}.storage.Concat", "files": "{{ files | json }}"}, {"files": [b, a]})
    assert content(storage, result.outputs["uri"]) == b"3\n1\n2"


@pytest.mark.parametrize("how, expected", [
    ({"rows": 2}, [b"r1\nr2\n", b"r3\nr4\n", b"r5\n"]),
    ({"bytes": "6"}, [b"r1\nr2\n", b"r3\nr4\n", b"r5\n"]),  # a new file once one reached 6 bytes
    ({"bytes": "1KB"}, [b"r1\nr2\nr3\nr4\nr5\n"]),
    ({"partitions": 2}, [b"r1\nr3\nr5\n", b"r2\nr4\n"]),  # round-robin
    ({"partitions": 8}, [b"r1\n", b"r2\n", b"r3\n", b"r4\n", b"r5\n"]),  # empty partitions dropped
    ({"rows": 2, "separator": ";"}, [b"r1;r2;", b"r3;r4;", b"r5;"]),
])
def test_split_by_rows_bytes_and_partitions(storage, tmp_path, how, expected):
    source = stored(storage, "rows.txt", b"r1\nr2\r\nr3\nr4\nr5")
    result, _ = run(storage, tmp_path, {"id": "split", "type": f"{CORE}.storage.Split", "from": source, **how})
    assert result.state == "SUCCESS", result.reason
    assert [content(storage, uri) for uri in result.outputs["uris"]] == expected
    assert all(uri.endswith(".txt") for uri in result.outputs["uris"])  # the source's extension


def test_split_by_regex_groups_rows_by_the_first_capture_group(storage, tmp_path):
    source = stored(storage, "logs.txt", b"[INFO] a\n[ERROR] b\nno level\n[INFO] c\n")
    result, _ = run(storage, tmp_path, {"id": "split", "type": f"{CORE}.storage.Split", "from": source, "regexPattern": r"\[(\w+)\]"})
    assert [content(storage, uri) for uri in result.outputs["uris"]] == [b"[INFO] a\n[INFO] c\n", b"[ERROR] b\n"]


@pytest.mark.parametrize("how, reason", [
    ({"rows": 1, "bytes": "1KB"}, "give exactly one of rows, bytes, partitions, regexPattern"),
    ({}, "give exactly one of rows, bytes, partitions, regexPattern"),
    ({"bytes": "ten"}, "bytes: 'ten' is not a size such as 1048576, 200KB or 10MB"),
    ({"rows": 0}, "rows: must be at least 1, got 0"),
    ({"partitions": 100_000}, "partitions: 100000; at most 500 partitions"),
    ({"regexPattern": "no group"}, "regexPattern: needs a capture group"),
    ({"regexPattern": "(unclosed"}, "regexPattern: invalid regular expression"),
])
def test_split_refuses_bad_properties_naming_them(storage, tmp_path, how, reason):
    source = stored(storage, "rows.txt", b"r1\nr2\n")
    result, _ = run(storage, tmp_path, {"id": "split", "type": f"{CORE}.storage.Split", "from": source, **how})
    assert result.state == "FAILED" and reason in result.reason, result.reason


def test_split_stops_at_its_file_cap(storage, tmp_path, monkeypatch):
    from kflow.tasks import storage_split

    monkeypatch.setattr(storage_split, "MAX_FILES", 3)
    source = stored(storage, "rows.txt", b"1\n2\n3\n4\n")
    result, _ = run(storage, tmp_path, {"id": "split", "type": f"{CORE}.storage.Split", "from": source, "rows": 1})
    assert result.state == "FAILED" and "more than 3 files" in result.reason
    assert not list((tmp_path / "storage").rglob("split-*"))  # nothing half-stored


@pytest.mark.parametrize("data, expected", [
    (b"a\nb\nc\n", b"c\nb\na\n"),
    (b"a\nb\nc", b"c\nb\na\n"),
    (b"a\n\nb\r\n", b"b\n\na\n"),
    (b"", b""),
])
def test_reverse_writes_the_lines_last_first(storage, tmp_path, data, expected):
    result, _ = run(storage, tmp_path, {"id": "rev", "type": f"{CORE}.storage.Reverse", "from": stored(storage, "f.txt", data)})
    assert result.state == "SUCCESS", result.reason
    assert content(storage, result.outputs["uri"]) == expected and result.outputs["uri"].endswith(".tmp")


def test_reverse_reads_a_file_larger_than_its_chunk_backwards(storage, tmp_path):
    lines = [f"line {n:07d} " + "x" * (n % 50) for n in range(60_000)]  # ~3.5 MB: several 1 MiB chunks
    source = stored(storage, "big.txt", ("\n".join(lines) + "\n").encode())
    result, _ = run(storage, tmp_path, {"id": "rev", "type": f"{CORE}.storage.Reverse", "from": source, "separator": "\r\n"})
    assert content(storage, result.outputs["uri"]).decode().split("\r\n")[:-1] == lines[::-1]


ITEMS = b"\n".join(json.dumps(item).encode() for item in [
    {"id": 1, "customer": "ada", "total": 120}, {"id": 2, "customer": "grace", "total": 15},
    {"id": 3, "customer": "ada", "total": 0}, {"id": 4, "customer": "linus", "total": None},
]) + b"\n"


@pytest.mark.parametrize("props, kept, dropped", [
    ({"filterCondition": "{{ (total ?? 0) > 10 }}"}, [1, 2], 2),
    ({"filterCondition": "{{ (total ?? 0) > 10 }}", "filterType": "EXCLUDE"}, [3, 4], 2),
    ({"filterCondition": "{{ total }}"}, [1, 2], 2),  # 0 and null are false
    ({"filterCondition": "{{ total + 1 > 1 }}", "errorOrNullBehavior": "INCLUDE"}, [1, 2, 4], 1),
    ({"filterCondition": "{{ total + 1 > 1 }}", "errorOrNullBehavior": "EXCLUDE"}, [1, 2], 2),
    ({"filterCondition": "{{ value.customer == 'ada' }}"}, [1, 3], 2),
])
def test_filter_items_keeps_or_drops_matching_items(storage, tmp_path, props, kept, dropped):
    source = stored(storage, "orders.ion", ITEMS)
    result, _ = run(storage, tmp_path, {"id": "f", "type": f"{CORE}.storage.FilterItems", "from": source, **props})
    assert result.state == "SUCCESS", result.reason
    assert [json.loads(line)["id"] for line in content(storage, result.outputs["uri"]).splitlines()] == kept
    assert (result.outputs["processedItemsTotal"], result.outputs["droppedItemsTotal"]) == (4, dropped)


def test_filter_items_fails_on_an_expression_error_by_default_and_on_a_line_that_is_not_json(storage, tmp_path):
    source = stored(storage, "orders.ion", ITEMS)
    result, _ = run(storage, tmp_path, {"id": "f", "type": f"{CORE}.storage.FilterItems", "from": source, "filterCondition": "{{ total + 1 > 1 }}"})
    assert result.state == "FAILED" and "filterCondition: line 4:" in result.reason
    bad = stored(storage, "bad.ion", b'{"a": 1}\n{a: 2}\n')
    result, _ = run(storage, tmp_path, {"id": "f2", "type": f"{CORE}.storage.FilterItems", "from": bad, "filterCondition": "{{ true }}"})
    assert result.state == "FAILED" and "from: line 2 is not a JSON item" in result.reason


def test_deduplicate_items_keeps_the_last_item_of_each_key_in_file_order(storage, tmp_path):
    source = stored(storage, "orders.ion", ITEMS)
    result, _ = run(storage, tmp_path, {"id": "d", "type": f"{CORE}.storage.DeduplicateItems", "from": source, "expr": "{{ customer }}"})
    assert [json.loads(line)["id"] for line in content(storage, result.outputs["uri"]).splitlines()] == [2, 3, 4]
    assert {k: v for k, v in result.outputs.items() if k != "uri"} == {"numKeys": 3, "processedItemsTotal": 4, "droppedItemsTotal": 1}


def test_delete_removes_a_file_and_refuses_another_namespaces(storage, tmp_path):
    uri = stored(storage, "x.txt", b"x")
    result, _ = run(storage, tmp_path, {"id": "d", "type": "io.kestra.core.tasks.storages.Delete", "uri": uri})
    assert result.outputs == {"uri": uri, "deleted": True} and not storage.exists(uri)
    result, _ = run(storage, tmp_path, {"id": "d2", "type": f"{CORE}.storage.Delete", "uri": uri})
    assert result.state == "SUCCESS" and result.outputs["deleted"] is False
    result, _ = run(storage, tmp_path, {"id": "d3", "type": f"{CORE}.storage.Delete", "uri": uri, "errorOnMissing": True})
    assert result.state == "FAILED" and "does not exist" in result.reason
    other = storage.put_bytes(b"y", task_uri("other.team", "f", "e", "t", "r", "y.txt"))
    result, _ = run(storage, tmp_path, {"id": "d4", "type": f"{CORE}.storage.Delete", "uri": other})
    assert result.state == "FAILED" and "another namespace" in result.reason and storage.exists(other)


def test_purge_deletes_this_executions_files_only_and_keeps_attempt_logs(storage, tmp_path):
    mine = [stored(storage, "a.txt", b"a"), storage.put_bytes(b"i", "kestra:///company/team/flow/executions/exec-1/inputs/f/in.csv")]
    log = storage.put_bytes(b"log", WHERE.log_uri(1))
    other = storage.put_bytes(b"o", "kestra:///company/team/flow/executions/exec-2/tasks/t/r/o.txt")
    result, _ = run(storage, tmp_path, {"id": "p", "type": "io.kestra.core.tasks.storages.PurgeExecution"})
    assert sorted(result.outputs["uris"]) == sorted(mine)
    assert [storage.exists(u) for u in (*mine, log, other)] == [False, False, True, True]


def test_purge_lists_a_bucket_as_well(tmp_path):
    pytest.importorskip("boto3")
    from kflow.storage.s3 import S3Storage

    class Paginator:
        def paginate(self, Bucket, Prefix):  # noqa: N803 - boto3's names
            assert (Bucket, Prefix) == ("b", "pre/company/team/flow/executions/exec-1/")
            yield {"Contents": [{"Key": "pre/company/team/flow/executions/exec-1/tasks/t/r/a.txt"}]}

    class Client:
        def get_paginator(self, name):
            assert name == "list_objects_v2"
            return Paginator()

    found = list(S3Storage("b", "pre", client=Client()).list_prefix("kestra:///company/team/flow/executions/exec-1"))
    assert found == ["kestra:///company/team/flow/executions/exec-1/tasks/t/r/a.txt"]


@pytest.mark.parametrize("conditions, message, reason", [
    (["{{ 1 + 1 == 2 }}", "{{ 'x' }}", "{{ 1 }}"], None, None),
    (["{{ inputs.param == 'ok' }}", "{{ 1 + 1 == 3 }}", "{{ 0 }}", "{{ '' }}", "-0"], None, "4 of 5 assertions failed (conditions[1, 2, 3, 4])"),
    (["{{ false }}"], "bad data", "1 of 1 assertions failed (conditions[0]): bad data"),
])
def test_assert_fails_with_the_false_conditions_and_the_error_message(storage, tmp_path, conditions, message, reason):
    task = {"id": "a", "type": f"{CORE}.execution.Assert", "conditions": conditions, **({"errorMessage": message} if message else {})}
    result, log = run(storage, tmp_path, task, {"inputs": {"param": "ok"}})
    if reason is None:
        assert result.state == "SUCCESS", result.reason
    else:
        assert result.state == "FAILED" and result.reason.endswith(reason), result.reason
        assert log.count("ERROR Assertion conditions[") == len(json.loads(reason.split("conditions")[1].split(")")[0]))


def test_templated_task_renders_its_spec_then_runs_the_task_it_describes(storage, tmp_path):
    spec = "type: io.kestra.plugin.core.{{ inputs.kind }}\ncontent: '{{ inputs.text }} from {{ task.id }}'\n"
    result, _ = run(storage, tmp_path, {"id": "tpl", "type": f"{CORE}.templating.TemplatedTask", "spec": spec},
                    {"inputs": {"kind": "storage.Write", "text": "hi"}, "task": {"id": "tpl"}})
    assert result.state == "SUCCESS", result.reason
    assert content(storage, result.outputs["uri"]) == b"hi from tpl"


@pytest.mark.parametrize("spec, reason", [
    ("type: io.kestra.plugin.core.flow.Sequential\ntasks: []", "cannot be templated; only a runnable task can"),
    ("type: io.kestra.plugin.core.templating.TemplatedTask\nspec: x", "cannot be templated"),
    ("type: io.kestra.plugin.core.nope.Nope", "spec.type: unknown task type"),
    ("just text", "must render to a task definition"),
    ("type: [unclosed", "not valid YAML"),
    ("type: io.kestra.plugin.core.debug.Return\nformatt: x", "formatt"),
])
def test_templated_task_refuses_a_spec_that_is_not_one_runnable_task(storage, tmp_path, spec, reason):
    result, _ = run(storage, tmp_path, {"id": "tpl", "type": f"{CORE}.templating.TemplatedTask", "spec": spec})
    assert result.state == "FAILED" and reason in result.reason, result.reason
