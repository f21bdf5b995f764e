"""What a running task can use: its log, the expression renderer, secrets, internal storage."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from kflow.runner.invocation import ChildResult
    from kflow.runner.secrets import TaskSecrets
    from kflow.storage import Storage, StorageConfig

from kflow.masking import MASK, Masker  # noqa: F401 - MASK re-exported
from kflow.runner.secrets import env_secret  # noqa: F401 - re-exported for tools and tests

READ_LIMIT = 10 * 1024 * 1024  # read() returns at most this many bytes, as text

_LEVELS = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4}


class TaskLogger:
    """Log lines on stdout, `<instant> <LEVEL> <message>`, with secret values masked."""

    def __init__(self, stream: TextIO = sys.stdout, min_level: str = "INFO", tee: TextIO | None = None):
        self.stream = stream
        self.min_level = _LEVELS.get(min_level, 2)
        self.masker = Masker()  # the values this task read: secrets, SECRET inputs
        self.tee = tee  # a copy of every line, stored as the attempt's log once it ends

    def emit(self, level: str, message: str) -> None:
        if _LEVELS.get(level, 2) < self.min_level:
            return
        message = self.mask(message)
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for line in message.splitlines() or [""]:
            self.stream.write(f"{stamp} {level:<5} {line}\n")
            if self.tee is not None:
                self.tee.write(f"{stamp} {level:<5} {line}\n")
        self.stream.flush()

    def mask(self, text: str) -> str:
        """`text` with every secret value seen so far replaced by ****** (kflow.masking)."""
        return self.masker.mask(text)

    def mask_value(self, value: Any) -> Any:
        """`mask` applied to every string value in JSON-like data; keys are kept."""
        return self.masker.mask_value(value)

    def debug(self, message: str) -> None:
        self.emit("DEBUG", message)

    def info(self, message: str) -> None:
        self.emit("INFO", message)

    def warn(self, message: str) -> None:
        self.emit("WARN", message)

    def error(self, message: str) -> None:
        self.emit("ERROR", message)


def env_variables() -> dict[str, str]:
    """Kestra's `envs.foo` reads ENV_FOO."""
    return {key[4:].lower(): value for key, value in os.environ.items() if key.startswith("ENV_")}


@dataclass(frozen=True)
class TaskLocation:
    """Which task run this is: where its files go in internal storage."""

    namespace: str
    flowId: str
    executionId: str
    taskId: str
    taskRunId: str

    def log_uri(self, attempt: int) -> str:
        """Where attempt N's log is kept, next to the task run's files: `kflow logs` reads it
        once the pod is gone."""
        from kflow.uris import attempt_log_uri

        return attempt_log_uri(self.namespace, self.flowId, self.executionId, self.taskId, self.taskRunId, attempt)


class RunContext:
    def __init__(
        self,
        context: dict[str, Any],
        log: TaskLogger,
        workdir: str,
        *,
        location: TaskLocation | None = None,
        storage: StorageConfig | Storage | None = None,
        secrets: TaskSecrets | None = None,
    ):
        self.variables = context
        self.log = log
        self.workdir = workdir
        self.location = location
        self._storage = storage
        self.secrets = secrets  # which secrets it may read; None: any the runner has (tests, tools)
        self.state = "SUCCESS"  # a task may lower it to WARNING with warning()
        self.warnings: list[str] = []
        # Set by a task that runs child tasks itself (WorkingDirectory): how each ended.
        self.children: list[ChildResult] | None = None

    # -- secrets and rendering ---------------------------------------------------------------
    def secret(self, name: str) -> str:
        value = self.secrets.read(name) if self.secrets is not None else env_secret(name)
        self.log.masker.add(value)
        return value

    def render(self, value: Any) -> Any:
        from kflow.expr import render_value

        return render_value(value, self.variables, secret=self.secret, read=self.read, size=self.file_size)

    def warning(self, reason: str) -> None:
        """End the task WARNING (its outputs are kept), saying why in its log."""
        self.state = "WARNING"
        self.warnings.append(reason)
        self.log.warn(reason)

    # -- internal storage --------------------------------------------------------------------
    @property
    def storage(self) -> Storage:
        from kflow.storage import Storage, open_storage

        if not isinstance(self._storage, Storage):
            self._storage = open_storage(self._storage)
        return self._storage

    def _where(self) -> TaskLocation:
        if self.location is None:
            raise RuntimeError("this task run has no location in internal storage")
        return self.location

    def output_uri(self, name: str) -> str:
        """The `kestra://` URI of this task run's file `name` (a relative path)."""
        from kflow.storage import task_uri

        where = self._where()
        return task_uri(where.namespace, where.flowId, where.executionId, where.taskId, where.taskRunId, name)

    def put_output_file(self, path: str | Path, name: str | None = None) -> str:
        """Store a local file as one of this task run's files; returns its URI."""
        return self.storage.put_file(path, self.output_uri(name or Path(path).name))

    def check_uri(self, uri: str) -> str:
        """The URI if this task may read it: files of its own namespace only, as in Kestra."""
        from kflow.uris import namespace_path, parse_uri

        path = parse_uri(uri)
        if self.location is not None and not path.startswith(namespace_path(self.location.namespace) + "/"):
            raise PermissionError(f"{uri} belongs to another namespace than {self.location.namespace!r}")
        return uri

    def open_uri(self, uri: str):
        """A readable binary stream of a `kestra://` file."""
        return self.storage.open(self.check_uri(uri))

    def fetch(self, uri: str, dest: str | Path | None = None) -> Path:
        """Copy a `kestra://` file into the working directory (or to `dest`); returns its local path."""
        from kflow.uris import parse_uri

        self.check_uri(uri)
        if dest is None:
            dest = Path(self.workdir) / ".kflow-fetched" / parse_uri(uri).rsplit("/", 1)[-1]
        return self.storage.get_file(uri, Path(self.workdir) / dest if not Path(dest).is_absolute() else dest)

    def file_size(self, uri: str) -> int | None:
        """A stored file's size in bytes; None when there is no such file (fileExists, fileSize, isFileEmpty)."""
        uri = self.check_uri(uri)
        return self.storage.size(uri) if self.storage.exists(uri) else None

    def read(self, uri: str) -> str:
        """Kestra's read(): a stored file's content as text (at most 10 MiB)."""
        with self.open_uri(uri) as stream:
            data = stream.read(READ_LIMIT + 1)
        if len(data) > READ_LIMIT:
            raise ValueError(f"{uri} is larger than {READ_LIMIT} bytes; read() is for small files")
        return data.decode("utf-8", errors="replace")
