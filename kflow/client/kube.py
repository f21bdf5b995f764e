"""The CLI's connection to a cluster: kubeconfig, context, namespace, and API errors as one line.

The `kubernetes` client is imported here only, on first use, so `kflow run` and
`kflow completion` never pay for it.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from typing import Any

GROUP = "kflow.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0


class ClusterError(Exception):
    """The cluster cannot be reached or refused a request: one line for the user, exit code 1."""


class NotFound(ClusterError):
    """A named Flow, Execution or pod does not exist: exit code 2 (the user named it)."""


def add_cluster_args(parser: argparse.ArgumentParser, all_namespaces: bool = False) -> None:
    group = parser.add_argument_group("cluster")
    group.add_argument("--namespace", "-n", metavar="NS", help="Kubernetes namespace (default: the kubeconfig context's, else `default`)")
    if all_namespaces:
        group.add_argument("--all-namespaces", "-A", action="store_true", help="every namespace")
    group.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    group.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current one)")


@dataclass
class Cluster:
    """An API client bound to the namespace a command works in."""

    api: Any  # kubernetes.client.ApiClient
    namespace: str
    server: str

    @property
    def custom(self):
        from kubernetes import client

        return client.CustomObjectsApi(self.api)

    @property
    def core(self):
        from kubernetes import client

        return client.CoreV1Api(self.api)

    # -- kflow resources -----------------------------------------------------------------------
    def get(self, plural: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        namespace = namespace or self.namespace
        return call(self.custom.get_namespaced_custom_object, GROUP, VERSION, namespace, plural, name, what=f"{_kind(plural)} {name!r} in namespace {namespace!r}")

    def list(self, plural: str, all_namespaces: bool = False, **kwargs: Any) -> list[dict[str, Any]]:
        if all_namespaces:
            found = call(self.custom.list_cluster_custom_object, GROUP, VERSION, plural, what=f"{plural} in any namespace", **kwargs)
        else:
            found = call(self.custom.list_namespaced_custom_object, GROUP, VERSION, self.namespace, plural, what=f"{plural} in namespace {self.namespace!r}", **kwargs)
        return found.get("items") or []

    def patch_spec(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return call(
            self.custom.patch_namespaced_custom_object, GROUP, VERSION, self.namespace, "executions", name, {"spec": spec},
            what=f"execution {name!r} in namespace {self.namespace!r}",
        )


def connect(args: argparse.Namespace) -> Cluster:
    """A client from --kubeconfig/--context (else KUBECONFIG, ~/.kube/config, in-cluster)."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    path = getattr(args, "kubeconfig", None)
    context = getattr(args, "context", None)
    if path and not os.path.isfile(os.path.expanduser(path)):
        raise ClusterError(f"--kubeconfig {path}: no such file")
    namespace = "default"
    try:
        api = config.new_client_from_config(config_file=path, context=context, persist_config=False)
        contexts, active = config.list_kube_config_contexts(config_file=path)
        chosen = next((c for c in contexts if c["name"] == context), None) if context else active
        namespace = ((chosen or {}).get("context") or {}).get("namespace") or "default"
    except ConfigException as err:
        where = path or os.environ.get("KUBECONFIG") or "~/.kube/config"
        if context and f"name {context} " in str(err):
            raise ClusterError(f"--context {context}: no such context in {where}") from None
        if path or context or "KUBERNETES_SERVICE_HOST" not in os.environ:
            raise ClusterError(f"no usable kubeconfig ({where}): {str(err).rstrip('.')}; set KUBECONFIG or pass --kubeconfig") from None
        api = _in_cluster()
        namespace = _in_cluster_namespace()
    except OSError as err:
        raise ClusterError(f"cannot read the kubeconfig: {err}") from None
    limit_retries(api)
    namespace = getattr(args, "namespace", None) or namespace
    return Cluster(api, namespace, api.configuration.host)


def _in_cluster():
    from kubernetes import client, config

    config.load_incluster_config()
    return client.ApiClient()


def _in_cluster_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as handle:
            return handle.read().strip() or "default"
    except OSError:
        return "default"


def limit_retries(api) -> None:
    """One quick retry, not urllib3's default three: an unreachable server fails in seconds."""
    import urllib3

    retries = urllib3.Retry(total=1, connect=1, read=0, backoff_factor=0.2)
    api.configuration.retries = retries
    api.rest_client.pool_manager.connection_pool_kw["retries"] = retries


def call(fn, *args: Any, what: str, **kwargs: Any) -> Any:
    """An API call with timeouts; HTTP errors become ClusterError/NotFound naming `what`."""
    from kubernetes.client.exceptions import ApiException

    kwargs.setdefault("_request_timeout", (CONNECT_TIMEOUT, READ_TIMEOUT))
    try:
        return fn(*args, **kwargs)
    except ApiException as err:
        raise api_error(err, what) from None


def api_error(err, what: str) -> ClusterError:
    message = _server_message(err)
    if err.status == 404:
        if "the server could not find the requested resource" in message:
            return ClusterError(f"{what}: the kflow CRDs are not installed in this cluster (helm install kflow helm/kflow, or kubectl apply -f crds/)")
        return NotFound(f"{what} not found")
    if err.status in (401, 403):
        return ClusterError(f"{what}: access denied ({err.status}): {message}")
    return ClusterError(f"{what}: {message} (HTTP {err.status})")


def _server_message(err) -> str:
    import json

    try:
        return json.loads(err.body).get("message") or err.reason
    except (TypeError, ValueError, AttributeError):
        return str(err.reason)


def _kind(plural: str) -> str:
    return {"flows": "flow", "executions": "execution"}.get(plural, plural)


def is_connection_error(err: BaseException) -> bool:
    """True for errors meaning "the API server cannot be reached" (refused, DNS, TLS, timeout)."""
    import ssl

    import urllib3.exceptions

    return isinstance(err, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError, ssl.SSLError))


def connection_message(err: BaseException) -> str:
    import urllib3.exceptions

    reason = getattr(err, "reason", None) if isinstance(err, urllib3.exceptions.MaxRetryError) else err
    text = str(reason or err)
    text = re.sub(r"<urllib3[^>]*>: ", "", text)
    return f"cannot reach the Kubernetes API server: {text}"


def resource_name(flow_id: str) -> str:
    """A Flow resource name (DNS-1123) from a Kestra flow id: lowercase, `.`/`_` to `-`."""
    return re.sub(r"[^a-z0-9-]+", "-", flow_id.lower())[:253].strip("-")
