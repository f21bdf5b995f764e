"""The KV store on a cluster: one ConfigMap per key, in the Kubernetes namespace of the
Executions that use it.

Why one per key: a key's value is bounded by one object (the API server's 1 MiB; values are
kept under 512 KiB), writers of different keys never conflict, a create is atomic (409 when the
key exists: `overwrite: false`), a delete is one call, and `kubectl get configmaps -l
kflow.io/kv=true` lists them (`-l kflow.io/kv-namespace=company.team` for one Kestra namespace).
No ownerReference: a value outlives the Execution that set it, as in Kestra. Only the operator
reads and writes them (in its engine threads): runner pods get no API rights.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable

from kflow.kv.store import KVEntry, KVStore

LABEL = "kflow.io/kv"
NAMESPACE_LABEL = "kflow.io/kv-namespace"
KEY_ANNOTATION = "kflow.io/kv-key"
NAMESPACE_ANNOTATION = "kflow.io/kv-namespace"
DATA_KEY = "entry.json"
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")


def configmap_name(namespace: str, key: str) -> str:
    """Deterministic and DNS-safe (keys are case-sensitive, names are not): a digest of both."""
    return "kflow-kv-" + hashlib.sha256(f"{namespace}:{key}".encode()).hexdigest()[:32]


def namespace_label(namespace: str) -> str:
    """The Kestra namespace as a label value; a digest when it is not one (too long)."""
    return namespace if _LABEL_VALUE.match(namespace) else "h-" + hashlib.sha256(namespace.encode()).hexdigest()[:40]


class ConfigMapKV(KVStore):
    def __init__(self, core_api, k8s_namespace: str):
        self.core = core_api  # a kubernetes CoreV1Api (synchronous: called from engine threads)
        self.k8s_namespace = k8s_namespace

    def _manifest(self, namespace: str, key: str, entry: KVEntry) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": configmap_name(namespace, key),
                "labels": {LABEL: "true", NAMESPACE_LABEL: namespace_label(namespace), "app.kubernetes.io/managed-by": "kflow"},
                "annotations": {NAMESPACE_ANNOTATION: namespace, KEY_ANNOTATION: key},
            },
            "data": {DATA_KEY: entry.model_dump_json()},
        }

    def _read(self, namespace: str, key: str) -> KVEntry | None:
        from kubernetes.client.exceptions import ApiException

        try:
            body = self.core.read_namespaced_config_map(configmap_name(namespace, key), self.k8s_namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return _entry(body.data)

    def _write(self, namespace: str, key: str, entry: KVEntry, create: bool) -> bool:
        from kubernetes.client.exceptions import ApiException

        manifest = self._manifest(namespace, key, entry)
        try:
            self.core.create_namespaced_config_map(self.k8s_namespace, manifest)
            return True
        except ApiException as err:
            if err.status != 409:
                raise
        if create:
            return False
        self.core.replace_namespaced_config_map(manifest["metadata"]["name"], self.k8s_namespace, manifest)
        return True

    def _remove(self, namespace: str, key: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.core.delete_namespaced_config_map(configmap_name(namespace, key), self.k8s_namespace)
        except ApiException as err:
            if err.status != 404:
                raise

    def _namespaces(self) -> Iterable[str]:
        listed = self.core.list_namespaced_config_map(self.k8s_namespace, label_selector=f"{LABEL}=true")
        return [(item.metadata.annotations or {}).get(NAMESPACE_ANNOTATION, "") for item in listed.items]

    def _entries(self, namespace: str) -> Iterable[tuple[str, KVEntry]]:
        selector = f"{LABEL}=true,{NAMESPACE_LABEL}={namespace_label(namespace)}"
        listed = self.core.list_namespaced_config_map(self.k8s_namespace, label_selector=selector)
        for item in listed.items:
            annotations = item.metadata.annotations or {}
            entry = _entry(item.data)
            if annotations.get(NAMESPACE_ANNOTATION) == namespace and entry is not None:
                yield annotations.get(KEY_ANNOTATION, ""), entry


def _entry(data: dict[str, str] | None) -> KVEntry | None:
    raw = (data or {}).get(DATA_KEY)
    if raw is None:
        return None
    try:
        return KVEntry.model_validate_json(raw)
    except ValueError:
        return None  # edited by hand into something else: read as missing
