"""A runner pod's log, kept in a ConfigMap before the operator deletes the pod.

With no internal storage configured (the chart's default), a collected pod took its log with
it. The operator now copies each finished pod's log, bounded, into a ConfigMap named after the
pod (gzip in `binaryData`, one key per container, the pod's kflow labels, owned by the
Execution so it goes with it); `kflow logs` reads it once the pod is gone. Bounded: the first
HEAD_BYTES and the last TAIL_BYTES of each container's log with an "… N bytes omitted …" line
between, so a task printing 100 MB costs the API server ~200 KiB and the operator a stream it
reads in chunks, never the whole log in memory.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable

log = logging.getLogger(__name__)

HEAD_BYTES = 128 * 1024
TAIL_BYTES = 64 * 1024
# Past this many bytes read, the rest of a log is not streamed: its end comes from `tailLines`.
# The kubelet rotates container logs at 10 MiB by default, so this is rarely reached.
SCAN_LIMIT = 256 * 1024 * 1024
CHUNK = 64 * 1024
KEY_SUFFIX = ".log.gz"
# Copied from the pod, so `kubectl get configmaps -l kflow.io/execution=X` lists an execution's logs.
_LABEL_PREFIXES = ("kflow.io/", "app.kubernetes.io/managed-by")


class BoundedLog:
    """The first `head` bytes and the last `tail` bytes of a byte stream of any length.

    Memory stays below head + 2 * tail whatever is fed; `render()` joins both parts with a
    line saying how many bytes were left out, each part cut at a line boundary.
    """

    def __init__(self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES):
        self.head_size, self.tail_size = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.exact = True  # False once the middle was skipped unread (SCAN_LIMIT)

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_size - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > 2 * self.tail_size:  # keep one byte more: does the tail start a line?
                del self.tail[: len(self.tail) - self.tail_size - 1]

    def replace_tail(self, tail: bytes) -> None:
        """The end of a log whose middle was not read: the omitted count becomes a lower bound."""
        self.tail = bytearray(tail[-self.tail_size:])
        self.exact = False

    def render(self) -> bytes:
        kept = bytes(self.tail)
        tail, before = kept[-self.tail_size:], kept[-self.tail_size - 1: -self.tail_size]
        omitted = self.total - len(self.head) - len(tail)
        if omitted <= 0 and self.exact:
            return bytes(self.head) + tail
        head = bytes(self.head)
        cut = head.rfind(b"\n") + 1
        if cut:  # end the head at a line's end, start the tail at a line's start
            omitted, head = omitted + len(head) - cut, head[:cut]
        start = tail.find(b"\n") + 1 if before != b"\n" else 0
        if 0 < start < len(tail):
            omitted, tail = omitted + start, tail[start:]
        if not head.endswith(b"\n"):
            head += b"\n"
        marker = f"… {omitted:,} bytes omitted …" if self.exact else f"… at least {omitted:,} bytes omitted …"
        return head + marker.encode() + b"\n" + tail


def bounded_log(chunks: Iterable[bytes], head: int = HEAD_BYTES, tail: int = TAIL_BYTES) -> bytes:
    """The head and tail of a log given as chunks, with the omission marker (see BoundedLog)."""
    bounded = BoundedLog(head, tail)
    for chunk in chunks:
        bounded.feed(chunk)
    return bounded.render()


def config_map(pod: dict[str, Any], logs: dict[str, bytes]) -> dict[str, Any]:
    """The ConfigMap keeping a pod's logs (container name -> bounded log): same name as the pod."""
    meta = pod["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "labels": {k: v for k, v in (meta.get("labels") or {}).items() if k.startswith(_LABEL_PREFIXES)},
            "annotations": {k: v for k, v in (meta.get("annotations") or {}).items() if k.startswith("kflow.io/")},
            "ownerReferences": meta.get("ownerReferences") or [],
        },
        "binaryData": {f"{name}{KEY_SUFFIX}": base64.b64encode(gzip.compress(text, 6)).decode() for name, text in logs.items()},
    }


def archived_logs(body: dict[str, Any]) -> dict[str, str]:
    """Container name -> log text of a ConfigMap made by `config_map` (task's container first)."""
    out = {}
    for key, value in sorted((body.get("binaryData") or {}).items(), key=lambda kv: kv[0] != f"task{KEY_SUFFIX}"):
        if key.endswith(KEY_SUFFIX):
            out[key.removesuffix(KEY_SUFFIX)] = gzip.decompress(base64.b64decode(value)).decode("utf-8", "replace")
    return out


class PodLogArchive:
    """Copies pods' logs into ConfigMaps, in threads of its own: a long log never blocks kopf's
    event loop, nor the API calls of reconciles (which use KubeApi's pool)."""

    def __init__(self, core, threads: int = 2):
        self.core = core  # kubernetes.client.CoreV1Api
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kflow-logs")

    async def keep(self, namespace: str, name: str) -> None:
        """Best effort, idempotent: a pod already kept, gone, or unreadable is left as it is."""
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._keep, namespace, name)
        except Exception as err:  # never stop a collection for a log
            log.warning("could not keep the log of pod %s/%s: %s", namespace, name, err)

    def _keep(self, namespace: str, name: str) -> None:
        """Read the pod and its logs, then create the ConfigMap; one kept already (by us before a
        restart, or another replica) answers 409. Answers are read as JSON, not as the client's
        model objects (whose timestamp parsing cost more CPU than the rest of the copy)."""
        from kubernetes.client.exceptions import ApiException

        try:
            response = self.core.read_namespaced_pod(name, namespace, _request_timeout=(5, 30), _preload_content=False)
        except ApiException as err:
            if err.status == 404:
                return
            raise
        body = json.loads(response.data)
        response.release_conn()
        logs = {}
        for container in body["spec"]["containers"]:
            text = self._read(namespace, name, container["name"])
            if text or container["name"] == "task":
                logs[container["name"]] = text
        try:
            created = self.core.create_namespaced_config_map(namespace, config_map(body, logs), _request_timeout=(5, 30), _preload_content=False)
            created.data  # noqa: B018 - read to its end: only then may its connection serve another request
            created.release_conn()
        except ApiException as err:
            if err.status != 409:
                raise

    def _read(self, namespace: str, pod: str, container: str) -> bytes:
        """One container's log, streamed through a BoundedLog; b"" when it never started."""
        from kubernetes.client.exceptions import ApiException

        bounded = BoundedLog()
        try:
            response = self.core.read_namespaced_pod_log(pod, namespace, container=container, _preload_content=False, _request_timeout=(5, 120))
        except ApiException as err:
            if err.status in (400, 404):  # never started (image pull failure, ...)
                return b""
            raise
        for chunk in response.stream(CHUNK):
            bounded.feed(chunk)
            if bounded.total >= SCAN_LIMIT:
                response.close()  # unread data: the connection cannot go back to the pool
                break
        else:
            response.release_conn()
            return bounded.render()
        # As many of the last lines as fit in TAIL_BYTES, judged by the lines read so far.
        line = max(1, len(bounded.tail) // max(1, bounded.tail.count(b"\n")))
        end = self.core.read_namespaced_pod_log(
            pod, namespace, container=container, tail_lines=max(1, TAIL_BYTES // line), limit_bytes=TAIL_BYTES,
            _preload_content=False, _request_timeout=(5, 60),
        )
        bounded.replace_tail(end.data)
        return bounded.render()
