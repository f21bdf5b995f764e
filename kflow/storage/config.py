"""Which internal storage a run uses: a small model the shells put in each Invocation.

It carries no credentials. For an `s3` storage the runner reads them from its environment:
`KFLOW_STORAGE_ACCESS_KEY_ID`, `KFLOW_STORAGE_SECRET_ACCESS_KEY`, `KFLOW_STORAGE_SESSION_TOKEN`,
else boto3's usual chain (`AWS_ACCESS_KEY_ID`, ...). On a cluster they come from a Secret.

From the environment (`StorageConfig.from_env()`), `KFLOW_STORAGE` is one of
- `dir:/path` or `/path`: a directory (default `~/.kflow/storage`);
- `s3://bucket[/prefix]?endpoint=http://host:port&region=eu-west-1&pathStyle=true`;
with `KFLOW_STORAGE_ENDPOINT`, `KFLOW_STORAGE_REGION` overriding the query. Without
`KFLOW_STORAGE`, the Helm chart's operator variables are read: `KFLOW_STORAGE_TYPE` (`local` or
`s3`), `KFLOW_STORAGE_S3_ENDPOINT`, `KFLOW_STORAGE_S3_BUCKET`, `KFLOW_STORAGE_S3_REGION`.
"""

from __future__ import annotations

import os
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kflow.storage.base import Storage

DEFAULT_DIR = "~/.kflow/storage"
_CREDENTIALS: dict[str, str] = {}  # given to a runner on its stdin, kept out of its environment


def use_credentials(values: dict[str, str]) -> None:
    """Storage credential variables (KFLOW_STORAGE_ACCESS_KEY_ID, ...) this process uses
    without them being in its environment, where a child process would inherit them."""
    _CREDENTIALS.clear()
    _CREDENTIALS.update(values)


class StorageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["dir", "s3"] = "dir"
    path: str | None = Field(None, description="dir: the root directory.")
    bucket: str | None = Field(None, description="s3: the bucket.")
    prefix: str = Field("", description="s3: a key prefix under which every file goes.")
    endpoint: str | None = Field(None, description="s3: an S3-compatible endpoint URL; AWS when unset.")
    region: str | None = None
    pathStyle: bool | None = Field(None, description="s3: path-style addressing (default: when endpoint is set).")

    @model_validator(mode="after")
    def _complete(self) -> StorageConfig:
        if self.type == "s3" and not self.bucket:
            raise ValueError("an s3 storage needs `bucket`")
        return self

    @classmethod
    def parse(cls, text: str) -> StorageConfig:
        text = text.strip()
        if text.startswith("s3://"):
            parts = urlsplit(text)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            path_style = query.get("pathStyle")
            return cls(
                type="s3",
                bucket=parts.netloc,
                prefix=parts.path.strip("/"),
                endpoint=query.get("endpoint"),
                region=query.get("region"),
                pathStyle=None if path_style is None else path_style.lower() in ("1", "true", "yes"),
            )
        if text.startswith("dir:"):
            text = text[4:]
        if not text:
            raise ValueError("KFLOW_STORAGE: expected dir:/path or s3://bucket?endpoint=...")
        return cls(type="dir", path=text)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> StorageConfig:
        env = os.environ if environ is None else environ
        if not env.get("KFLOW_STORAGE") and env.get("KFLOW_STORAGE_TYPE") == "s3":
            return cls(
                type="s3",
                bucket=env.get("KFLOW_STORAGE_S3_BUCKET") or None,
                endpoint=env.get("KFLOW_STORAGE_S3_ENDPOINT") or None,
                region=env.get("KFLOW_STORAGE_S3_REGION") or None,
            )
        config = cls.parse(env.get("KFLOW_STORAGE") or DEFAULT_DIR)
        if config.type == "s3":
            updates = {}
            if env.get("KFLOW_STORAGE_ENDPOINT"):
                updates["endpoint"] = env["KFLOW_STORAGE_ENDPOINT"]
            if env.get("KFLOW_STORAGE_REGION"):
                updates["region"] = env["KFLOW_STORAGE_REGION"]
            config = config.model_copy(update=updates)
        return config

    def resolved(self) -> StorageConfig:
        """A dir config with its path made absolute (what a shell hands to its runners)."""
        if self.type == "dir":
            return self.model_copy(update={"path": os.path.abspath(os.path.expanduser(self.path or DEFAULT_DIR))})
        return self


def open_storage(config: StorageConfig | None = None, environ: dict[str, str] | None = None) -> Storage:
    config = config or StorageConfig.from_env(environ)
    if config.type == "dir":
        from kflow.storage.directory import DirectoryStorage

        return DirectoryStorage(config.path or DEFAULT_DIR)
    env = {**os.environ, **_CREDENTIALS} if environ is None else environ
    from kflow.storage.s3 import S3Storage

    return S3Storage(
        config.bucket or "",
        config.prefix,
        endpoint=config.endpoint,
        region=config.region,
        access_key=env.get("KFLOW_STORAGE_ACCESS_KEY_ID"),
        secret_key=env.get("KFLOW_STORAGE_SECRET_ACCESS_KEY"),
        session_token=env.get("KFLOW_STORAGE_SESSION_TOKEN"),
        path_style=config.pathStyle,
    )
