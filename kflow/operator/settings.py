"""How the operator runs task pods: read from the environment (set by the Helm chart)."""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import BaseModel, Field


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

    @classmethod
    def from_env(cls) -> OperatorSettings:
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = os.environ.get(f"KFLOW_{name.upper()}")
            if raw is None:
                continue
            values[name] = json.loads(raw) if name in ("runner_resources", "namespaces") else raw
        return cls.model_validate(values)
