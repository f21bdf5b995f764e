"""From YAML text to a validated `Flow`, collecting every problem with its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kflow.flow.bounds import MAX_DOCUMENT_BYTES, BoundError, check_data, decode_document, load_yaml, yaml_problem
from kflow.flow.errors import FlowError, Problem, join_path
from kflow.flow.model import Flow, Task
from kflow.flow.registry import UnknownTaskType, canonical_name, task_class
from kflow.flow.rules import flow_problems

_FLOW_TASK_LISTS = {"tasks": "tasks", "errors": "errors", "finally": "finally_"}


def read_document(path: str | Path) -> str:
    """A flow file's text: UTF-8, within the document bound (kflow.flow.bounds); FlowError if not."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as err:
        raise FlowError(str(path), [Problem("", f"cannot read the file: {err.strerror or err}")]) from None
    try:
        return decode_document(data)
    except BoundError as err:
        raise FlowError(str(path), [Problem(err.path, err.message)]) from None


def load_flow_file(path: str | Path) -> Flow:
    return load_flow(read_document(path), source=str(path))


def load_flow(text: str, source: str = "<flow>") -> Flow:
    try:
        data = load_yaml(text)
    except yaml.YAMLError as err:
        raise FlowError(source, [Problem("", yaml_problem(err))]) from None
    except BoundError as err:
        raise FlowError(source, [Problem(err.path, err.message)]) from None
    return parse_flow(data, source=source)


def parse_flow(data: Any, source: str = "<flow>") -> Flow:
    if not isinstance(data, dict):
        raise FlowError(source, [Problem("", "a flow is a YAML mapping with at least `id`, `namespace` and `tasks`")])
    try:
        check_data(data)  # also for flows that arrive as JSON (a Flow resource's spec)
    except BoundError as err:
        raise FlowError(source, [Problem(err.path, err.message)]) from None
    shape = _plugin_defaults_problems(data.get("pluginDefaults"))
    if shape:
        raise FlowError(_describe(source, data), shape)
    parser = _Parser(data.get("pluginDefaults"))
    fields = dict(data)
    for key in _FLOW_TASK_LISTS:
        if key in fields:
            fields[key] = parser.task_list(fields[key], key)
    if "triggers" in fields:
        fields["triggers"] = parser.trigger_list(fields["triggers"])
    if isinstance(fields.get("listeners"), list):  # Kestra's older listeners: their tasks are tasks too
        fields["listeners"] = [{**item, "tasks": parser.task_list(item["tasks"], f"listeners[{i}].tasks")}
                               if isinstance(item, dict) and "tasks" in item else item for i, item in enumerate(fields["listeners"])]
    if not parser.problems:
        try:
            flow = Flow.model_validate(fields)
        except ValidationError as err:
            parser.add_validation(err, "", Flow)
        else:
            parser.problems.extend(flow_problems(flow))
            if not parser.problems:
                return flow
    raise FlowError(_describe(source, data), parser.problems)


def parse_task(data: Any, path: str = "task") -> Task:
    """One task definition (with its children), as the runner receives it."""
    parser = _Parser()
    task = parser.task(data, path)
    if task is None or parser.problems:
        raise FlowError(path, parser.problems)
    return task


def _plugin_defaults_problems(raw: Any) -> list[Problem]:
    """pluginDefaults is a list of {type, values: {...}, forced}; anything else is named."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [Problem("pluginDefaults", "expected a list of {type, values, forced} entries")]
    problems = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            problems.append(Problem(join_path("pluginDefaults", i), "expected a mapping with `type` and `values`"))
        elif not isinstance(entry.get("type"), str):
            problems.append(Problem(join_path("pluginDefaults", i, "type"), "expected a task type (or a prefix of one)"))
        elif not isinstance(entry.get("values"), (dict, type(None))):
            problems.append(Problem(join_path("pluginDefaults", i, "values"), "expected a mapping of property names to values"))
    return problems


def _describe(source: str, data: dict) -> str:
    flow_id, namespace = data.get("id"), data.get("namespace")
    if flow_id and namespace and source.startswith("<"):
        return f"{namespace}.{flow_id}"
    if flow_id and namespace:
        return f"{namespace}.{flow_id} ({source})"
    return source


class _Parser:
    def __init__(self, plugin_defaults: Any = None) -> None:
        self.problems: list[Problem] = []
        self.seen_ids: dict[str, str] = {}
        self.defaults = [d for d in plugin_defaults or [] if isinstance(d, dict) and isinstance(d.get("type"), str)]

    def task_list(self, raw: Any, path: str) -> list[Task] | Any:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problems.append(Problem(path, "expected a list of tasks"))
            return raw
        tasks = [self.task(item, join_path(path, i)) for i, item in enumerate(raw)]
        return [task for task in tasks if task is not None]

    def trigger_list(self, raw: Any) -> Any:
        from kflow.flow.triggers import parse_triggers

        return parse_triggers(raw, self.problems, self.add_validation)

    def task(self, raw: Any, path: str) -> Task | None:
        if not isinstance(raw, dict):
            self.problems.append(Problem(path, "expected a task: a mapping with `id` and `type`"))
            return None
        type_name = raw.get("type")
        if not isinstance(type_name, str) or not type_name:
            self.problems.append(Problem(join_path(path, "type"), "every task needs a `type`, for example io.kestra.plugin.core.log.Log"))
            return None
        try:
            cls = task_class(type_name)
        except UnknownTaskType as err:
            self.problems.append(Problem(join_path(path, "type"), str(err)))
            return None
        task_id = raw.get("id")
        if isinstance(task_id, str):
            if task_id in self.seen_ids:
                self.problems.append(
                    Problem(join_path(path, "id"), f"duplicate task id {task_id!r}, already used at {self.seen_ids[task_id]}; task ids are unique in a flow")
                )
            else:
                self.seen_ids[task_id] = path
        fields = apply_plugin_defaults(dict(raw), self.defaults, cls.type_name)
        before = len(self.problems)
        for name in cls.task_lists:
            key = cls.model_fields[name].alias or name  # If's `else` is the field else_
            if key in fields:
                fields[key] = self._task_lists(cls, fields[key], join_path(path, key))
        if len(self.problems) > before:
            return None
        try:
            return cls.model_validate(fields)
        except ValidationError as err:
            self.add_validation(err, path, cls)
            return None

    def _task_lists(self, cls: type[Task], raw: Any, path: str) -> Any:
        """A task list, a map of them (Switch cases), or items wrapping a task (Dag's `task`).

        `null` stays None: Kestra tells `defaults: null` (none) from `defaults: []` (invalid).
        """
        if raw is None:
            return None
        if isinstance(raw, dict):
            return {key: self.task_list(tasks, join_path(path, key)) for key, tasks in raw.items()}
        wrapper = cls.wrapped_task_key
        if wrapper is None or not isinstance(raw, list):
            return self.task_list(raw, path)
        items = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict) or wrapper not in item:
                self.problems.append(Problem(join_path(path, i), f"expected a mapping with `{wrapper}` (a task) and `dependsOn`"))
                continue
            task = self.task(item[wrapper], join_path(path, i, wrapper))
            if task is not None:
                items.append({**item, wrapper: task})
        return items

    def add_validation(self, err: ValidationError, path: str, model: type) -> None:
        for error in err.errors():
            loc = [part for part in error["loc"] if not _is_union_tag(part)]
            where = join_path(path, *loc)
            self.problems.append(Problem(where, _message(error, model, loc)))


def apply_plugin_defaults(fields: dict[str, Any], defaults: list[dict[str, Any]], canonical: str) -> dict[str, Any]:
    """Kestra's pluginDefaults: values for every task whose type is, or starts with, `type`.

    The task's own values win, unless the default is `forced`; maps merge key by key.
    """
    written = str(fields.get("type"))
    for default in defaults:
        prefix = default["type"]
        try:  # a full type name given under Kestra's old spelling
            prefix = canonical_name(prefix)
        except UnknownTaskType:
            pass
        if not (written.startswith(prefix) or canonical.startswith(prefix)):
            continue
        forced = bool(default.get("forced"))
        for key, value in (default.get("values") or {}).items():
            mine = fields.get(key)
            if isinstance(mine, dict) and isinstance(value, dict):
                fields[key] = {**mine, **value} if forced else {**value, **mine}
            elif forced or key not in fields:
                fields[key] = value
    return fields


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part.isupper() or "[" in part or "(" in part)


def _message(error: dict, model: type, loc: list) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required property is missing"
    if kind == "extra_forbidden":
        if len(loc) == 1 and hasattr(model, "model_fields"):
            known = sorted(
                (field.alias or name) for name, field in model.model_fields.items() if not name.startswith("_")
            )
            return f"unknown property; {getattr(model, '__name__', 'this')} accepts: {', '.join(known)}"
        return "unknown property"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if "input" in error and kind not in ("value_error",) and not isinstance(error["input"], (dict, list)):
        message += f" (got {error['input']!r})"
    return message
