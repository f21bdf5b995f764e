"""The attempt logs runners keep in internal storage, as the log Fetch task reads them
(kflow.attempt_logs): what `kflow run` gives the engine, and the operator's last resort."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kflow.attempt_logs import NoLogStorage
from kflow.storage.base import StorageError
from kflow.uris import attempt_log_uri

if TYPE_CHECKING:
    from kflow.execution import Execution, TaskRun
    from kflow.storage.base import Storage


class StoredAttemptLogs:
    """The logs runners kept in internal storage (storage None: none configured)."""

    def __init__(self, storage: Storage | None):
        self.storage = storage

    def read(self, execution: Execution, taskrun: TaskRun, attempt: int, limit: int) -> bytes | None:
        if self.storage is None:
            return None
        uri = attempt_log_uri(execution.namespace, execution.flowId, execution.id, taskrun.taskId, taskrun.id, attempt)
        try:
            with self.storage.open(uri) as source:
                return source.read(limit)
        except (StorageError, OSError):
            return None

    def store(self, data: bytes, uri: str) -> None:
        if self.storage is None:
            raise NoLogStorage("no internal storage is configured, and the `uri` output is a file there "
                               "(set storage in the Helm values, or KFLOW_STORAGE)")
        self.storage.put_bytes(data, uri)
