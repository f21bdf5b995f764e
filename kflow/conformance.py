"""How much of Kestra's core kflow runs: each core task type, trigger, filter and function,
checked against kflow's own registries, so the README table cannot drift from the code.

`python -m kflow.conformance` prints the Markdown table; `--write README.md` replaces the
table between the README's conformance markers (a test fails when it is stale).

The Kestra names are those of Kestra's core plugin (io.kestra.plugin.core.*) and its Pebble
extension. "supported" means the registry has it and kflow behaves as Kestra documents; "partly"
says what differs; "not" says why (or that it is not done yet).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

START, END = "<!-- conformance:start -->", "<!-- conformance:end -->"
_C = "io.kestra.plugin.core"

# Kestra's core task types -> what differs (partly); names absent from the registry say why not.
TASKS: dict[str, str] = {
    f"{_C}.debug.Return": "",
    f"{_C}.debug.Echo": "",
    f"{_C}.log.Log": "",
    f"{_C}.log.Fetch": "partly: the current execution only (another `executionId` fails naming it); rows are JSON lines (Ion text only where it is JSON), at most 100,000 rows from 16 MiB of logs (then `truncated: true`); needs internal storage on a cluster",
    f"{_C}.log.PurgeLogs": "not yet: kflow keeps no log database",
    f"{_C}.output.OutputValues": "",
    f"{_C}.execution.Fail": "",
    f"{_C}.execution.Labels": "",
    f"{_C}.execution.Exit": "partly: task runs still running in other branches are stopped (KILLED) whatever the state; Kestra lets them finish unless it is KILLED",
    f"{_C}.execution.Count": "not yet: needs a query over past executions",
    f"{_C}.execution.Resume": "not yet (resume with `kflow resume`, `spec.resume`)",
    f"{_C}.execution.PurgeExecutions": "not yet: Executions are Kubernetes objects, deleted with kubectl",
    f"{_C}.execution.SetVariables": "not yet",
    f"{_C}.execution.UnsetVariables": "not yet",
    f"{_C}.execution.Assert": "",
    f"{_C}.flow.Sequential": "",
    f"{_C}.flow.Parallel": "",
    f"{_C}.flow.Switch": "",
    f"{_C}.flow.If": "",
    f"{_C}.flow.ForEach": "",
    f"{_C}.flow.EachSequential": "",
    f"{_C}.flow.EachParallel": "",
    f"{_C}.flow.Dag": "",
    f"{_C}.flow.AllowFailure": "",
    f"{_C}.flow.Pause": "an invalid `onResume` value fails the Pause (Kestra refuses the resume and keeps waiting); `kflow run` resumes with the inputs' defaults",
    f"{_C}.flow.Subflow": "`revision` is not applied (the current flow runs); the task's own `outputs` are rendered by the child execution, so one that cannot be rendered fails the child (Kestra fails the Subflow task run)",
    f"{_C}.flow.WorkingDirectory": "`cache` and `namespaceFiles` accepted and ignored; `errors` refused",
    f"{_C}.flow.WaitFor": "",
    f"{_C}.flow.LoopUntil": "",
    f"{_C}.flow.Sleep": "",
    f"{_C}.flow.ForEachItem": "at most 1,000 batches; merged outputs are JSON lines, not Ion; `revision`, `scheduleDate` and `restartBehavior` accepted and ignored; a batch file is readable by children in the parent's namespace only",
    f"{_C}.flow.Template": "not: deprecated in Kestra, removed in 0.20",
    f"{_C}.storage.LocalFiles": "",
    f"{_C}.storage.Concat": "",
    f"{_C}.storage.Split": "",
    f"{_C}.storage.Size": "",
    f"{_C}.storage.Delete": "",
    f"{_C}.storage.Write": "",
    f"{_C}.storage.Reverse": "",
    f"{_C}.storage.DeduplicateItems": "partly: items are JSON lines (Ion text only where it is JSON)",
    f"{_C}.storage.FilterItems": "partly: items are JSON lines (Ion text only where it is JSON); a null result counts as false, only a failing expression follows `errorOrNullBehavior`",
    f"{_C}.storage.PurgeCurrentExecutionFiles": "partly: attempt logs kept (`kflow logs` reads them)",
    f"{_C}.kv.Set": "partly: a value is at most 512 KiB of JSON (a ConfigMap per key on a cluster)",
    f"{_C}.kv.Get": "",
    f"{_C}.kv.Delete": "",
    f"{_C}.kv.GetKeys": "",
    f"{_C}.kv.PurgeKV": "partly: `expiredOnly` (default true) rather than the newer `behavior` object; on a cluster, the keys of the Execution's Kubernetes namespace",
    f"{_C}.namespace.UploadFiles": "not yet: no namespace files",
    f"{_C}.namespace.DownloadFiles": "not yet: no namespace files",
    f"{_C}.namespace.DeleteFiles": "not yet: no namespace files",
    f"{_C}.http.Request": "",
    f"{_C}.http.Download": "",
    f"{_C}.state.Set": "not: deprecated in Kestra for the KV store",
    f"{_C}.state.Get": "not: deprecated in Kestra for the KV store",
    f"{_C}.state.Delete": "not: deprecated in Kestra for the KV store",
    f"{_C}.templating.TemplatedTask": "partly: secrets named only inside `spec` after rendering are not mounted in a pod (name them as constants in `spec`)",
    f"{_C}.trigger.Toggle": "not yet (set a trigger's `disabled` instead)",
    f"{_C}.metric.Publish": "not yet: no metrics per task",
}

TRIGGERS: dict[str, str] = {
    f"{_C}.trigger.Schedule": "partly: `conditions` are refused when the flow loads (`backfill`, `stopAfter` run on a cluster)",
    f"{_C}.trigger.Flow": "partly: conditions other than ExecutionFlow, ExecutionStatus, ExecutionNamespace and MultipleCondition "
    "are refused; `preconditions` time windows are read in UTC",
    f"{_C}.trigger.Webhook": "partly: conditions are Expression only; `wait`/`returnOutputs` are refused; the body is bounded (413) and "
    "calls are rate-limited (429) per operator replica",
    f"{_C}.trigger.ScheduleOnDates": "partly: as Schedule: `conditions` are refused when the flow loads",
    f"{_C}.http.Trigger": "partly: no `conditions`; of `options` only `readTimeout`/`connectTimeout`; a response body over 256 KiB "
    "starts nothing",
}

FILTERS: dict[str, str] = {name: "" for name in (
    "abbreviate", "abs", "base64decode", "base64encode", "capitalize", "chunk", "className", "date", "dateAdd",
    "default", "distinct", "endsWith", "escapeChar", "first", "flatten", "indent", "join", "json", "keys", "last",
    "length", "lower", "md5", "merge", "nindent", "number", "numberFormat", "replace", "reverse", "rsort", "sha1",
    "sha256", "sha512", "slice", "slugify", "sort", "split", "startsWith", "string", "substringAfter",
    "substringAfterLast", "substringBefore", "substringBeforeLast", "timestamp", "timestampMicro", "timestampNano",
    "title", "toJson", "toYaml", "trim", "upper", "urldecode", "urlencode", "values", "yaml",
)} | {
    "jq": "",
    "toIon": "not: Ion is not used by kflow's storage",
}

FUNCTIONS: dict[str, str] = {name: "" for name in (
    "now", "secret", "read", "range", "max", "min", "fromJson", "json", "fromYaml", "yaml", "render", "renderOnce",
    "printContext", "uuid", "id", "randomInt",
)} | {
    "currentEachOutput": "",
    "errorLogs": "partly: the first 25 entries as Kestra, but from at most 1 MiB of logs, each message cut at 4 KiB",
    "kv": "partly: the key and namespace must be constants (`kv('key')`, `kv('key', 'ns')`): a runner is given their values before it runs",
    "encrypt": "not yet",
    "decrypt": "not yet",
    "fileURI": "not yet: no namespace files",
    "fileSize": "partly: `kestra://` files of internal storage only (no namespace files)",
    "fileExists": "partly: `kestra://` files of internal storage only (no namespace files)",
    "isFileEmpty": "partly: `kestra://` files of internal storage only (no namespace files)",
    "randomPort": "partly: a free port of the machine that renders it (the runner, or the engine for a flowable's properties)",
    "http": "not yet",
    "tasksWithState": "",
    "nanoId": "",
}


@dataclass(frozen=True)
class Row:
    kind: str
    name: str
    status: str  # supported | partly | not
    note: str


def _known_tasks() -> set[str]:
    from kflow.flow.registry import known_names

    return set(known_names())


def _known_triggers() -> set[str]:
    from kflow.flow.triggers import TRIGGER_CLASSES

    return set(TRIGGER_CLASSES)


def _known_filters() -> set[str]:
    from kflow.expr.filters import FILTERS as known

    return set(known)


def _known_functions() -> set[str]:
    from kflow.expr.functions import GLOBALS, RENDERER_FUNCTIONS

    return set(GLOBALS) | set(RENDERER_FUNCTIONS)


def _row(kind: str, name: str, note: str, known: set[str]) -> Row:
    if name not in known:
        return Row(kind, name, "not", note.removeprefix("not: ") or "not yet")
    if note.startswith("not"):  # the registry has it now: the table must say so
        note = ""
    if note.startswith("partly: "):
        return Row(kind, name, "partly", note.removeprefix("partly: "))
    return Row(kind, name, "partly" if note else "supported", note)


def rows() -> list[Row]:
    out: list[Row] = []
    for kind, table, known in (("task", TASKS, _known_tasks()), ("trigger", TRIGGERS, _known_triggers()),
                               ("filter", FILTERS, _known_filters()), ("function", FUNCTIONS, _known_functions())):
        out.extend(_row(kind, name, note, known) for name, note in sorted(table.items(), key=lambda item: item[0].lower()))
    return out


def markdown() -> str:
    found = rows()
    counts = {kind: [sum(r.kind == kind and r.status == s for r in found) for s in ("supported", "partly", "not")]
              for kind in ("task", "trigger", "filter", "function")}
    summary = "; ".join(f"{kind}s {a} supported, {b} partly, {c} not" for kind, (a, b, c) in counts.items())
    lines = [f"Generated by `python -m kflow.conformance --write README.md` ({summary}).", "",
             "| kind | Kestra name | kflow | what differs, or why not |", "| --- | --- | --- | --- |"]
    lines += [f"| {r.kind} | `{r.name}` | {r.status} | {r.note} |" for r in found]
    return "\n".join(lines)


def replace_table(text: str, table: str) -> str:
    start, end = text.index(START) + len(START), text.index(END)
    return f"{text[:start]}\n{table}\n{text[end:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kflow.conformance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", metavar="README", help="replace the table between the conformance markers of this file")
    args = parser.parse_args(argv)
    table = markdown()
    if not args.write:
        print(table)
        return 0
    path = Path(args.write)
    path.write_text(replace_table(path.read_text(encoding="utf-8"), table), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
