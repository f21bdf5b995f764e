"""The local KV store: one JSON file per key, `<root>/<namespace>/<key>.json`.

The root is `KFLOW_KV_DIR`, else `$XDG_DATA_HOME/kflow/kv` (`~/.local/share/kflow/kv`), so values
outlive each `kflow run` as Kestra's do. Writes are atomic (temp file + rename; a create is a
hard link, which fails when the key exists).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

from kflow.kv.store import KVEntry, KVStore


def default_root() -> Path:
    if os.environ.get("KFLOW_KV_DIR"):
        return Path(os.environ["KFLOW_KV_DIR"]).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "kflow" / "kv"


class DirectoryKV(KVStore):
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root else default_root()

    def _path(self, namespace: str, key: str) -> Path:
        return self.root / namespace / f"{key}.json"  # both checked: no '/', never '.' first

    def _read(self, namespace: str, key: str) -> KVEntry | None:
        try:
            return KVEntry.model_validate_json(self._path(namespace, key).read_bytes())
        except FileNotFoundError:
            return None

    def _write(self, namespace: str, key: str, entry: KVEntry, create: bool) -> bool:
        path = self._path(namespace, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(entry.model_dump_json())
            if create:
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    return False
            else:
                os.replace(tmp, path)
                tmp = None
            return True
        finally:
            if tmp is not None:
                os.unlink(tmp)

    def _remove(self, namespace: str, key: str) -> None:
        self._path(namespace, key).unlink(missing_ok=True)

    def _namespaces(self) -> Iterable[str]:
        if self.root.is_dir():
            yield from (p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.json")))

    def _entries(self, namespace: str) -> Iterable[tuple[str, KVEntry]]:
        folder = self.root / namespace
        if not folder.is_dir():
            return
        for path in folder.glob("*.json"):
            if path.name.startswith("."):
                continue
            try:
                yield path.name[: -len(".json")], KVEntry.model_validate_json(path.read_bytes())
            except (FileNotFoundError, ValueError):
                continue  # removed meanwhile, or not ours
