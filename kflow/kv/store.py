"""The KV store's contract: entries, Kestra's key rules, bounds, expiry, and the `kv()` snapshot.

Backends implement four primitives (`_read`, `_write`, `_remove`, `_entries`); the rules every
backend must keep (key format, value size, TTL, overwrite) live here once.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field

# Kestra's rule for keys: a letter or digit first, then letters, digits, '.', '_' and '-'.
KEY = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
MAX_KEY = 255
NAMESPACE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
MAX_NAMESPACE = 255
# A value's JSON at most 512 KiB: a ConfigMap (one per key on a cluster) holds at most 1 MiB.
MAX_VALUE_BYTES = 512 * 1024

KVType = Literal["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON"]


class KVError(ValueError):
    """A KV operation refused or failed; the message names the key and its namespace."""


class KVEntry(BaseModel):
    """One stored value, with Kestra's metadata."""

    model_config = ConfigDict(extra="ignore")

    value: Any = Field(description="The value, with its JSON type kept.")
    type: KVType | None = Field(None, description="Kestra's kvType, when the Set gave one.")
    description: str | None = None
    updateDate: datetime
    expirationDate: datetime | None = Field(None, description="From the Set's ttl; past it the key reads as missing.")
    taskRunId: str | None = Field(None, description="The Set task run that wrote it (a repeated step is not a conflict).")

    def expired(self, now: datetime) -> bool:
        return self.expirationDate is not None and self.expirationDate <= now


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise KVError(f"KV key {key!r}: a key is a non-empty string")
    if len(key) > MAX_KEY or not KEY.match(key):
        raise KVError(f"KV key {key[:80]!r}: a key starts with a letter or digit and holds only letters, digits, "
                      f"'.', '_' and '-' (at most {MAX_KEY} characters)")
    return key


def check_namespace(namespace: Any) -> str:
    if not isinstance(namespace, str) or len(namespace) > MAX_NAMESPACE or not NAMESPACE.match(namespace):
        raise KVError(f"KV namespace {str(namespace)[:80]!r}: a namespace holds only letters, digits, '.', '_' and '-'")
    return namespace


def _now() -> datetime:
    return datetime.now(timezone.utc)


class KVStore(ABC):
    """Values by (namespace, key). Expired entries read as missing and are removed when seen."""

    def get(self, namespace: str, key: str) -> KVEntry | None:
        check_namespace(namespace), check_key(key)
        entry = self._read(namespace, key)
        if entry is not None and entry.expired(_now()):
            self._remove(namespace, key)
            return None
        return entry

    def put(self, namespace: str, key: str, entry: KVEntry, overwrite: bool = True) -> None:
        check_namespace(namespace), check_key(key)
        size = len(json.dumps(entry.value, default=str).encode())
        if size > MAX_VALUE_BYTES:
            raise KVError(f"KV key {key!r} in namespace {namespace!r}: the value is {size} bytes, more than {MAX_VALUE_BYTES}")
        if overwrite:
            self._write(namespace, key, entry, create=False)
            return
        if self._write(namespace, key, entry, create=True):
            return
        existing = self._read(namespace, key)
        if existing is None or existing.expired(_now()) or (entry.taskRunId and existing.taskRunId == entry.taskRunId):
            self._write(namespace, key, entry, create=False)  # gone, expired, or this very Set repeated
            return
        raise KVError(f"KV key {key!r} already exists in namespace {namespace!r} and `overwrite` is false")

    def delete(self, namespace: str, key: str) -> bool:
        """True when a (live) value was there."""
        check_namespace(namespace), check_key(key)
        entry = self._read(namespace, key)
        if entry is None:
            return False
        self._remove(namespace, key)
        return not entry.expired(_now())

    def keys(self, namespace: str, prefix: str | None = None) -> list[str]:
        check_namespace(namespace)
        now = _now()
        return sorted(key for key, entry in self._entries(namespace)
                      if not entry.expired(now) and (not prefix or key.startswith(prefix)))

    def purge(self, namespaces: Iterable[str], key_glob: str | None, expired_only: bool) -> int:
        """Delete the keys of these namespaces matching the glob (only expired ones, if asked); how many."""
        from fnmatch import fnmatchcase

        now, count = _now(), 0
        for namespace in namespaces:
            for key, entry in list(self._entries(namespace)):
                if (key_glob is None or fnmatchcase(key, key_glob)) and (not expired_only or entry.expired(now)):
                    self._remove(namespace, key)
                    count += 1
        return count

    def namespaces(self) -> list[str]:
        """Every namespace holding a key."""
        return sorted(set(self._namespaces()))

    # -- what a backend provides -------------------------------------------------------------
    @abstractmethod
    def _namespaces(self) -> Iterable[str]: ...

    @abstractmethod
    def _read(self, namespace: str, key: str) -> KVEntry | None: ...

    @abstractmethod
    def _write(self, namespace: str, key: str, entry: KVEntry, create: bool) -> bool:
        """Store it; with `create`, only if the key does not exist (False: it does)."""

    @abstractmethod
    def _remove(self, namespace: str, key: str) -> None: ...

    @abstractmethod
    def _entries(self, namespace: str) -> Iterable[tuple[str, KVEntry]]: ...


def snapshot_key(namespace: str, key: str) -> str:
    return f"{namespace}:{key}"  # neither may hold ':'


def snapshot(store: KVStore | None, refs: Iterable[tuple[str | None, str]], flow_namespace: str) -> dict[str, Any]:
    """The values a task's `kv('key')` calls read, as variables a runner can be given.

    Each is {"value": v}, {"missing": true} or {"error": why}: kv() decides what a missing key
    means (errorOnMissing), and a store that cannot be read fails only the task that reads it.
    """
    out: dict[str, Any] = {}
    for namespace, key in refs:
        namespace = namespace or flow_namespace
        slot = snapshot_key(namespace, key)
        if store is None:
            out[slot] = {"error": "no KV store here"}
            continue
        try:
            entry = store.get(namespace, key)
        except KVError as err:
            out[slot] = {"error": str(err)}
        except Exception as err:  # the backend's failure (API server away): named, not raised
            out[slot] = {"error": f"the KV store could not be read: {err}"}
        else:
            out[slot] = {"missing": True} if entry is None else {"value": entry.value}
    return out
