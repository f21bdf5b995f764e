"""S3 tasks as Kestra's aws plugin has them: Upload, Download, List, Delete.

`from` (Upload) takes `kestra://` URIs; Download stores the object in internal storage and
returns its URI. Objects stream through in bounded chunks: memory does not grow with size.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from kflow.expr.regexes import RegexError, compile_pattern
from kflow.expr.regexes import fullmatch as regex_fullmatch
from kflow.tasks.aws.connection import AwsTask, s3_failure
from kflow.tasks.errors import TaskFailure

if TYPE_CHECKING:
    from kflow.runner.context import RunContext

CHUNK = 1024 * 1024


class _S3Object(AwsTask):
    bucket: str = Field(description="The bucket.")
    requestPayer: str | None = Field(None, description="`requester` when the requester pays.")

    def _payer(self) -> dict[str, Any]:
        return {"RequestPayer": self.requestPayer} if self.requestPayer else {}


def _sources(value: str | list[str]) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise TaskFailure(f"`from` looks like a JSON list but is not valid JSON: {text[:200]}") from None
        return [str(v) for v in parsed]
    return [text]


class Upload(_S3Object):
    """Uploads internal-storage files to S3; outputs `bucket`, `key`, `eTag`, `versionId`."""

    key: str = Field(description="The object key; with several `from` files, the prefix they go under.")
    from_: str | list[str] = Field(alias="from", description="A kestra:// URI, or a list of them.")
    acl: str | None = None
    cacheControl: str | None = None
    contentType: str | None = None
    contentEncoding: str | None = None
    contentDisposition: str | None = None
    contentLanguage: str | None = None
    contentLength: int | None = Field(None, description="Accepted; the real size is sent.")
    expires: str | None = None
    metadata: dict[str, str] | None = None
    storageClass: str | None = None
    serverSideEncryption: str | None = None
    bucketKeyEnabled: bool | None = None
    checksumAlgorithm: str | None = None
    expectedBucketOwner: str | None = None
    objectLockMode: str | None = None
    objectLockRetainUntilDate: str | None = None
    objectLockLegalHoldStatus: str | None = None
    tagging: str | None = None

    def _extra_args(self) -> dict[str, Any]:
        names = {
            "acl": "ACL", "cacheControl": "CacheControl", "contentType": "ContentType",
            "contentEncoding": "ContentEncoding", "contentDisposition": "ContentDisposition",
            "contentLanguage": "ContentLanguage", "expires": "Expires", "metadata": "Metadata",
            "storageClass": "StorageClass", "serverSideEncryption": "ServerSideEncryption",
            "bucketKeyEnabled": "BucketKeyEnabled", "checksumAlgorithm": "ChecksumAlgorithm",
            "expectedBucketOwner": "ExpectedBucketOwner", "objectLockMode": "ObjectLockMode",
            "objectLockRetainUntilDate": "ObjectLockRetainUntilDate",
            "objectLockLegalHoldStatus": "ObjectLockLegalHoldStatus", "tagging": "Tagging",
            "requestPayer": "RequestPayer",
        }
        return {boto: getattr(self, ours) for ours, boto in names.items() if getattr(self, ours) is not None}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from kflow.storage.directory import DirectoryStorage
        from kflow.storage.s3 import transfer_config

        sources = _sources(self.from_)
        if not sources:
            raise TaskFailure("`from` is empty: nothing to upload")
        keys = [self.key] if len(sources) == 1 else [f"{self.key.rstrip('/')}/{s.rsplit('/', 1)[-1]}" for s in sources]
        client = self.client()
        extra = self._extra_args()
        for source, key in zip(sources, keys):
            if not source.startswith("kestra://"):
                raise TaskFailure(f"S3 upload to bucket {self.bucket!r}, key {key!r}: `from` must be a kestra:// URI, got {source!r}")
            try:
                ctx.check_uri(source)
                storage = ctx.storage
                ctx.log.info(f"uploading {source} to s3://{self.bucket}/{key}")
                if isinstance(storage, DirectoryStorage):
                    client.upload_file(str(storage.local_path(source)), self.bucket, key, ExtraArgs=extra, Config=transfer_config())
                else:
                    with storage.open(source) as stream:
                        client.upload_fileobj(stream, self.bucket, key, ExtraArgs=extra, Config=transfer_config())
            except (FileNotFoundError, PermissionError, ValueError) as err:
                raise TaskFailure(f"S3 upload to bucket {self.bucket!r}, key {key!r} failed: {err}") from None
            except Exception as err:  # noqa: BLE001 - boto3/s3transfer errors of every kind
                raise s3_failure("upload to", self.bucket, key, err) from None
        try:
            head = client.head_object(Bucket=self.bucket, Key=keys[-1], **self._payer())
        except Exception as err:  # noqa: BLE001
            raise s3_failure("upload to", self.bucket, keys[-1], err) from None
        out = {"bucket": self.bucket, "key": keys[-1] if len(keys) == 1 else self.key, "eTag": head.get("ETag")}
        if head.get("VersionId"):
            out["versionId"] = head["VersionId"]
        if len(keys) > 1:
            out["keys"] = keys
        return out


class Download(_S3Object):
    """Downloads an object into internal storage; outputs `uri`, `contentLength`, `contentType`,
    `metadata`, `eTag`, `versionId`."""

    key: str = Field(description="The object key.")
    versionId: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        client = self.client()
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key, **self._payer()}
        if self.versionId:
            args["VersionId"] = self.versionId
        name = self.key.rstrip("/").rsplit("/", 1)[-1] or "object"
        uri = ctx.output_uri(name)
        try:
            response = client.get_object(**args)
            length = 0
            with ctx.storage.writer(uri) as out:
                for chunk in response["Body"].iter_chunks(CHUNK):
                    out.write(chunk)
                    length += len(chunk)
        except Exception as err:  # noqa: BLE001
            raise s3_failure("download from", self.bucket, self.key, err) from None
        ctx.log.info(f"downloaded s3://{self.bucket}/{self.key} ({length} bytes) to {uri}")
        out = {
            "uri": uri,
            "contentLength": length,
            "contentType": response.get("ContentType"),
            "metadata": response.get("Metadata") or {},
            "eTag": response.get("ETag"),
        }
        if response.get("VersionId"):
            out["versionId"] = response["VersionId"]
        return out


class List(_S3Object):
    """Lists objects; outputs `objects` (key, size, etag, lastModified, storageClass, uri)."""

    prefix: str | None = None
    delimiter: str | None = None
    marker: str | None = Field(None, description="Start after this key.")
    encodingType: str | None = None
    maxKeys: int = Field(1000, description="At most this many objects.")
    expectedBucketOwner: str | None = None
    regexp: str | None = Field(None, description="Keep only keys matching this regular expression.")
    filter: Literal["FILES", "DIRECTORY", "BOTH"] = "BOTH"

    def run(self, ctx: RunContext) -> dict[str, Any]:
        client = self.client()
        args: dict[str, Any] = {"Bucket": self.bucket, **self._payer()}
        for ours, boto in (("prefix", "Prefix"), ("delimiter", "Delimiter"), ("marker", "StartAfter"),
                           ("encodingType", "EncodingType"), ("expectedBucketOwner", "ExpectedBucketOwner")):
            if getattr(self, ours) is not None:
                args[boto] = getattr(self, ours)
        if self.regexp:
            try:
                compile_pattern(self.regexp)
            except RegexError as err:
                raise TaskFailure(f"regexp: {err}") from None
        objects: list[dict[str, Any]] = []
        try:
            for page in client.get_paginator("list_objects_v2").paginate(**args):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    is_dir = key.endswith("/")
                    if (self.filter == "FILES" and is_dir) or (self.filter == "DIRECTORY" and not is_dir):
                        continue
                    if self.regexp and not regex_fullmatch(self.regexp, key):
                        continue
                    objects.append({
                        "key": key,
                        "size": item.get("Size"),
                        "etag": item.get("ETag"),
                        "lastModified": item["LastModified"].isoformat().replace("+00:00", "Z") if item.get("LastModified") else None,
                        "storageClass": item.get("StorageClass"),
                        "uri": f"s3://{self.bucket}/{key}",
                    })
                    if len(objects) >= self.maxKeys:
                        break
                if len(objects) >= self.maxKeys:
                    break
        except Exception as err:  # noqa: BLE001
            raise s3_failure("listing of", self.bucket, None, err) from None
        ctx.log.info(f"listed {len(objects)} objects in s3://{self.bucket}/{self.prefix or ''}")
        return {"objects": objects}


class Delete(_S3Object):
    """Deletes an object; outputs `deleteMarker`, `versionId`."""

    key: str = Field(description="The object key.")
    bypassGovernanceRetention: bool | None = None
    mfa: str | None = None

    def run(self, ctx: RunContext) -> dict[str, Any]:
        client = self.client()
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key, **self._payer()}
        if self.bypassGovernanceRetention is not None:
            args["BypassGovernanceRetention"] = self.bypassGovernanceRetention
        if self.mfa:
            args["MFA"] = self.mfa
        try:
            response = client.delete_object(**args)
        except Exception as err:  # noqa: BLE001
            raise s3_failure("delete in", self.bucket, self.key, err) from None
        ctx.log.info(f"deleted s3://{self.bucket}/{self.key}")
        return {"deleteMarker": bool(response.get("DeleteMarker", False)), "versionId": response.get("VersionId")}
