"""How the operator runs task pods: read from the environment (set by the Helm chart) by pydantic-settings."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from kflow.storage import StorageConfig


class OperatorSettings(BaseModel):
    image: str = Field("localhost/kflow:dev", description="Image of the runner pods.")
    image_pull_policy: str = "IfNotPresent"
    runner_service_account: str | None = Field(None, description="Service account of runner pods (no token mounted).")
    runner_resources: dict[str, Any] = Field(
        default_factory=lambda: {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}}
    )
    keep_finished_pods: str = Field("OnFailure", description="Always, Never or OnFailure: which finished pods are kept.")
    collect_finished_pods: Literal["AtEnd", "WhenRecorded"] = Field(
        "AtEnd",
        description="When the finished pods keep_finished_pods does not keep are deleted: at the end of the execution, "
        "or as soon as the status records their attempt's end (loops of thousands of tasks: pods do not pile up).",
    )
    status_chunk_size: int = Field(50, ge=1, description="Finished task runs per sealed chunk of an Execution's status.archive.")
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
    max_pods_in_flight: int = Field(100, ge=0, description="Runner pods the operator keeps in flight at most, all Executions together (0: no cap); "
                                    "more attempts wait, listed in status.waiting.")
    max_pods_per_execution: int = Field(50, ge=0, description="Runner pods one Execution has in flight at most (0: no cap).")
    metrics_port: int = Field(8080, ge=0, le=65535, description="Port of the Prometheus metrics endpoint (/metrics on 0.0.0.0); 0 disables it.")

    @classmethod
    def from_env(cls) -> OperatorSettings:
        """The settings in the environment: KFLOW_<FIELD> (JSON for the mappings and lists)."""
        return cls.model_validate(dict(_Environment()))


class _Environment(BaseSettings, OperatorSettings):
    """OperatorSettings read by pydantic-settings; `storage` comes from StorageConfig.from_env."""

    model_config = SettingsConfigDict(env_prefix="KFLOW_", extra="ignore")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        return (init_settings, _EnvWithoutStorage(settings_cls))

    @model_validator(mode="before")
    @classmethod
    def _storage(cls, data: Any) -> Any:
        if os.environ.get("KFLOW_STORAGE", "").startswith("s3://") or os.environ.get("KFLOW_STORAGE_TYPE") == "s3":
            data = {**data, "storage": StorageConfig.from_env()}
        return data


class _EnvWithoutStorage(EnvSettingsSource):
    """KFLOW_STORAGE is a URI (s3://bucket/prefix), which StorageConfig.from_env reads."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        if field_name == "storage":
            return None, field_name, False
        return super().get_field_value(field, field_name)
