"""Kestra's AWS connection properties, shared by every AWS task, and the S3 client they make."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kflow.flow.task import RunnableTask
from kflow.tasks.errors import TaskFailure


class AwsTask(RunnableTask):
    region: str | None = Field(None, description="The AWS region, for example eu-west-1.")
    endpointOverride: str | None = Field(None, description="An S3-compatible endpoint (path-style addressing is used).")
    accessKeyId: str | None = Field(None, description="Static credentials; boto3's default chain when unset.")
    secretKeyId: str | None = None
    sessionToken: str | None = None
    forcePathStyle: bool | None = Field(None, description="Path-style addressing; default: when endpointOverride is set.")
    compatibilityMode: bool | None = Field(None, description="Accepted for Kestra compatibility.")
    stsRoleArn: str | None = Field(None, description="Not supported by kflow: a role to assume.")
    stsRoleExternalId: str | None = None
    stsRoleSessionName: str | None = None
    stsRoleSessionDuration: str | None = None
    stsEndpointOverride: str | None = None

    def client(self) -> Any:
        from kflow.storage.s3 import make_client

        if self.stsRoleArn:
            raise TaskFailure("stsRoleArn (assuming a role) is not supported by kflow yet")
        if bool(self.accessKeyId) != bool(self.secretKeyId):
            raise TaskFailure("accessKeyId and secretKeyId go together; set both or neither")
        return make_client(
            endpoint=self.endpointOverride,
            region=self.region,
            access_key=self.accessKeyId,
            secret_key=self.secretKeyId,
            session_token=self.sessionToken,
            path_style=self.forcePathStyle,
        )


def s3_failure(action: str, bucket: str, key: str | None, err: Exception) -> TaskFailure:
    """`S3 upload to bucket 'b', key 'k' failed: NoSuchBucket: The specified bucket does not exist`."""
    from kflow.storage.s3 import describe_error

    where = f"bucket {bucket!r}" + (f", key {key!r}" if key is not None else "")
    return TaskFailure(f"S3 {action} {where} failed: {describe_error(err)}")
