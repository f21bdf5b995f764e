"""FILE inputs given on the command line as `@path` (kflow run, kflow execute)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def local_file(value: Any) -> Path:
    """The readable file an `@path` value names; ValueError says what is wrong with it."""
    if not isinstance(value, str) or not value.startswith("@"):
        raise ValueError("give a file as @path (or a kestra:// URI of a stored file)")
    path = Path(value[1:]).expanduser()
    if not path.is_file():
        raise ValueError(f"{path} is not a readable file")
    return path


class FileUploader:
    """FILE inputs given as `@path`: stored under the execution's `inputs/<input id>/` in storage."""

    def __init__(self, config, namespace: str, flow_id: str, execution_id: str):
        self.config = config
        self.namespace, self.flow_id, self.execution_id = namespace, flow_id, execution_id

    def __call__(self, input_id: str, value) -> str:
        from kflow.storage import input_uri, open_storage

        path = local_file(value)
        uri = input_uri(self.namespace, self.flow_id, self.execution_id, input_id, path.name)
        return open_storage(self.config).put_file(path, uri)
