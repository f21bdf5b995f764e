"""ForEachItem: split a stored file into batches and run one Subflow execution per batch.

As in Kestra, the task is a flowable over three tasks of its own, each a task run:
`<id>_split` (a runner splits the file, stores each batch, outputs `splits` and
`numberOfBatches`), `<id>_items` (the engine starts one child execution per batch, rendering
`inputs` with `taskrun.items` = the batch's URI and `taskrun.iteration` = its index; its
outputs count the children by state) and `<id>_merge` (a runner gathers the children's flow
outputs into one file, output `subflowOutputs`). The batch count is capped (MAX_BATCHES).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kflow.engine.batches import MAX_BATCHES, batch_ended, batch_name, start_batches, waiting_children
from kflow.execution import State
from kflow.flow.node import ChildSpec, Node, resolve_with_errors, sequence_next
from kflow.flow.flowable import FlowableTask
from kflow.flow.task import ChildExecution, RunnableTask, TaskList

if TYPE_CHECKING:
    from kflow.engine.events import AttemptEnded, StartSubflow
    from kflow.engine.index import ExecutionIndex
    from kflow.execution import TaskRun
    from kflow.runner.context import RunContext

_INTERNAL = "io.kestra.plugin.core.flow.ForEachItem$"
_BYTES = re.compile(r"^\s*(\d+)\s*([KMGT]?B?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3, "T": 1024**4, "TB": 1024**4}


class Batch(BaseModel):
    """How the items are split (Kestra's order: `regexPattern`, `bytes`, `partitions`, `rows`)."""

    model_config = ConfigDict(extra="forbid")

    rows: int | str | None = Field(1, description="Items (lines) per batch.")
    bytes: str | None = Field(None, description="Batches of about this size, for example 10MB; cut at line ends.")
    partitions: int | str | None = Field(None, description="This many batches, items dealt out in turn.")
    separator: str = Field("\n", description="Written after each item in a batch file.")
    regexPattern: str | None = Field(None, description="One batch per value of the pattern's first group; lines that do not match are dropped.")


def parse_bytes(text: str) -> int:
    """Micronaut's readable sizes as Kestra reads `batch.bytes`: 512, 1KB, 10MB (powers of 1024)."""
    match = _BYTES.match(str(text))
    if not match:
        raise ValueError(f"batch.bytes: {text!r} is not a size such as 1024, 512KB or 10MB")
    size = int(match.group(1)) * _UNITS[match.group(2).upper()]
    if size <= 0:
        raise ValueError("batch.bytes must be positive")
    return size


def split_lines(lines: list[str], batch: Batch) -> list[list[str]]:
    """The batches of `lines`, as Kestra's StorageService.split makes them."""
    if batch.regexPattern is not None:
        pattern, groups = re.compile(batch.regexPattern), {}
        for line in lines:
            match = pattern.search(line)
            if match and match.groups():
                groups.setdefault(match.group(1), []).append(line)
        return list(groups.values())
    if batch.bytes is not None:
        limit, sep = parse_bytes(batch.bytes), len(batch.separator.encode())
        out: list[list[str]] = []
        size = 0
        for line in lines:
            if not out or size >= limit:
                out.append([])
                size = 0
            out[-1].append(line)
            size += len(line.encode()) + sep
        return out
    if batch.partitions is not None:
        count = int(batch.partitions)
        if count < 1:
            raise ValueError("batch.partitions must be at least 1")
        parts: list[list[str]] = [[] for _ in range(count)]
        for i, line in enumerate(lines):
            parts[i % count].append(line)
        return [part for part in parts if part]
    rows = int(batch.rows if batch.rows is not None else 1)
    if rows < 1:
        raise ValueError("batch.rows must be at least 1")
    return [lines[i : i + rows] for i in range(0, len(lines), rows)]



class ForEachItemSplit(RunnableTask):
    """`<id>_split`: read the items file, store each batch, list them in `splits`."""

    type_name: ClassVar[str] = f"{_INTERNAL}ForEachItemSplit"

    items: str = Field(description="A kestra:// URI of the items, one per line.")
    batch: Batch = Field(default_factory=Batch)

    def run(self, ctx: RunContext) -> dict[str, Any]:
        uri = str(self.items).strip()
        if not uri.startswith("kestra://"):
            raise ValueError(f"items: unable to split the items from {uri!r}: not an internal storage URI (kestra://...)")
        with ctx.open_uri(uri) as stream:
            lines = stream.read().decode("utf-8").splitlines()
        batches = split_lines(lines, self.batch)
        if len(batches) > MAX_BATCHES:
            raise ValueError(f"items: {len(batches)} batches, more than the {MAX_BATCHES} one ForEachItem may start; make batch.rows larger")
        name = uri.rsplit("/", 1)[-1]
        extension = name[name.rindex("."):] if "." in name else ".tmp"
        uris = [ctx.storage.put_bytes("".join(line + self.batch.separator for line in part).encode(), ctx.output_uri(batch_name(i, extension)))
                for i, part in enumerate(batches)]
        splits = ctx.storage.put_bytes("\n".join(uris).encode(), ctx.output_uri("splits.txt"))
        ctx.log.info(f"{len(lines)} items in {len(batches)} batches")
        return {"splits": splits, "numberOfBatches": len(batches), "extension": extension}


class ForEachItemExecutable(RunnableTask):
    """`<id>_items`: one child execution per batch, started by the engine (kflow.engine.batches)."""

    type_name: ClassVar[str] = f"{_INTERNAL}ForEachItemExecutable"
    unrendered = RunnableTask.unrendered | {"namespace", "flowId", "inputs", "labels", "split"}

    split: str = Field(description="The id of the split task whose batches this starts.")
    namespace: str
    flowId: str
    inputs: dict[str, Any] | None = None
    labels: dict[str, Any] | list[dict[str, Any]] | None = None
    wait: bool = True
    transmitFailed: bool = True
    inheritLabels: bool = False

    def child_execution(self) -> ChildExecution:
        return ChildExecution(self.namespace, self.flowId, self.inputs or {}, self.labels or {}, self.wait)

    def attempt_state(self, reported: State) -> State:
        return State.SUCCESS if reported == State.FAILED and not self.transmitFailed else reported

    def batch_children(self, index: ExecutionIndex, taskrun: TaskRun, attempt: int, context: dict[str, Any],
                       namespace: str, flow_id: str, labels: dict[str, str]) -> list[StartSubflow]:
        return start_batches(index, taskrun, self, attempt, context, namespace, flow_id, labels)

    def batch_child_ended(self, index: ExecutionIndex, taskrun: TaskRun, event: AttemptEnded) -> AttemptEnded | None:
        # An end without a batch is the whole attempt's (no batches to start, or they could not start).
        return event if event.iteration is None else batch_ended(index, taskrun, self, event)

    def waiting_batches(self, taskrun: TaskRun) -> list[int]:
        return waiting_children(taskrun)

    def run(self, ctx):  # pragma: no cover - the engine starts the children, never a runner
        raise RuntimeError("ForEachItem batches are started by the engine, not run by a runner")


class ForEachItemMergeOutputs(RunnableTask):
    """`<id>_merge`: the children's flow outputs, one JSON line per batch, in one file."""

    type_name: ClassVar[str] = f"{_INTERNAL}ForEachItemMergeOutputs"

    results: Any = Field(None, description="The items task's `executions`, rendered (set by ForEachItem).")

    def run(self, ctx: RunContext) -> dict[str, Any] | None:
        results = json.loads(self.results) if isinstance(self.results, str) else self.results
        lines = [json.dumps(entry.get("outputs"), separators=(",", ":")) for entry in results or [] if entry and entry.get("outputs")]
        if not lines:
            return None  # no child has flow outputs: Kestra gives no file either
        return {"subflowOutputs": ctx.storage.put_bytes(("\n".join(lines) + "\n").encode(), ctx.output_uri("outputs.jsonl"))}


class ForEachItem(FlowableTask):
    """Kestra's ForEachItem: its three tasks, one after another, like a Sequential."""

    task_lists = ("tasks", "errors")
    unrendered = FlowableTask.unrendered | {"items", "batch", "namespace", "flowId", "inputs", "labels"}

    items: str = Field(description="The items: a kestra:// URI (an output file, a FILE input), one item per line.")
    batch: Batch = Field(default_factory=Batch, description="How to split the items into batches.")
    namespace: str = Field(description="The namespace of the flow run for each batch.")
    flowId: str = Field(description="The id of the flow run for each batch.")
    revision: int | None = Field(None, description="Accepted for Kestra compatibility; the current flow runs.")
    inputs: dict[str, Any] | None = Field(None, description="The child's inputs; `{{ taskrun.items }}` is the batch's URI, `{{ taskrun.iteration }}` its index.")
    labels: dict[str, Any] | list[dict[str, Any]] | None = Field(None, description="Labels of each child execution.")
    wait: bool = Field(True, description="Wait for the children to end; false: done once they started.")
    transmitFailed: bool = Field(True, description="Fail when a child fails (only with wait).")
    inheritLabels: bool = Field(False, description="Give each child this execution's labels too.")
    scheduleDate: str | None = Field(None, description="Accepted for Kestra compatibility; children start at once.")
    restartBehavior: str | None = Field(None, description="Accepted for Kestra compatibility; a restart starts the failed batches' task anew.")
    # Kestra's getTasks(): made from the properties above, never written in a flow.
    tasks: TaskList | None = Field(None, exclude=True, description="Set by kflow: the split, items and merge tasks.")

    @model_validator(mode="after")
    def _own_tasks(self) -> ForEachItem:
        if self.tasks is None:
            split_id, items_id = f"{self.id}_split", f"{self.id}_items"
            self.tasks = [
                ForEachItemSplit(id=split_id, type=ForEachItemSplit.type_name, items=self.items, batch=self.batch),
                ForEachItemExecutable(id=items_id, type=ForEachItemExecutable.type_name, split=split_id, namespace=self.namespace, flowId=self.flowId,
                                      inputs=self.inputs, labels=self.labels, wait=self.wait, transmitFailed=self.transmitFailed,
                                      inheritLabels=self.inheritLabels),
                ForEachItemMergeOutputs(id=f"{self.id}_merge", type=ForEachItemMergeOutputs.type_name,
                                        results=f"{{{{ outputs['{items_id}'].executions ?? [] }}}}"),
            ]
        return self

    def next_children(self, node: Node) -> list[ChildSpec]:
        return sequence_next(self.tasks, node)

    def resolve_state(self, node: Node) -> State | None:
        return resolve_with_errors(self.tasks, self.errors, node)
