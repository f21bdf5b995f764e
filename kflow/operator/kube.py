"""The few Kubernetes API calls the operator makes, off the event loop.

The official client is synchronous; each call runs in a small thread pool so a slow call
never blocks kopf's event loop.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kflow.operator.event_policy import worth_posting
from kflow.operator.resources import GROUP, VERSION


def api_client():
    """A client of the API server: in a pod its service account, else the kubeconfig."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


class Conflict(Exception):
    """The object changed since it was read (HTTP 409 on update)."""


class NotFound(Exception):
    pass


class KubeApi:
    def __init__(self, api_client=None, threads: int = 8):
        from kubernetes import client

        self._client = api_client or client.ApiClient()
        self.core = client.CoreV1Api(self._client)
        self.custom = client.CustomObjectsApi(self._client)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kflow-api")

    async def _call(self, fn, *args, **kwargs) -> Any:
        from kubernetes.client.exceptions import ApiException

        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))
        except ApiException as err:
            if err.status == 409:
                raise Conflict(err.reason) from None
            if err.status == 404:
                raise NotFound(err.reason) from None
            raise

    async def _call_unparsed(self, fn, *args, **kwargs) -> bytes:
        """A call whose answer, JSON bytes, is not turned into the client's model objects (V1Pod,
        CoreV1Event, ...): that walk, with dateutil parsing every timestamp, was a tenth of the
        operator's CPU per one-task execution, for answers it mostly does not read."""

        def call() -> bytes:
            response = fn(*args, _preload_content=False, **kwargs)
            try:
                return response.data
            finally:
                response.release_conn()

        return await self._call(call)

    async def create_pod(self, namespace: str, manifest: dict[str, Any]) -> bool:
        """True when created, False when a pod of that name already exists (adopted)."""
        try:
            await self._call_unparsed(self.core.create_namespaced_pod, namespace, manifest)
            return True
        except Conflict:
            return False

    async def delete_pod(self, namespace: str, name: str) -> None:
        try:
            await self._call_unparsed(self.core.delete_namespaced_pod, name, namespace, grace_period_seconds=0, propagation_policy="Background")
        except NotFound:
            pass

    async def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The pod as the API server has it now (not a cache), None when there is none."""
        try:
            return json.loads(await self._call_unparsed(self.core.read_namespaced_pod, name, namespace))
        except NotFound:
            return None

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any]:
        """A Secret of SECRET input values (kflow.operator.secret_inputs)."""
        return self._client.sanitize_for_serialization(await self._call(self.core.read_namespaced_secret, name, namespace))

    async def create_secret(self, namespace: str, manifest: dict[str, Any]) -> bool:
        """True when created, False when a Secret of that name exists."""
        try:
            await self._call(self.core.create_namespaced_secret, namespace, manifest)
            return True
        except Conflict:
            return False

    async def replace_secret(self, namespace: str, name: str, manifest: dict[str, Any]) -> None:
        await self._call(self.core.replace_namespaced_secret, name, namespace, manifest)

    async def patch_secret(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        await self._call(self.core.patch_namespaced_secret, name, namespace, patch)

    async def get_flow(self, namespace: str, name: str) -> dict[str, Any]:
        return await self._call(self.custom.get_namespaced_custom_object, GROUP, VERSION, namespace, "flows", name)

    async def get_execution(self, namespace: str, name: str) -> dict[str, Any]:
        return await self._call(self.custom.get_namespaced_custom_object, GROUP, VERSION, namespace, "executions", name)

    async def list_flows(self, namespace: str) -> list[dict[str, Any]]:
        body = await self._call(self.custom.list_namespaced_custom_object, GROUP, VERSION, namespace, "flows")
        return body.get("items") or []

    async def list_executions(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        body = await self._call(self.custom.list_namespaced_custom_object, GROUP, VERSION, namespace, "executions", label_selector=label_selector)
        return body.get("items") or []

    async def create_execution(self, namespace: str, body: dict[str, Any]) -> bool:
        """True when created, False when an Execution of that name exists (a trigger's repeat)."""
        try:
            await self._call(self.custom.create_namespaced_custom_object, GROUP, VERSION, namespace, "executions", body)
            return True
        except Conflict:
            return False

    async def create_execution_object(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """The Execution as created (its uid gives its id); Conflict when the name exists."""
        return await self._call(self.custom.create_namespaced_custom_object, GROUP, VERSION, namespace, "executions", body)

    async def list_all_flows(self) -> list[dict[str, Any]]:
        """Flows in every namespace (needs cluster-wide list permission)."""
        body = await self._call(self.custom.list_cluster_custom_object, GROUP, VERSION, "flows")
        return body.get("items") or []

    async def patch_execution(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of an Execution's spec or metadata (a child's kill)."""
        return await self._call(self.custom.patch_namespaced_custom_object, GROUP, VERSION, namespace, "executions", name, patch)

    async def patch_status(self, plural: str, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of the status; `metadata.resourceVersion` in it makes it conditional."""
        return await self._call(self.custom.patch_namespaced_custom_object_status, GROUP, VERSION, namespace, plural, name, patch)

    async def event(self, involved: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        from datetime import datetime, timezone

        if not worth_posting(reason, type_):
            return

        meta = involved["metadata"]
        now = datetime.now(timezone.utc)
        body = {
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"),
                "kind": involved.get("kind"),
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "reason": reason,
            "message": message[:1024],
            "type": type_,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "source": {"component": "kflow-operator"},
            "reportingComponent": "kflow.io/operator",
        }
        try:
            await self._call_unparsed(self.core.create_namespaced_event, meta["namespace"], body)
        except Exception:  # an Event is best effort: never fail a reconcile for it
            pass
