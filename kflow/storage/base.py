"""The Storage interface every backend implements."""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from kflow.uris import parse_uri

CHUNK = 1024 * 1024


class StorageError(Exception):
    """A storage operation failed; the message names the URI and the cause."""


class StorageFileNotFound(StorageError, FileNotFoundError):
    def __init__(self, uri: str, where: str = ""):
        self.uri = uri
        super().__init__(f"{uri} does not exist in internal storage{f' ({where})' if where else ''}")


class Storage(ABC):
    """Files under `kestra://` URIs. `writer()` is atomic: the file appears whole, or not at all."""

    @abstractmethod
    @contextmanager
    def writer(self, uri: str) -> Iterator[BinaryIO]:
        """A binary file to write `uri`'s content to; committed when the block ends without error."""

    @abstractmethod
    def open(self, uri: str) -> BinaryIO:
        """The content of `uri` as a readable binary stream; StorageFileNotFound when absent."""

    @abstractmethod
    def exists(self, uri: str) -> bool: ...

    @abstractmethod
    def size(self, uri: str) -> int: ...

    @abstractmethod
    def delete(self, uri: str) -> bool:
        """True when something was deleted."""

    def list_prefix(self, uri: str) -> Iterator[str]:
        """Every file's URI under `uri` (a folder); PurgeCurrentExecutionFiles needs it."""
        raise StorageError(f"{self.describe()} cannot list files")

    def describe(self) -> str:
        return type(self).__name__

    # Conveniences on top of the primitives.
    def put_file(self, path: str | Path, uri: str) -> str:
        parse_uri(uri)
        with open(path, "rb") as source, self.writer(uri) as target:
            shutil.copyfileobj(source, target, CHUNK)
        return uri

    def put_stream(self, stream: BinaryIO, uri: str) -> str:
        with self.writer(uri) as target:
            shutil.copyfileobj(stream, target, CHUNK)
        return uri

    def put_bytes(self, data: bytes, uri: str) -> str:
        with self.writer(uri) as target:
            target.write(data)
        return uri

    def get_file(self, uri: str, path: str | Path) -> Path:
        """Copy `uri` to the local `path` (its directory is created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.open(uri) as source, open(path, "wb") as target:
            shutil.copyfileobj(source, target, CHUNK)
        return path

    def read_bytes(self, uri: str, limit: int | None = None) -> bytes:
        with self.open(uri) as source:
            data = source.read(limit + 1 if limit is not None else -1)
        if limit is not None and len(data) > limit:
            raise StorageError(f"{uri} is larger than {limit} bytes")
        return data
