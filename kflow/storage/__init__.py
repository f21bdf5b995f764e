"""Internal storage: files of executions under `kestra://` URIs, laid out as Kestra lays them.

    from kflow.storage import StorageConfig, open_storage, task_uri
    storage = open_storage(StorageConfig.from_env())
    uri = storage.put_file(path, task_uri(namespace, flow, execution, task, taskrun, "data.json"))
    with storage.open(uri) as stream: ...

Backends: a directory (`dir`, the local default `~/.kflow/storage`) and an S3-compatible
bucket (`s3`, for clusters). Writes are atomic: a file is either fully there or not at all.
"""

from kflow.storage.base import Storage, StorageError, StorageFileNotFound
from kflow.uris import execution_prefix, input_uri, parse_uri, task_prefix, task_uri


def __getattr__(name: str):
    # The config is a pydantic model: imported on first use, so a runner that only writes to
    # a directory (kflow.runner.light) does not load pydantic.
    if name in ("StorageConfig", "open_storage"):
        from kflow.storage import config

        return getattr(config, name)
    raise AttributeError(f"module 'kflow.storage' has no attribute {name!r}")

__all__ = [
    "Storage",
    "StorageConfig",
    "StorageError",
    "StorageFileNotFound",
    "execution_prefix",
    "input_uri",
    "open_storage",
    "parse_uri",
    "task_prefix",
    "task_uri",
]
