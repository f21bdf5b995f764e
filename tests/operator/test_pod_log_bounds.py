"""The bounded head + tail of a pod's log kept in a ConfigMap (kflow.operator.pod_logs): pure, no cluster."""

from __future__ import annotations

import json
import os

from kflow.operator.pod_logs import BoundedLog, archived_logs, bounded_log, config_map


def chunks(data: bytes, size: int):
    return (data[i:i + size] for i in range(0, len(data), size))


def test_a_short_log_is_kept_whole_whatever_the_chunks():
    data = b"".join(f"line {i}\n".encode() for i in range(100))
    for size in (1, 7, 4096):
        assert bounded_log(chunks(data, size), head=1000, tail=500) == data
    assert bounded_log([], head=10, tail=10) == b""


def test_a_long_log_keeps_its_first_and_last_lines_and_counts_the_rest():
    lines = [f"line {i:06d}\n".encode() for i in range(100_000)]  # 12 bytes each
    data = b"".join(lines)
    out = bounded_log(chunks(data, 4096), head=1200, tail=600)
    text = out.decode()
    head_part, rest = text.split("… ", 1)
    count, tail_part = rest.split(" bytes omitted …\n", 1)
    assert head_part == "".join(l.decode() for l in lines[:100])  # cut at a line's end
    assert tail_part == "".join(l.decode() for l in lines[-50:])
    assert int(count.replace(",", "")) == len(data) - len(head_part) - len(tail_part)


def test_memory_stays_bounded_and_a_line_longer_than_the_tail_is_cut():
    bounded = BoundedLog(head=100, tail=50)
    for _ in range(10_000):
        bounded.feed(b"y" * 1000)  # no newline at all
        assert len(bounded.head) + len(bounded.tail) <= 100 + 2 * 50
    out = bounded.render()
    assert out == b"y" * 100 + b"\n" + f"… {10_000_000 - 150:,} bytes omitted …\n".encode() + b"y" * 50


def test_a_tail_read_separately_makes_the_count_a_lower_bound():
    bounded = BoundedLog(head=10, tail=10)
    bounded.feed(b"a" * 9 + b"\n" + b"b" * 100)
    bounded.replace_tail(b"x\nlast one\n")
    assert bounded.render() == b"a" * 9 + b"\n" + "… at least 91 bytes omitted …\n".encode() + b"last one\n"


def test_the_configmap_holds_every_container_compressed_and_under_the_object_limit():
    pod = {"metadata": {
        "name": "ex-t-1234-0", "namespace": "ns",
        "labels": {"kflow.io/execution": "ex", "kflow.io/attempt": "0", "app.kubernetes.io/managed-by": "kflow", "other": "x"},
        "annotations": {"kflow.io/taskrun-id": "abc", "unrelated": "y"},
        "ownerReferences": [{"apiVersion": "kflow.io/v1alpha1", "kind": "Execution", "name": "ex", "uid": "u"}],
    }}
    noise = os.urandom(20_000_000)  # incompressible: the worst case for the object's size
    logs = {"task": bounded_log(chunks(noise, 65536)), "script": bounded_log(chunks(noise, 65536))}
    body = config_map(pod, logs)
    assert body["metadata"]["name"] == "ex-t-1234-0"
    assert "other" not in body["metadata"]["labels"] and body["metadata"]["labels"]["kflow.io/attempt"] == "0"
    assert body["metadata"]["annotations"] == {"kflow.io/taskrun-id": "abc"}
    assert body["metadata"]["ownerReferences"][0]["kind"] == "Execution"
    assert len(json.dumps(body)) < 1024 * 1024  # the API server's limit per object
    back = archived_logs(body)
    assert list(back) == ["task", "script"]
    assert back["task"] == logs["task"].decode("utf-8", "replace")
