"""An Execution's task runs for the UI's paged task list, without decoding every archived chunk each time.

Archived chunks are sealed (the operator never rewrites one), so each is read once into a compact
index (id, task, parent, state, creation instant, iteration, which chunk), kept in a bounded LRU
keyed by the chunk's text; a page then decodes only the chunks its own rows are in. A 5,000-run
execution that changes state costs its live task runs and a few chunks, not 100 chunks of JSON.
Same runs, same order as `kflow.execution.status.taskruns_from_status` (the contract's reader).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any, NamedTuple

from kflow.execution.states import TERMINAL_STATES
from kflow.execution.status import chunk_keys, created_at, creation_key, decode_chunk

CACHE_RUNS = 20_000  # index entries kept (~0.4 KiB each)


class Entry(NamedTuple):
    id: str
    task: str
    parent: str | None
    state: str
    created: datetime
    ended: datetime | None  # its last state's date once final
    iteration: int | None
    chunk: str | None  # the archive chunk's key it was read from; None for a live one (status.taskRuns)


def _entry(run: dict[str, Any], chunk: str | None) -> Entry:
    state = run.get("state") or {}
    current = state.get("current") or "CREATED"
    return Entry(run["id"], run.get("taskId") or "?", run.get("parentTaskRunId"), current, created_at(run),
                 _ended(state) if current in TERMINAL_STATES else None, run.get("iteration"), chunk)


def _ended(state: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(state["histories"][-1]["date"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None


class ChunkIndex:
    """Compact entries of sealed chunks, by the chunk's text (LRU, at most `limit` entries in all)."""

    def __init__(self, limit: int = CACHE_RUNS):
        self.limit = limit
        self._chunks: OrderedDict[str, tuple[Entry, ...]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def entries(self, text: str, key: str) -> tuple[Entry, ...]:
        with self._lock:
            found = self._chunks.get(text)
            if found is not None and found[:1] and found[0].chunk == key:
                self._chunks.move_to_end(text)
                return found
        found = tuple(_entry(run, key) for run in decode_chunk(text, key))
        with self._lock:
            if text not in self._chunks:
                self._chunks[text] = found
                self._size += len(found)
            while self._size > self.limit and len(self._chunks) > 1:
                _, dropped = self._chunks.popitem(last=False)
                self._size -= len(dropped)
        return found


INDEX = ChunkIndex()


def index(status: dict[str, Any], order: dict[str, int], cache: ChunkIndex = INDEX) -> list[Entry]:
    """Every task run of a stored status as an entry, in creation order (archive, then live ones over it)."""
    by_id: dict[str, Entry] = {}
    archive = status.get("archive") or {}
    for key in chunk_keys(archive):
        for entry in cache.entries(archive[key], key):
            by_id[entry.id] = entry
    for taskrun_id, run in (status.get("taskRuns") or {}).items():
        if run:
            by_id[taskrun_id] = _entry({**run, "id": run.get("id") or taskrun_id}, None)
    for taskrun_id in status.get("removed") or ():
        by_id.pop(taskrun_id, None)
    return sorted(by_id.values(), key=lambda e: creation_key(e.created, e.task, e.iteration, order))


def full_runs(status: dict[str, Any], entries: list[Entry]) -> dict[str, dict[str, Any]]:
    """The stored task runs of `entries`, by id: live ones as they are, archived ones from their chunks only."""
    out: dict[str, dict[str, Any]] = {}
    live = status.get("taskRuns") or {}
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        if entry.chunk is None:
            out[entry.id] = live[entry.id]
        else:
            wanted.setdefault(entry.chunk, set()).add(entry.id)
    archive = status.get("archive") or {}
    for key, ids in wanted.items():
        for run in decode_chunk(archive[key], key):
            if run["id"] in ids:
                out[run["id"]] = run
    return out


def by_task(entries: list[Entry]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One stored task run per task id standing for all its runs (first start to last end, in the
    state they sum up to), and how many runs each stands for: what a Gantt of thousands draws,
    built from the index alone (no chunk decoded, no run typed)."""
    from kflow.gantt import rollup_state

    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.task, []).append(entry)
    out = []
    for task, found in groups.items():
        state = rollup_state(e.state for e in found)
        start = min(e.created for e in found)
        end = max((e.ended or e.created for e in found), default=start) if state.terminal else start
        out.append({"id": found[0].id, "taskId": task, "parentTaskRunId": found[0].parent, "attempts": [],
                    "state": {"current": state.value, "histories": [{"state": "CREATED", "date": start.isoformat()},
                                                                    {"state": state.value, "date": max(end, start).isoformat()}]}})
    return out, {task: len(found) for task, found in groups.items()}
