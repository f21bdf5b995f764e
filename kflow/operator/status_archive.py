"""Compaction of an Execution's status: finished task runs move into sealed, compressed chunks.

An Execution is stored whole in etcd (about 1.5 MiB at most) and every status write sends it
whole to every watcher, so a loop of thousands of task runs cannot keep them all as plain
JSON. Live task runs, and fewer than `chunk_size` finished ones, stay in `status.taskRuns`
(readable with kubectl); once `chunk_size` finished ones gather, they are sealed into
`status.archive["<n>"]`: base64 of gzip of their JSON list. A run is sealed only after a
write showed it finished in `taskRuns`, so a watcher of the object sees every transition.
A chunk is written once, by the same merge patch that sets those task runs to null in
`taskRuns`, so each write only ADDS a key (append-only: O(change), amortized), and no state
exists in which a task run is in neither place: a crash between writes loses nothing.

One exception keeps a single write bounded: a step that changes more than `BURST` task runs
(a loop whose iterations end without pods, hundreds at once) seals its new finished runs into
chunks in that same write, unseen in `taskRuns`.

Reading: chunks in key order, later ones winning, then `taskRuns` on top (a task run changed
after it was archived, by a restart, is written to `taskRuns` again and wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Mapping

from kflow.execution.status import (  # noqa: F401 (the chunk format and reading are the status contract's)
    ArchiveError,
    chunk_keys as _chunk_keys,
    decode_chunk,
    encode_chunk,
    is_terminal,
    taskruns_by_id,
)

CHUNK_SIZE = 50  # small: finished runs wait in plain JSON until a chunk's worth has gathered
BURST = 200  # changed task runs in one step beyond which its finished ones are sealed at once


@dataclass
class StatusDelta:
    """What one status write carries for task runs; `StatusArchive.commit` it once written."""

    taskRuns: dict[str, dict[str, Any] | None]
    archive: dict[str, str]
    terminal: dict[str, dict[str, Any]] = field(default_factory=dict)
    leaving: set[str] = field(default_factory=set)
    sealed: list[str] = field(default_factory=list)

    def fragment(self) -> dict[str, Any]:
        """The status keys to merge into the patch."""
        return {"taskRuns": self.taskRuns, **({"archive": self.archive} if self.archive else {})}


class StatusArchive:
    """Which finished task runs still sit in `status.taskRuns`, and the next chunk's key.

    Holds at most `chunk_size` task runs (those of `taskRuns` that are finished), never the
    whole execution: memory and work per write follow the change.
    """

    def __init__(self, chunk_size: int = CHUNK_SIZE, next_key: int = 0, pending: dict[str, dict[str, Any]] | None = None):
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        self.chunk_size = chunk_size
        self.next_key = next_key
        self.pending: dict[str, dict[str, Any]] = pending or {}  # insertion-ordered: oldest first

    @classmethod
    def from_status(cls, status: Mapping[str, Any], chunk_size: int = CHUNK_SIZE) -> StatusArchive:
        """Rebuilt from what is stored, as after a restart: nothing is remembered but the status."""
        keys = _chunk_keys(status.get("archive") or {})
        done = [tr for tr in (status.get("taskRuns") or {}).values() if tr and is_terminal(tr)]
        done.sort(key=lambda tr: (_last_date(tr), tr["id"]))
        return cls(chunk_size, int(keys[-1]) + 1 if keys else 0, {tr["id"]: tr for tr in done})

    def update(self, changed: Mapping[str, dict[str, Any]]) -> StatusDelta:
        """The task runs part of the next status write, given the task runs this step changed.

        Changes nothing here: call `commit` once the write succeeded.
        """
        terminal = {i: tr for i, tr in changed.items() if is_terminal(tr)}
        leaving = {i for i, tr in changed.items() if i in self.pending and i not in terminal}
        # Only runs already written finished are sealed: each change shows in `taskRuns` once,
        # so whoever watches the object sees every transition.
        sealable = len(self.pending) - sum(1 for i in changed if i in self.pending)
        chunks = sealable // self.chunk_size
        taskruns: dict[str, dict[str, Any] | None] = dict(changed)
        archive: dict[str, str] = {}
        sealed: list[str] = []
        if chunks:
            ordered = islice(((i, tr) for i, tr in self.pending.items() if i not in changed), chunks * self.chunk_size)
            batch: list[dict[str, Any]] = []
            for taskrun_id, taskrun in ordered:
                batch.append(taskrun)
                sealed.append(taskrun_id)
                taskruns[taskrun_id] = None
                if len(batch) == self.chunk_size:
                    archive[str(self.next_key + len(archive))] = encode_chunk(batch)
                    batch = []
        if len(changed) > BURST:  # a burst: as plain JSON this one patch could pass the size limit
            fresh = [(i, tr) for i, tr in terminal.items() if i not in self.pending]
            whole = len(fresh) - len(fresh) % self.chunk_size
            for start in range(0, whole, self.chunk_size):
                batch = fresh[start : start + self.chunk_size]
                archive[str(self.next_key + len(archive))] = encode_chunk([tr for _, tr in batch])
                for taskrun_id, _ in batch:
                    del taskruns[taskrun_id]
                    del terminal[taskrun_id]
        return StatusDelta(taskruns, archive, terminal, leaving, sealed)

    def commit(self, delta: StatusDelta) -> None:
        """The write of `delta` succeeded: remember what `taskRuns` now holds."""
        for taskrun_id in delta.leaving:
            self.pending.pop(taskrun_id, None)
        self.pending.update(delta.terminal)
        for taskrun_id in delta.sealed:
            self.pending.pop(taskrun_id, None)
        self.next_key += len(delta.archive)


def _last_date(taskrun: Mapping[str, Any]) -> str:
    histories = (taskrun.get("state") or {}).get("histories") or [{}]
    return str(histories[-1].get("date") or "")
