"""Internal storage in an S3-compatible bucket (boto3, imported here only).

A URI's path becomes the object key (under an optional prefix). A write goes to a local temp
file first and is uploaded whole once the writer succeeds: a failed task leaves no object, and
boto3's multipart upload is aborted by boto3 itself when the upload fails.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import Any, BinaryIO, Iterator

from kflow.storage.base import Storage, StorageError, StorageFileNotFound
from kflow.uris import parse_uri

_MISSING = {"NoSuchKey", "404", "NotFound"}


def make_client(
    *,
    endpoint: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    path_style: bool | None = None,
) -> Any:
    """A boto3 S3 client; path-style addressing whenever an endpoint is given (unless told not to)."""
    import boto3
    from botocore.config import Config

    style = "path" if (path_style if path_style is not None else bool(endpoint)) else "auto"
    config = Config(
        s3={"addressing_style": style},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        signature_version="s3v4",
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint or None,
        region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        aws_session_token=session_token or None,
        config=config,
    )


def transfer_config() -> Any:
    """Multipart in 16 MiB parts, two at a time: memory stays bounded whatever the size."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024, max_concurrency=2)


def unwrap(err: BaseException) -> BaseException:
    """The botocore error under boto3's S3UploadFailedError / s3transfer wrappers, if any."""
    seen = err
    for _ in range(5):
        if getattr(seen, "response", None):
            return seen
        inner = getattr(seen, "last_exception", None) or seen.__cause__ or seen.__context__
        if inner is None:
            break
        seen = inner
    return err


def error_code(err: Exception) -> str:
    err = unwrap(err)
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")) or type(err).__name__


def describe_error(err: Exception) -> str:
    """`Code: message` for a botocore ClientError; the exception text for anything else."""
    err = unwrap(err)
    response = getattr(err, "response", None)
    if response:
        error = response.get("Error", {})
        code = error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        message = error.get("Message") or ""
        return f"{code}: {message}".rstrip(": ")
    text = f"{type(err).__name__}: {err}"
    cause = (getattr(err, "kwargs", None) or {}).get("error")  # botocore's connection errors keep urllib3's (errno, host, port)
    return f"{text} ({cause})" if cause is not None else text


class S3Storage(Storage):
    def __init__(self, bucket: str, prefix: str = "", client: Any = None, **client_options: Any):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or make_client(**client_options)

    def describe(self) -> str:
        return f"bucket {self.bucket}" + (f" prefix {self.prefix}" if self.prefix else "")

    def key(self, uri: str) -> str:
        path = parse_uri(uri).lstrip("/")
        return f"{self.prefix}/{path}" if self.prefix else path

    def _fail(self, action: str, uri: str, err: Exception) -> StorageError:
        if error_code(err) in _MISSING:
            return StorageFileNotFound(uri, self.describe())
        return StorageError(f"cannot {action} {uri} (bucket {self.bucket!r}, key {self.key(uri)!r}): {describe_error(err)}")

    @contextmanager
    def writer(self, uri: str) -> Iterator[BinaryIO]:
        key = self.key(uri)
        fd, temp = tempfile.mkstemp(prefix="kflow-upload-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
            try:
                self.client.upload_file(temp, self.bucket, key, Config=transfer_config())
            except Exception as err:  # noqa: BLE001 - every upload failure is reported the same way
                raise self._fail("write", uri, err) from None
        finally:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass

    def put_file(self, path, uri: str) -> str:
        try:
            self.client.upload_file(str(path), self.bucket, self.key(uri), Config=transfer_config())
        except Exception as err:  # noqa: BLE001
            raise self._fail("write", uri, err) from None
        return uri

    def open(self, uri: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(uri))["Body"]
        except Exception as err:  # noqa: BLE001
            raise self._fail("read", uri, err) from None

    def get_file(self, uri: str, path):
        from pathlib import Path

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(self.bucket, self.key(uri), str(path), Config=transfer_config())
        except Exception as err:  # noqa: BLE001
            raise self._fail("read", uri, err) from None
        return path

    def exists(self, uri: str) -> bool:
        try:
            self.size(uri)
            return True
        except StorageFileNotFound:
            return False

    def size(self, uri: str) -> int:
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self.key(uri))["ContentLength"])
        except Exception as err:  # noqa: BLE001
            raise self._fail("stat", uri, err) from None

    def delete(self, uri: str) -> bool:
        if not self.exists(uri):
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(uri))
        except Exception as err:  # noqa: BLE001
            raise self._fail("delete", uri, err) from None
        return True

    def list_prefix(self, uri: str) -> Iterator[str]:
        from kflow.uris import to_uri

        folder = self.key(uri).rstrip("/") + "/"
        skip = len(self.prefix) + 1 if self.prefix else 0
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder):
                for item in page.get("Contents", []):
                    yield to_uri("/" + item["Key"][skip:])
        except Exception as err:  # noqa: BLE001
            raise self._fail("list", uri, err) from None
