"""The flow loader's hook: `triggers:` as typed models, each problem named by its path."""

from __future__ import annotations

from typing import Any, Callable

from pydantic import ValidationError

from kflow.flow.errors import Problem, join_path
from kflow.triggers.models import TRIGGER_CLASSES, Trigger


def parse_triggers(raw: Any, problems: list[Problem], add_validation: Callable[[ValidationError, str, type], None], path: str = "triggers") -> list[Trigger] | Any:
    """Typed triggers; each problem goes to `problems` (through the loader's formatter)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(Problem(path, "expected a list of triggers, each a mapping with `id` and `type`"))
        return raw
    out: list[Trigger] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(raw):
        where = join_path(path, i)
        if not isinstance(item, dict):
            problems.append(Problem(where, "expected a trigger: a mapping with `id` and `type`"))
            continue
        kind = item.get("type")
        cls = TRIGGER_CLASSES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            known = ", ".join(TRIGGER_CLASSES)
            problems.append(Problem(join_path(where, "type"), f"unknown trigger type {kind!r}; kflow runs: {known}"))
            continue
        trigger_id = item.get("id")
        if isinstance(trigger_id, str):
            if trigger_id in seen:
                problems.append(Problem(join_path(where, "id"), f"duplicate trigger id {trigger_id!r}, already used at {seen[trigger_id]}"))
            seen.setdefault(trigger_id, where)
        try:
            out.append(cls.model_validate(item))
        except ValidationError as err:
            add_validation(err, where, cls)
    return out
