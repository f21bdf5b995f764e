"""How the operator runs task pods: read from the environment (set by the Helm chart)."""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import BaseModel, Field

from kflow.storage import StorageConfig


class OperatorSettings(BaseModel):
    image: str = Field("localhost/kflow:dev", description="Image of the runner pods.")
    image_pull_policy: str = "IfNotPresent"
    runner_service_account: str | None = Field(None, description="Service account of runner pods (no token mounted).")
    runner_resources: dict[str, Any] = Field(
        default_factory=lambda: {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}}
    )
    keep_finished_pods: str = Field("OnFailure", description="Always, Never or OnFailure: which finished pods are kept.")
    namespaces: list[str] = Field(default_factory=list, description="Kubernetes namespaces watched; empty for all.")
    api_server: str | None = Field(None, description="API server URL given to pods that need one.")
    storage: StorageConfig | None = Field(None, description="Internal storage of task files (an S3 bucket on a cluster).")
    storage_s3_credentials_secret: str | None = Field(
        None, description="Secret, in each namespace where executions run, with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the storage bucket."
    )
    runner_env: dict[str, str] = Field(default_factory=dict, description="More environment variables of runner pods (ENV_X is Kestra's envs.x).")
    secrets_secret: str | None = Field(
        None, description="Secret, in each namespace where executions run, whose keys are what secret('NAME') reads."
    )

    @classmethod
    def from_env(cls) -> OperatorSettings:
        values: dict[str, Any] = {}
        if os.environ.get("KFLOW_STORAGE", "").startswith("s3://") or os.environ.get("KFLOW_STORAGE_TYPE") == "s3":
            values["storage"] = StorageConfig.from_env()
        for name in cls.model_fields:
            if name == "storage":
                continue
            raw = os.environ.get(f"KFLOW_{name.upper()}")
            if raw is None:
                continue
            values[name] = json.loads(raw) if name in ("runner_resources", "namespaces", "runner_env") else raw
        return cls.model_validate(values)
