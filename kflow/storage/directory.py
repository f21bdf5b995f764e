"""Internal storage in a local directory: the URI's path under a root, written via temp + rename."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from kflow.storage.base import Storage, StorageError, StorageFileNotFound
from kflow.uris import parse_uri


class DirectoryStorage(Storage):
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()

    def describe(self) -> str:
        return f"directory {self.root}"

    def path(self, uri: str) -> Path:
        path = (self.root / parse_uri(uri).lstrip("/")).resolve()
        if self.root not in path.parents:
            raise StorageError(f"{uri} points outside the storage directory")
        return path

    @contextmanager
    def writer(self, uri: str) -> Iterator[BinaryIO]:
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise

    def open(self, uri: str) -> BinaryIO:
        try:
            return open(self.path(uri), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise StorageFileNotFound(uri, self.describe()) from None

    def exists(self, uri: str) -> bool:
        return self.path(uri).is_file()

    def size(self, uri: str) -> int:
        try:
            return self.path(uri).stat().st_size
        except FileNotFoundError:
            raise StorageFileNotFound(uri, self.describe()) from None

    def delete(self, uri: str) -> bool:
        try:
            self.path(uri).unlink()
            return True
        except FileNotFoundError:
            return False

    def list_prefix(self, uri: str) -> Iterator[str]:
        from kflow.uris import to_uri

        folder = self.path(uri)
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and not path.name.endswith(".part"):
                yield to_uri("/" + path.relative_to(self.root).as_posix())

    def local_path(self, uri: str) -> Path:
        """The file itself (no copy); StorageFileNotFound when absent."""
        path = self.path(uri)
        if not path.is_file():
            raise StorageFileNotFound(uri, self.describe())
        return path
