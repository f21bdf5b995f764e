"""What the operator holds for one Execution between events, and the few ways it changes.

A `Tracked` record is made in one place (`first_seen`) and its engine state is dropped in one
place (`reload_from`): the next reconcile rebuilds it from the stored status. Everything else
the controller does to it goes through the named methods here, so following one execution's
record means reading this file.
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from kflow.engine import Engine, Event, ExecutionRun
from kflow.operator.resources import API_VERSION
from kflow.operator.status_archive import StatusArchive

Key = tuple[str, str]  # (kubernetes namespace, execution name)


@dataclass
class Tracked:
    """What the operator holds for one Execution between events."""

    meta: dict[str, Any]  # name, namespace, uid
    spec: dict[str, Any]
    resource_version: str
    status: dict[str, Any] | None  # the stored status, kept only until it is loaded
    step: int = 0  # status.step of the state held in `run`; -1: not loaded
    engine: Engine | None = None
    run: ExecutionRun | None = None
    events: list[Event] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None
    done: bool = False
    restarted: int = 0  # the spec.restart value acted on (status.restarted)
    resumed: int = 0  # the spec.resume value acted on (status.resumed)
    slot: tuple[str, str] | None = None  # (namespace, flow) whose concurrency slot it holds
    removed: set[str] = field(default_factory=set)  # status.removed: task runs a restart dropped
    archive: StatusArchive | None = None  # which finished task runs status.taskRuns still holds
    waiting: set[str] = field(default_factory=set)  # status.waiting when loaded: attempts with no pod yet (admission.py)
    writing: int = -1  # the step of our status write in flight: its watch event may come before the reply
    object_labels: dict[str, str] = field(default_factory=dict)  # metadata.labels as last seen
    secret_values: dict[str, str] | None = None  # SECRET inputs read from their Secret (secret_inputs.py); None: not yet
    secret_refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # input id -> (Secret, key), mounted in pods

    @classmethod
    def first_seen(cls, body: dict[str, Any]) -> Tracked:
        """The record of an Execution seen for the first time (or recreated under the same name)."""
        meta = body["metadata"]
        tracked = cls(meta={k: meta.get(k) for k in ("name", "namespace", "uid")}, spec=body.get("spec") or {},
                      resource_version=meta["resourceVersion"], status=body.get("status") or {}, step=-1)
        tracked._note(body)
        return tracked

    @property
    def key(self) -> Key:
        return self.meta["namespace"], self.meta["name"]

    def same_object(self, body: dict[str, Any]) -> bool:
        return self.meta.get("uid") == body["metadata"].get("uid")

    def observe(self, body: dict[str, Any]) -> bool:
        """Take in a watch event of the object; True when a reconcile should follow."""
        meta, status = body["metadata"], body.get("status") or {}
        if meta["resourceVersion"] == self.resource_version and self.run is not None:
            return False  # the echo of our own last write: nothing changed since, nothing to step
        self.spec = body.get("spec") or {}
        step = status.get("step", 0)
        if step >= self.step:  # an event older than our last write carries an older version
            self.resource_version = meta["resourceVersion"]
        if step > self.step and self.step >= 0 and step != self.writing:  # written by someone else: reload from it
            self.reload_from(status)
        self._note(body)
        return not self.done

    def _note(self, body: dict[str, Any]) -> None:
        status = body.get("status") or {}
        self.object_labels = body["metadata"].get("labels") or {}
        self.restarted = max(self.restarted, status.get("restarted") or 0)
        self.resumed = max(self.resumed, status.get("resumed") or 0)
        if self.done and self.wants("restart"):  # reopen from the final status
            self.reload_from(status)

    def refreshed(self, body: dict[str, Any]) -> None:
        """The object as read again after a conflict: rebuild from its status."""
        self.resource_version = body["metadata"]["resourceVersion"]
        self.spec = body.get("spec") or {}
        self.reload_from(body.get("status") or {})

    def reload_from(self, status: dict[str, Any]) -> None:
        """Drop the engine state: the next reconcile rebuilds it from `status`."""
        self.run, self.status, self.step, self.done = None, status, -1, False

    def adopt_stored(self, status: dict[str, Any]) -> None:
        """Before a load: what the stored status says was acted on (a write lost to a conflict is redone)."""
        self.step = status.get("step", 0)
        self.status = None
        self.restarted, self.resumed = status.get("restarted") or 0, status.get("resumed") or 0
        self.removed = set(status.get("removed") or ())
        self.waiting = set(status.get("waiting") or ())

    def running(self, engine: Engine, run: ExecutionRun, archive: StatusArchive, step: int | None = None) -> None:
        """Engine state held: a fresh start (step 0) or a load (the stored step, kept)."""
        self.engine, self.run, self.archive = engine, run, archive
        if step is not None:
            self.status, self.step = None, step

    def secrets_read(self, values: dict[str, str], refs: dict[str, tuple[str, str]]) -> None:
        """The SECRET inputs' values (for the engine) and references (for pods), read once per record:
        a reload keeps them, the status only shows ******."""
        self.secret_values, self.secret_refs = values, refs

    def wants(self, what: str) -> bool:
        """Has the user raised spec.restart / spec.resume past the value last acted on?"""
        acted = self.restarted if what == "restart" else self.resumed
        return int(self.spec.get(what) or 0) > acted

    def acted_on(self, what: str) -> int:
        """Record that spec.restart / spec.resume was acted on; the value for the status."""
        value = self.spec[what]
        if what == "restart":
            self.restarted = value
        else:
            self.resumed = value
        return value

    @contextmanager
    def writing_step(self) -> Iterator[int]:
        """While the status write of the next step is in flight: its watch event is ours, not foreign."""
        self.writing = self.step + 1
        try:
            yield self.writing
        finally:
            self.writing = -1

    def wrote(self, resource_version: str, step: int | None = None, labels: dict[str, str] | None = None) -> None:
        """Our write succeeded: its resource version (and step, labels) are what the object has now."""
        self.resource_version = resource_version
        if step is not None:
            self.step = step
        if labels is not None:
            self.object_labels = labels

    def dropped(self, taskrun_ids: Iterable[str]) -> None:
        """A restart removed these task runs (status.removed); the archive forgets them."""
        self.removed |= set(taskrun_ids)
        for taskrun_id in taskrun_ids:
            self.archive.pending.pop(taskrun_id, None)

    def wake_at(self, delay: float, kick: Callable[[], None]) -> None:
        """One timer at a time: a later WakeAt replaces an earlier one."""
        self.cancel_timer()
        self.timer = asyncio.get_running_loop().call_later(delay, kick)

    def cancel_timer(self) -> None:
        if self.timer:
            self.timer.cancel()

    def ended(self, step: int | None = None) -> None:
        """The execution ended (at `step`, when it ended before it started): nothing more to step until a restart reopens it."""
        self.done, self.run, self.engine = True, None, None
        if step is not None:
            self.step = step
        self.cancel_timer()

    def involved(self) -> dict[str, Any]:
        """The object an Event is about."""
        return {"apiVersion": API_VERSION, "kind": "Execution", "metadata": self.meta}


def pod_owner(pod: dict[str, Any]) -> Key | None:
    """The Execution that controls a pod, if any."""
    meta = pod.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == "Execution" and ref.get("controller"):
            return meta.get("namespace"), ref.get("name")
    return None
