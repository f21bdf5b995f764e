"""kopf settings that cut the operator's CPU per watch event without changing what it does.

kopf builds a "diff base" of every object on every watch event (processing.py:
`diffbase_storage.build`): a deep copy of the whole body, status included, later trimmed to
spec, labels and annotations. Only change-detecting handlers (on.create, on.update,
on.resume, on.delete, on.field) use it; kflow has none (every handler is an `on.event` or an
index, and the controller compares what it needs itself), yet this copy was a quarter of the
operator's CPU per one-task execution (bench/operator_profile.py). `NoDiffBase` answers an
empty essence and stores nothing. `assert_no_changing_handlers` fails the startup if a
change-detecting handler is ever registered, since it would then see no changes.
"""

from __future__ import annotations

from typing import Any

import kopf


class NoDiffBase(kopf.DiffBaseStorage):
    def build(self, *, body: Any, extra_fields: Any = None) -> Any:
        return {}

    def fetch(self, *, body: Any) -> Any:
        return {}

    def store(self, *, body: Any, patch: Any, essence: Any) -> None:
        return None


def changing_handlers(registry: Any) -> list[str]:
    """Ids of the registered change-detecting handlers (kflow has none)."""
    return [str(handler.id) for handler in registry._changing.get_all_handlers()]


def tune(settings: kopf.OperatorSettings, registry: Any) -> None:
    found = changing_handlers(registry)
    if found:
        raise RuntimeError(f"change-detecting kopf handlers need kopf's diff base, which kopf_tuning turns off: {found}")
    settings.persistence.diffbase_storage = NoDiffBase()
