"""Kestra's internal-storage tasks that read or write whole files: Write, Size, Delete, Concat,
Reverse, PurgeCurrentExecutionFiles. Files are streamed (never loaded whole), in 1 MiB chunks
or line by line; a line longer than MAX_LINE fails the task instead of filling memory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Iterator

from pydantic import Field

from kflow.flow.task import RunnableTask
from kflow.tasks.errors import TaskFailure

if TYPE_CHECKING:
    from kflow.runner.context import RunContext

CHUNK = 1024 * 1024
MAX_LINE = 16 * 1024 * 1024  # one row (line or item) at most; a longer one fails the task
MAX_CONCAT_FILES = 10_000
_BYTES = re.compile(r"^\s*(\d+)\s*([KMGT]?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3, "T": 1024**4, "TB": 1024**4}


def parse_bytes(value: str | int, what: str) -> int:
    """Micronaut's readable sizes as Kestra takes them: 1024, "200KB", "10MB" (powers of 1024)."""
    match = _BYTES.match(str(value))
    if not match or int(match.group(1)) <= 0:
        raise TaskFailure(f"{what}: {value!r} is not a size such as 1048576, 200KB or 10MB")
    return int(match.group(1)) * _UNITS[(match.group(2) or "").upper()]


def extension_of(uri: str) -> str:
    """The extension of a stored file (`.csv`), as Kestra gives its outputs the input's."""
    return PurePosixPath(uri).suffix


def iter_lines(stream: BinaryIO, what: str) -> Iterator[bytes]:
    """Each line of a binary stream without its line end (\\n or \\r\\n), as Java's readLine."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            raise TaskFailure(f"{what}: a line is longer than {MAX_LINE} bytes")
        yield line.rstrip(b"\n").removesuffix(b"\r")


def reversed_lines(path: Path, what: str) -> Iterator[bytes]:
    """A local file's lines, last first, read backwards in chunks (the file is never loaded)."""
    with open(path, "rb") as f:
        position = f.seek(0, os.SEEK_END)
        tail = b""
        first = True
        while position > 0:
            step = min(CHUNK, position)
            position -= step
            f.seek(position)
            tail = f.read(step) + tail
            parts = tail.split(b"\n")
            tail = parts.pop(0)
            if len(tail) > MAX_LINE:
                raise TaskFailure(f"{what}: a line is longer than {MAX_LINE} bytes")
            for line in reversed(parts):
                if first and line == b"":
                    first = False  # the file's final line end does not start an empty line
                    continue
                first = False
                yield line.removesuffix(b"\r")
        if tail or not first:
            yield tail.removesuffix(b"\r")


def uri_list(value: Any, what: str) -> list[str]:
    """A list of URIs given as a list or as its JSON (an expression renders to text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TaskFailure(f"{what}: expected a list of kestra:// URIs")
    return value


def store_local(ctx: RunContext, path: Path, name: str) -> str:
    uri = ctx.put_output_file(path, name)
    ctx.log.info(f"stored {uri}")
    return uri


class Write(RunnableTask):
    """Kestra's Write: `content` into a new file of internal storage; output `uri`."""

    content: str = Field(description="The file's content (text).")
    extension: str = Field(".ion", description="The file's extension, `.ion` by default as in Kestra.")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        data = self.content.encode("utf-8")
        uri = ctx.storage.put_bytes(data, ctx.output_uri(f"write{self.extension}"))
        ctx.log.info(f"wrote {len(data)} bytes to {uri}")
        return {"uri": uri}


class Size(RunnableTask):
    """Kestra's Size: the size of a stored file in bytes; output `size`."""

    uri: str = Field(description="The kestra:// URI of the file.")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        return {"size": ctx.storage.size(ctx.check_uri(self.uri))}


class Delete(RunnableTask):
    """Kestra's Delete: remove a stored file (of this flow's namespace); outputs `uri`, `deleted`."""

    uri: str = Field(description="The kestra:// URI of the file.")
    errorOnMissing: bool = Field(False, description="Fail when the file does not exist.")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        deleted = ctx.storage.delete(ctx.check_uri(self.uri))
        if not deleted and self.errorOnMissing:
            raise TaskFailure(f"uri: {self.uri} does not exist in internal storage")
        return {"uri": self.uri, "deleted": deleted}


class Concat(RunnableTask):
    """Kestra's Concat: stored files one after another, `separator` between them; output `uri`."""

    files: list[str] | str = Field(description="The kestra:// URIs, a list or its JSON.")
    separator: str | None = Field(None, description="Written between two files (for example a line end).")
    extension: str = Field(".tmp", description="The new file's extension.")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        uris = uri_list(self.files, "files")
        if len(uris) > MAX_CONCAT_FILES:
            raise TaskFailure(f"files: {len(uris)} files; at most {MAX_CONCAT_FILES} are concatenated at once")
        separator = (self.separator or "").encode("utf-8")
        target = ctx.output_uri(f"concat{self.extension}")
        with ctx.storage.writer(target) as out:
            for index, uri in enumerate(uris):
                if index and separator:
                    out.write(separator)
                with ctx.open_uri(uri) as source:
                    shutil.copyfileobj(source, out, CHUNK)
        ctx.log.info(f"concatenated {len(uris)} files into {target}")
        return {"uri": target}


class Reverse(RunnableTask):
    """Kestra's Reverse: a stored file's lines, last first, each followed by `separator`."""

    from_: str = Field(alias="from", description="The kestra:// URI of the file.")
    extension: str = Field(".tmp", description="The new file's extension.")
    charset: str = Field("UTF-8", description="The file's character set.")
    separator: str = Field("\n", description="Written after each line.")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        import codecs

        try:
            codecs.lookup(self.charset)
        except LookupError:
            raise TaskFailure(f"charset: unknown character set {self.charset!r}") from None
        local = ctx.fetch(self.from_)
        separator = self.separator.encode(self.charset)
        result = Path(ctx.workdir) / f".kflow-reverse{self.extension}"
        with open(result, "wb") as out:
            for line in reversed_lines(local, "from"):
                out.write(line + separator)
        return {"uri": store_local(ctx, result, f"reverse{self.extension}")}


class PurgeCurrentExecutionFiles(RunnableTask):
    """Kestra's PurgeCurrentExecutionFiles: delete every stored file of this execution (inputs
    and task outputs; attempt logs are kept for `kflow logs`); output `uris`, the deleted ones."""

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from kflow.uris import execution_prefix, to_uri

        where = ctx.location
        if where is None:
            raise TaskFailure("this task run has no execution in internal storage to purge")
        prefix = execution_prefix(where.namespace, where.flowId, where.executionId)
        deleted = []
        for uri in ctx.storage.list_prefix(to_uri(prefix)):
            if "/logs/attempt-" in uri:
                continue
            if ctx.storage.delete(uri):
                deleted.append(uri)
        ctx.log.info(f"deleted {len(deleted)} files of execution {where.executionId}")
        return {"uris": deleted}
