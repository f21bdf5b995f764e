"""One watch on Executions per UI process, fanned out to every browser tab by server-sent events.

A thread lists the Executions (in pages), then watches from that list's resourceVersion,
re-listing when the watch expires (410) or drops. It keeps one small `ExecutionSummary` per
Execution (not the objects: a status can hold thousands of task runs), which is what the
executions list and the dashboard read, and tells each subscriber (an asyncio queue) what
changed. However many tabs are open, the API server sees one watch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from kflow.ui.views import ExecutionSummary, execution_summary

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "kflow.io", "v1alpha1", "executions"
PAGE = 50  # Executions per list request while (re)filling the cache: each holds its whole status, keep pages small
WATCH_SECONDS = 240
QUEUE_LIMIT = 2000  # messages waiting for one slow tab before it is told to reload instead


def release_freed_memory() -> None:
    """Give the pages' parsed JSON back to the system (glibc keeps freed arenas otherwise)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class Subscriber:
    """One SSE connection: a queue on the server's event loop, and the namespaces it may see."""

    def __init__(self, loop: asyncio.AbstractEventLoop, namespaces: set[str] | None):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self.namespaces = namespaces  # None: all that the hub sees

    def offer(self, message: dict[str, Any]) -> None:
        """From any thread: queue `message`, or a `reset` when the tab fell too far behind."""
        def put() -> None:
            try:
                self.queue.put_nowait(message)
            except asyncio.QueueFull:
                while not self.queue.empty():
                    self.queue.get_nowait()
                self.queue.put_nowait({"type": "reset"})

        self.loop.call_soon_threadsafe(put)


class WatchHub:
    def __init__(self, api_client, namespace: str | None):
        self.api_client = api_client
        self.namespace = namespace  # None: every namespace
        self.summaries: dict[tuple[str, str], ExecutionSummary] = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.error: str | None = None
        self.subscribers: set[Subscriber] = set()
        self.watches_started = 0  # for tests and /healthz: one per (re)connect, never one per tab
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kflow-ui-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    async def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError(self.error or "the executions are still being listed")
            await asyncio.sleep(0.05)

    # -- reading ------------------------------------------------------------------------------------
    def snapshot(self) -> list[ExecutionSummary]:
        with self.lock:
            return list(self.summaries.values())

    def subscribe(self, subscriber: Subscriber) -> None:
        with self.lock:
            self.subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self.lock:
            self.subscribers.discard(subscriber)

    # -- the watch ----------------------------------------------------------------------------------
    def _api(self):
        from kubernetes import client

        return client.CustomObjectsApi(self.api_client)

    def _list(self) -> str:
        """Fill the cache from scratch; the resourceVersion to watch from."""
        api = self._api()
        fresh: dict[tuple[str, str], ExecutionSummary] = {}
        token = None
        while True:
            kwargs: dict[str, Any] = {"limit": PAGE, "_request_timeout": (5, 120)}
            if token:
                kwargs["_continue"] = token
            if self.namespace:
                page = api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, **kwargs)
            else:
                page = api.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kwargs)
            for body in page.get("items") or []:
                summary = execution_summary(body)
                fresh[summary.key] = summary
            token = (page.get("metadata") or {}).get("continue")
            version = (page.get("metadata") or {}).get("resourceVersion")
            if not token:
                break
        with self.lock:
            self.summaries = fresh
        release_freed_memory()
        self.error = None
        self.ready.set()
        self._broadcast({"type": "reset"})
        return version

    def _run(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        version = None
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._list()
                api = self._api()
                self.watches_started += 1
                args = (GROUP, VERSION, self.namespace, PLURAL) if self.namespace else (GROUP, VERSION, PLURAL)
                fn = api.list_namespaced_custom_object if self.namespace else api.list_cluster_custom_object
                stream = watch.Watch().stream(fn, *args, resource_version=version, allow_watch_bookmarks=True,
                                              timeout_seconds=WATCH_SECONDS, _request_timeout=(5, WATCH_SECONDS + 30))
                for event in stream:
                    if self._stop.is_set():
                        return
                    kind, body = event["type"], event["object"]
                    if kind == "ERROR":
                        version = None  # 410 Gone: list again
                        break
                    version = (body.get("metadata") or {}).get("resourceVersion") or version
                    if kind == "BOOKMARK":
                        continue
                    self._apply(kind, body)
            except ApiException as err:
                if err.status == 410:
                    version = None
                    continue
                self.error = f"watching executions: HTTP {err.status} {err.reason}"
                log.warning("%s", self.error)
                version = None
                self._stop.wait(2)
            except Exception as err:  # a dropped connection: resume from the last version seen
                self.error = f"watching executions: {err}"
                log.warning("%s", self.error)
                self._stop.wait(1)

    def _apply(self, kind: str, body: dict[str, Any]) -> None:
        summary = execution_summary(body)
        with self.lock:
            if kind == "DELETED":
                self.summaries.pop(summary.key, None)
            else:
                self.summaries[summary.key] = summary
        self._broadcast({"type": "deleted" if kind == "DELETED" else "execution", "execution": summary.model_dump()})

    def _broadcast(self, message: dict[str, Any]) -> None:
        with self.lock:
            subscribers = list(self.subscribers)
        namespace = (message.get("execution") or {}).get("namespace")
        for subscriber in subscribers:
            if namespace is None or subscriber.namespaces is None or namespace in subscriber.namespaces:
                subscriber.offer(message)
