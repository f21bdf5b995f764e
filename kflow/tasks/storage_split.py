"""Kestra's Split: a stored file cut into several by `rows`, `bytes`, `partitions` (rows dealt
round-robin, empty files dropped) or `regexPattern` (rows grouped by the first capture group;
rows that do not match are dropped), each row written followed by `separator`; output `uris`.

Streamed row by row; at most MAX_FILES files are produced, MAX_OPEN of them written at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from pydantic import Field, model_validator

from kflow.flow.task import RunnableTask
from kflow.tasks.errors import TaskFailure
from kflow.tasks.storage_files import extension_of, iter_lines, parse_bytes, store_local

if TYPE_CHECKING:
    from kflow.runner.context import RunContext

MAX_FILES = 10_000  # files one Split produces
MAX_OPEN = 500  # partitions or regex groups: files written at once


class Split(RunnableTask):
    from_: str = Field(alias="from", description="The kestra:// URI of the file to split.")
    rows: int | str | None = Field(None, description="At most this many rows per file.")
    bytes_: str | int | None = Field(None, alias="bytes", description="A new file once one reaches this size: 10MB, 200KB or a number.")
    partitions: int | str | None = Field(None, description="This many files, rows dealt round-robin.")
    regexPattern: str | None = Field(None, description="Rows grouped into one file per value of the first capture group.")
    separator: str = Field("\n", description="Written after each row.")

    @model_validator(mode="after")
    def _one_way(self) -> Split:
        given = [name for name in ("rows", "bytes_", "partitions", "regexPattern") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of rows, bytes, partitions, regexPattern")
        return self

    def run(self, ctx: RunContext) -> dict[str, Any]:
        source = ctx.fetch(self.from_)
        parts = _Parts(Path(ctx.workdir) / ".kflow-split", extension_of(self.from_), self.separator.encode("utf-8"))
        try:
            with open(source, "rb") as stream:
                self._deal(stream, parts)
        finally:
            parts.close()
        uris = [store_local(ctx, path, f"split-{n:04d}{parts.extension}") for n, path in enumerate(parts.written(), 1)]
        return {"uris": uris}

    def _deal(self, stream: BinaryIO, parts: _Parts) -> None:
        rows = iter_lines(stream, "from")
        if self.partitions is not None:
            count = _positive(self.partitions, "partitions")
            if count > MAX_OPEN:
                raise TaskFailure(f"partitions: {count}; at most {MAX_OPEN} partitions are made by one Split")
            for index, row in enumerate(rows):
                parts.write(index % count, row)
        elif self.regexPattern is not None:
            from kflow.expr.regexes import RegexError, compile_pattern, search

            try:
                if compile_pattern(self.regexPattern).groups < 1:
                    raise TaskFailure("regexPattern: needs a capture group, for example \\[(\\w+)\\]")
                keys: dict[str, int] = {}
                for row in rows:
                    match = search(self.regexPattern, row.decode("utf-8", errors="replace"))
                    if match is not None:
                        key = match.group(1) or ""
                        if key not in keys and len(keys) >= MAX_OPEN:
                            raise TaskFailure(f"regexPattern: more than {MAX_OPEN} distinct groups; at most {MAX_OPEN} files are made by one Split")
                        parts.write(keys.setdefault(key, len(keys)), row)
            except RegexError as err:
                raise TaskFailure(f"regexPattern: {err}") from None
        else:
            limit = _positive(self.rows, "rows") if self.rows is not None else parse_bytes(self.bytes_, "bytes")
            by_rows = self.rows is not None
            current, size, count = 0, 0, 0
            for row in rows:
                if count and (count >= limit if by_rows else size >= limit):
                    parts.finish(current)
                    current, size, count = current + 1, 0, 0
                size += parts.write(current, row)
                count += 1


class _Parts:
    """The files a Split writes, opened as rows first reach them."""

    def __init__(self, folder: Path, extension: str, separator: bytes):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.extension, self.separator = folder, extension, separator
        self.files: dict[int, Any] = {}  # index -> open handle, or None once finished

    def write(self, index: int, row: bytes) -> int:
        handle = self.files.get(index)
        if index not in self.files:
            if index >= MAX_FILES:
                raise TaskFailure(f"the split would make more than {MAX_FILES} files; split into larger parts")
            handle = self.files[index] = open(self.folder / f"{index:06d}{self.extension}", "wb")
        data = row + self.separator
        handle.write(data)
        return len(data)

    def finish(self, index: int) -> None:
        self.files[index].close()
        self.files[index] = None

    def close(self) -> None:
        for handle in self.files.values():
            if handle is not None:
                handle.close()

    def written(self) -> list[Path]:
        return [self.folder / f"{index:06d}{self.extension}" for index in sorted(self.files)]


def _positive(value: int | str, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise TaskFailure(f"{what}: {value!r} is not a whole number") from None
    if number <= 0:
        raise TaskFailure(f"{what}: must be at least 1, got {number}")
    return number
