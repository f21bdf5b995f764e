"""Deterministic Execution names for triggered runs: the same due date, the same name.

Creating an Execution whose name exists fails with 409, so two operator replicas, or one
restarted mid-way, never start a scheduled or flow-triggered run twice.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

MAX = 63  # a label value's limit: the name is copied into pod labels


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _join(parts: list[str], tail: str) -> str:
    """`parts` then `tail`, dash-joined; shortened with a hash of the whole when too long."""
    full = "-".join([*parts, tail])
    if len(full) <= MAX:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    room = MAX - len(tail) - len(digest) - 2
    head = "-".join(parts)[: max(room, 1)].strip("-") or "x"
    return f"{head}-{digest}-{tail}"[:MAX].strip("-")


def schedule_execution_name(flow_name: str, trigger_id: str, date: datetime) -> str:
    """`<flow>-<trigger>-<yyyymmddhhmmss>` (UTC: local wall times repeat once a year)."""
    stamp = date.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")
    return _join([_slug(flow_name), _slug(trigger_id)], stamp)


def flow_execution_name(flow_name: str, trigger_id: str, upstream_execution_id: str) -> str:
    """`<flow>-<trigger>-<upstream execution id>`, lowercased."""
    return _join([_slug(flow_name), _slug(trigger_id)], _slug(upstream_execution_id))
