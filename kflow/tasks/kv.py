"""Kestra's KV tasks: Set, Get, Delete, GetKeys (io.kestra.plugin.core.kv.*).

Resolved by the engine, where the KV store is (no pod, no process): the store is the shell's
(a directory for `kflow run`, ConfigMaps on a cluster), so runner pods need no API rights. Each
renders its properties like any task; a failure names the key and its namespace.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field, field_validator

from kflow.execution import State
from kflow.flow.durations import parse_duration
from kflow.flow.node import ChildSpec, Node
from kflow.flow.flowable import FlowableTask
from kflow.kv.store import KVEntry, KVError, KVType


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{name} must be true or false, got {value!r}")


class _KVTask(FlowableTask):
    """A task with no children that does its work when the engine resolves it."""

    namespace: str | None = Field(None, description="The KV namespace; default: the flow's namespace. Rendered.")

    def next_children(self, node: Node) -> list[ChildSpec]:
        return []

    def _namespace(self, node: Node) -> str:
        if self.namespace is None:
            return node.render("{{ flow.namespace }}")
        return str(node.render(self.namespace))

    def resolve_state(self, node: Node) -> State | None:
        outputs = self.apply(node, node.kv_store(), self._namespace(node))
        if outputs is not None:
            node.set_outputs(**outputs)
        return State.SUCCESS

    def apply(self, node: Node, store, namespace: str) -> dict[str, Any] | None:  # pragma: no cover - abstract
        raise NotImplementedError


class Set(_KVTask):
    key: str = Field(description="The key; rendered. Letters, digits, '.', '_' and '-', a letter or digit first.")
    value: Any = Field(description="The value; rendered. Its JSON type is kept (a map stays a map) unless kvType says.")
    overwrite: bool | str = Field(True, description="False: fail when the key already holds a value.")
    ttl: str | None = Field(None, description="ISO-8601 duration after which the key reads as missing.")
    kvType: KVType | None = Field(None, description="STRING, NUMBER, BOOLEAN, DATETIME, DATE, DURATION or JSON: the value is converted to it.")
    kvDescription: str | None = None

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("{{") and parse_duration(value) <= 0:
            raise ValueError("ttl must be a positive duration")
        return value

    def apply(self, node: Node, store, namespace: str) -> None:
        key = str(node.render(self.key))
        value = node.render(self.value)
        if self.kvType is not None:
            value = convert(value, self.kvType, key)
        expires = None
        if self.ttl is not None:
            expires = node.now + timedelta(seconds=parse_duration(str(node.render(self.ttl))))
        entry = KVEntry(value=value, type=self.kvType, description=self.kvDescription, updateDate=node.now,
                        expirationDate=expires, taskRunId=node.taskrun.id)
        store.put(namespace, key, entry, overwrite=_flag(node.render(self.overwrite), "overwrite"))
        return None


class _OneKey(_KVTask):
    key: str = Field(description="The key; rendered.")
    errorOnMissing: bool | str = Field(False, description="Fail when the key holds no value.")

    def _check_found(self, found: bool, key: str, namespace: str, doing: str) -> None:
        if not found and _flag(self.errorOnMissing, "errorOnMissing"):
            raise KVError(f"KV key {key!r}: no such key in namespace {namespace!r} {doing}")


class Get(_OneKey):
    def apply(self, node: Node, store, namespace: str) -> dict[str, Any]:
        key = str(node.render(self.key))
        entry = store.get(namespace, key)
        self._check_found(entry is not None, key, namespace, "(or it expired)")
        # A missing key: no `value` output (Kestra leaves null outputs out; a status patch would too).
        return {"value": entry.value} if entry is not None else {}


class Delete(_OneKey):
    def apply(self, node: Node, store, namespace: str) -> dict[str, Any]:
        key = str(node.render(self.key))
        deleted = store.delete(namespace, key)
        self._check_found(deleted, key, namespace, "to delete")
        return {"deleted": deleted}


class GetKeys(_KVTask):
    prefix: str | None = Field(None, description="Only keys starting with it; rendered. Default: every key.")

    def apply(self, node: Node, store, namespace: str) -> dict[str, Any]:
        prefix = node.render(self.prefix) if self.prefix is not None else None
        return {"keys": store.keys(namespace, str(prefix) if prefix is not None else None)}


class PurgeKV(FlowableTask):
    """Deletes keys across namespaces (Kestra's PurgeKV); by default only the expired ones."""

    namespaces: list[str] | None = Field(None, description="The namespaces to purge; rendered. Default: every namespace (with namespacePattern: those it matches).")
    namespacePattern: str | None = Field(None, description="A glob of namespaces, instead of `namespaces`.")
    includeChildNamespaces: bool = Field(True, description="`company` also purges `company.team`, ...")
    keyPattern: str | None = Field(None, description="Only keys matching this glob, e.g. 'AI_*'.")
    expiredOnly: bool = Field(True, description="Only keys whose ttl has passed.")

    @field_validator("namespacePattern")
    @classmethod
    def _one_way(cls, value: str | None, info) -> str | None:
        if value is not None and info.data.get("namespaces"):
            raise ValueError("use namespaces or namespacePattern, not both")
        return value

    def next_children(self, node: Node) -> list[ChildSpec]:
        return []

    def resolve_state(self, node: Node) -> State | None:
        from fnmatch import fnmatchcase

        store = node.kv_store()
        existing = store.namespaces()
        if self.namespaces:
            wanted = [str(node.render(ns)) for ns in self.namespaces]
            chosen = [ns for ns in existing if any(ns == w or (self.includeChildNamespaces and ns.startswith(w + ".")) for w in wanted)]
        elif self.namespacePattern:
            chosen = [ns for ns in existing if fnmatchcase(ns, str(node.render(self.namespacePattern)))]
        else:
            chosen = existing
        key_glob = str(node.render(self.keyPattern)) if self.keyPattern else None
        node.set_outputs(size=store.purge(chosen, key_glob, self.expiredOnly))
        return State.SUCCESS


def convert(value: Any, kv_type: str, key: str) -> Any:
    """The value as Kestra's kvType makes it (a JSON-typed value, or the checked text)."""
    try:
        if kv_type == "STRING":
            return value if isinstance(value, str) else json.dumps(value)
        if kv_type == "JSON":
            return json.loads(value) if isinstance(value, str) else value
        text = str(value).strip()
        if kv_type == "NUMBER":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            return int(text) if text.lstrip("+-").isdigit() else float(text)
        if kv_type == "BOOLEAN":
            if isinstance(value, bool):
                return value
            return _flag(text, "a BOOLEAN value")
        if kv_type == "DATETIME":
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        elif kv_type == "DATE":
            date.fromisoformat(text)
        elif kv_type == "DURATION":
            parse_duration(text)
        return text
    except (ValueError, TypeError) as err:
        raise KVError(f"KV key {key!r}: the value {str(value)[:80]!r} is not a valid {kv_type} ({err})") from None
