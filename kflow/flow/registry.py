"""The one registry of task types: each canonical Kestra name, its older names, and its model.

Models are imported only when a flow uses their type, so the runner starts fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kflow.flow.task import Task


@dataclass(frozen=True)
class TaskType:
    name: str
    aliases: tuple[str, ...]
    target: str  # "module:Class"


_CORE = "io.kestra.plugin.core"
_OLD = "io.kestra.core.tasks"
_FS = "io.kestra.plugin.fs"
_S3 = "io.kestra.plugin.aws.s3"
_SCRIPTS = "io.kestra.plugin.scripts"

TASK_TYPES: tuple[TaskType, ...] = (
    TaskType(f"{_CORE}.debug.Return", (f"{_OLD}.debugs.Return",), "kflow.tasks.debug:Return"),
    TaskType(f"{_CORE}.log.Log", (f"{_OLD}.log.Log",), "kflow.tasks.debug:Log"),
    TaskType(f"{_CORE}.log.Fetch", (f"{_OLD}.log.Fetch",), "kflow.tasks.log_fetch:Fetch"),
    TaskType(f"{_CORE}.debug.Echo", (f"{_OLD}.debugs.Echo",), "kflow.tasks.debug:Echo"),
    TaskType(f"{_CORE}.output.OutputValues", (f"{_OLD}.outputs.OutputValues",), "kflow.tasks.output:OutputValues"),
    TaskType(f"{_CORE}.flow.Sleep", (f"{_OLD}.flows.Sleep",), "kflow.tasks.sleep:Sleep"),
    TaskType(f"{_CORE}.execution.Fail", (f"{_OLD}.executions.Fail",), "kflow.tasks.fail:Fail"),
    TaskType(f"{_CORE}.flow.Sequential", (f"{_OLD}.flows.Sequential",), "kflow.tasks.sequential:Sequential"),
    TaskType(f"{_CORE}.flow.Parallel", (f"{_OLD}.flows.Parallel",), "kflow.tasks.parallel:Parallel"),
    TaskType(f"{_CORE}.flow.Switch", (f"{_OLD}.flows.Switch",), "kflow.tasks.switch:Switch"),
    TaskType(f"{_CORE}.flow.If", (f"{_OLD}.flows.If",), "kflow.tasks.condition:If"),
    TaskType(f"{_CORE}.flow.ForEach", (f"{_OLD}.flows.ForEach",), "kflow.tasks.foreach:ForEach"),
    TaskType(f"{_CORE}.flow.EachSequential", (f"{_OLD}.flows.EachSequential",), "kflow.tasks.foreach:EachSequential"),
    TaskType(f"{_CORE}.flow.EachParallel", (f"{_OLD}.flows.EachParallel",), "kflow.tasks.foreach:EachParallel"),
    TaskType(f"{_CORE}.flow.WaitFor", (), "kflow.tasks.wait_for:WaitFor"),
    TaskType(f"{_CORE}.flow.LoopUntil", (), "kflow.tasks.wait_for:LoopUntil"),
    TaskType(f"{_CORE}.flow.Dag", (f"{_OLD}.flows.Dag",), "kflow.tasks.dag:Dag"),
    TaskType(f"{_CORE}.flow.AllowFailure", (f"{_OLD}.flows.AllowFailure",), "kflow.tasks.allow_failure:AllowFailure"),
    TaskType(f"{_CORE}.execution.Exit", (), "kflow.tasks.exit:Exit"),
    TaskType(f"{_CORE}.execution.Labels", (f"{_OLD}.executions.Labels",), "kflow.tasks.labels:Labels"),
    TaskType(f"{_CORE}.kv.Set", (), "kflow.tasks.kv:Set"),
    TaskType(f"{_CORE}.kv.Get", (), "kflow.tasks.kv:Get"),
    TaskType(f"{_CORE}.kv.Delete", (), "kflow.tasks.kv:Delete"),
    TaskType(f"{_CORE}.kv.GetKeys", (), "kflow.tasks.kv:GetKeys"),
    TaskType(f"{_CORE}.kv.PurgeKV", (), "kflow.tasks.kv:PurgeKV"),
    TaskType(f"{_CORE}.flow.Pause", (f"{_OLD}.flows.Pause",), "kflow.tasks.pause:Pause"),
    TaskType(f"{_CORE}.flow.Subflow", (f"{_OLD}.flows.Subflow", f"{_OLD}.flows.Flow", f"{_CORE}.flow.Flow"), "kflow.tasks.subflow:Subflow"),
    TaskType(f"{_CORE}.flow.ForEachItem", (f"{_OLD}.flows.ForEachItem",), "kflow.tasks.foreach_item:ForEachItem"),
    # ForEachItem's own three tasks (Kestra's internal plugins), never written in a flow.
    TaskType(f"{_CORE}.flow.ForEachItem$ForEachItemSplit", (), "kflow.tasks.foreach_item:ForEachItemSplit"),
    TaskType(f"{_CORE}.flow.ForEachItem$ForEachItemExecutable", (), "kflow.tasks.foreach_item:ForEachItemExecutable"),
    TaskType(f"{_CORE}.flow.ForEachItem$ForEachItemMergeOutputs", (), "kflow.tasks.foreach_item:ForEachItemMergeOutputs"),
    TaskType(
        f"{_CORE}.flow.WorkingDirectory",
        (f"{_OLD}.flows.WorkingDirectory", f"{_OLD}.flows.Worker"),
        "kflow.tasks.working_directory:WorkingDirectory",
    ),
    TaskType(f"{_CORE}.storage.LocalFiles", (f"{_OLD}.storages.LocalFiles",), "kflow.tasks.local_files:LocalFiles"),
    # Internal storage files and assertions (issue 16).
    TaskType(f"{_CORE}.storage.Write", (), "kflow.tasks.storage_files:Write"),
    TaskType(f"{_CORE}.storage.Size", (f"{_OLD}.storages.Size",), "kflow.tasks.storage_files:Size"),
    TaskType(f"{_CORE}.storage.Delete", (f"{_OLD}.storages.Delete",), "kflow.tasks.storage_files:Delete"),
    TaskType(f"{_CORE}.storage.Concat", (f"{_OLD}.storages.Concat",), "kflow.tasks.storage_files:Concat"),
    TaskType(f"{_CORE}.storage.Reverse", (), "kflow.tasks.storage_files:Reverse"),
    TaskType(f"{_CORE}.storage.Split", (f"{_OLD}.storages.Split",), "kflow.tasks.storage_split:Split"),
    TaskType(f"{_CORE}.storage.FilterItems", (), "kflow.tasks.storage_items:FilterItems"),
    TaskType(f"{_CORE}.storage.DeduplicateItems", (), "kflow.tasks.storage_items:DeduplicateItems"),
    TaskType(
        f"{_CORE}.storage.PurgeCurrentExecutionFiles",
        (f"{_CORE}.storage.PurgeExecution", f"{_OLD}.storages.PurgeExecution"),
        "kflow.tasks.storage_files:PurgeCurrentExecutionFiles",
    ),
    TaskType(f"{_CORE}.execution.Assert", (), "kflow.tasks.assertion:Assert"),
    TaskType(f"{_CORE}.templating.TemplatedTask", (), "kflow.tasks.templated:TemplatedTask"),
    # Files and the outside world (issue 5): HTTP, S3, scripts.
    TaskType(f"{_CORE}.http.Download", (f"{_FS}.http.Download",), "kflow.tasks.http:Download"),
    TaskType(f"{_CORE}.http.Request", (f"{_FS}.http.Request",), "kflow.tasks.http:Request"),
    TaskType(f"{_S3}.Upload", (), "kflow.tasks.aws.s3:Upload"),
    TaskType(f"{_S3}.Download", (), "kflow.tasks.aws.s3:Download"),
    TaskType(f"{_S3}.List", (), "kflow.tasks.aws.s3:List"),
    TaskType(f"{_S3}.Delete", (), "kflow.tasks.aws.s3:Delete"),
    TaskType(f"{_SCRIPTS}.python.Script", (), "kflow.tasks.scripts:PythonScript"),
    TaskType(f"{_SCRIPTS}.python.Commands", (), "kflow.tasks.scripts:PythonCommands"),
    TaskType(f"{_SCRIPTS}.shell.Script", (), "kflow.tasks.scripts:ShellScript"),
    TaskType(f"{_SCRIPTS}.shell.Commands", (), "kflow.tasks.scripts:ShellCommands"),
)

_BY_NAME: dict[str, TaskType] = {}
for _entry in TASK_TYPES:
    for _name in (_entry.name, *_entry.aliases):
        _BY_NAME[_name] = _entry


class UnknownTaskType(LookupError):
    def __init__(self, name: str):
        self.name = name
        self.suggestions = closest_names(name)
        hint = f"; did you mean {' or '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown task type {name!r}{hint}")


def known_names() -> list[str]:
    return sorted(_BY_NAME)


def closest_names(name: str, n: int = 3) -> list[str]:
    """Known names nearest to a misspelt one; the short class name counts most."""
    import difflib  # only for a misspelt name: the runner's start does not pay for it

    names = known_names()
    tail = name.rsplit(".", 1)[-1].lower()
    matches = [known for known in names if known.rsplit(".", 1)[-1].lower() == tail]
    matches = matches or difflib.get_close_matches(name, names, n=n * 3, cutoff=0.6)
    canonical = dict.fromkeys(_BY_NAME[match].name for match in matches)  # old names point to the new
    return list(canonical)[:n]


def canonical_name(name: str) -> str:
    entry = _BY_NAME.get(name)
    if entry is None:
        raise UnknownTaskType(name)
    return entry.name


@cache
def _load(target: str) -> type[Task]:
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls


def task_class(name: str) -> type[Task]:
    """The model of a task type, by any of its names."""
    entry = _BY_NAME.get(name)
    if entry is None:
        raise UnknownTaskType(name)
    cls = _load(entry.target)
    cls.type_name = entry.name
    return cls
