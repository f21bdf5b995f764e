"""An Execution's attempt logs on a cluster, for the log Fetch task (kflow.tasks.log_fetch).

Read where `kflow logs` reads them (kflow.client.logs): the task pod while it exists (the
`task` container, at most `limit` bytes asked of the kubelet), else the bounded copy the
operator kept in a ConfigMap named after the pod (kflow.operator.pod_logs), else the runner's
copy in internal storage. Fetch's file goes to internal storage, opened with the credentials
Secret the runner pods get (`storage.s3.credentialsSecret`) when there is one. Called from the
engine's step, which runs off kopf's event loop, so these calls are synchronous.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kflow.storage.attempt_logs import StoredAttemptLogs
from kflow.execution.names import pod_name
from kflow.operator.pod_logs import archived_logs

if TYPE_CHECKING:
    from kflow.execution import Execution, TaskRun
    from kflow.storage import Storage, StorageConfig

CONTAINER = "task"
_TIMEOUT = (5, 60)


class ClusterAttemptLogs:
    def __init__(self, core, k8s_namespace: str, execution_name: str, storage: StorageConfig | None,
                 credentials_secret: str | None):
        self.core = core  # kubernetes.client.CoreV1Api
        self.k8s_namespace, self.execution_name = k8s_namespace, execution_name
        self.storage_config, self.credentials_secret = storage, credentials_secret
        self._stored: StoredAttemptLogs | None = None

    def read(self, execution: Execution, taskrun: TaskRun, attempt: int, limit: int) -> bytes | None:
        from kubernetes.client.exceptions import ApiException

        name = pod_name(self.execution_name, taskrun.taskId, taskrun.id, attempt)
        try:
            response = self.core.read_namespaced_pod_log(name, self.k8s_namespace, container=CONTAINER, limit_bytes=limit,
                                                         _request_timeout=_TIMEOUT, _preload_content=False)
            return response.data
        except ApiException as err:
            if err.status not in (400, 404):  # 400: the container never started
                raise ValueError(f"could not read the log of pod {name}: {err.status} {err.reason}") from None
        kept = self._kept(name)
        if kept is not None:
            return kept.encode("utf-8")[:limit]
        return self.stored().read(execution, taskrun, attempt, limit)

    def store(self, data: bytes, uri: str) -> None:
        self.stored().store(data, uri)

    def _kept(self, name: str) -> str | None:
        from kubernetes.client.exceptions import ApiException

        try:
            response = self.core.read_namespaced_config_map(name, self.k8s_namespace, _request_timeout=_TIMEOUT, _preload_content=False)
        except ApiException as err:
            if err.status == 404:
                return None
            raise ValueError(f"could not read the kept log ConfigMap {name}: {err.status} {err.reason}") from None
        return archived_logs(json.loads(response.data)).get(CONTAINER)

    def stored(self) -> StoredAttemptLogs:
        """Internal storage, opened once, when first needed (None inside: none configured)."""
        if self._stored is None:
            self._stored = StoredAttemptLogs(self._open_storage())
        return self._stored

    def _open_storage(self) -> Storage | None:
        from kflow.storage import open_storage

        if self.storage_config is None:
            return None
        environ: dict[str, Any] | None = None
        if self.credentials_secret:
            environ = {f"KFLOW_STORAGE_{key.removeprefix('AWS_')}": value for key, value in self._credentials().items()}
        return open_storage(self.storage_config, environ)

    def _credentials(self) -> dict[str, str]:
        """AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) of the Secret runner pods get them from."""
        import base64

        from kubernetes.client.exceptions import ApiException

        try:
            secret = self.core.read_namespaced_secret(self.credentials_secret, self.k8s_namespace, _request_timeout=_TIMEOUT)
        except ApiException as err:
            raise ValueError(f"could not read the storage credentials Secret {self.credentials_secret!r}: {err.status} {err.reason}") from None
        return {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()
                if key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
