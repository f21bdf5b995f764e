"""Creating an Execution of a Flow on the cluster (`kflow execute`, the web UI's form): its
inputs checked against the Flow's declarations first, FILE inputs given as `@path` uploaded to
internal storage (the operator assigns the Kestra execution id only once the Execution exists,
so uploads go under a fresh id of their own in the flow's `executions/` folder).
"""

from __future__ import annotations

from typing import Any, Iterable

from kflow.client.inputs import UsageError


def checked_inputs(flow, given: dict[str, Any], storage: str | None) -> dict[str, Any]:
    """The given inputs checked against the flow's declarations (InputsError naming each bad one),
    typed, FILE inputs given as `@path` uploaded to internal storage: what an Execution's spec gets."""
    from kflow.flow.inputs import resolve_inputs

    # First pass: every input checked, nothing uploaded; second: files uploaded, values final.
    resolve_inputs(flow.inputs, given, files=_check_file)
    if any(isinstance(v, str) and v.startswith("@") for v in given.values()):
        resolved = resolve_inputs(flow.inputs, given, files=_uploader(storage, flow.namespace, flow.id))
    else:
        resolved = resolve_inputs(flow.inputs, given)
    return {key: resolved[key] for key in given if key in resolved}


def find_flow(cluster, flow: str) -> dict[str, Any]:
    """The Flow by resource name, else by the name `kflow apply` derives from a flow id."""
    from kflow.client.kube import NotFound, resource_name

    try:
        return cluster.get("flows", flow)
    except NotFound:
        derived = resource_name(flow)
        if derived and derived != flow:
            try:
                return cluster.get("flows", derived)
            except NotFound:
                pass
        raise NotFound(f"flow {flow!r} not found in namespace {cluster.namespace!r}; `kflow apply FILE` creates it, `kflow get flows` lists them") from None


def secret_ids(flow) -> list[str]:
    return [i.id for i in flow.inputs if i.type == "SECRET"]


def create_execution(cluster, flow_name: str, inputs: dict[str, Any], labels: dict[str, str], secret_ids: Iterable[str] = ()) -> dict[str, Any]:
    """The Execution; the values of its SECRET inputs (`secret_ids`) go into a Secret it owns,
    `spec.inputs` references them (kflow/client/secret_inputs.py)."""
    from kflow.client.kube import GROUP, VERSION, call
    from kflow.client.secret_inputs import create_with_secret_inputs

    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Execution",
        "metadata": {"generateName": f"{flow_name[:57]}-"},
        "spec": {"flowRef": {"name": flow_name}, "inputs": inputs, "labels": labels},
    }
    return create_with_secret_inputs(cluster, body, secret_ids, lambda body: call(
        cluster.custom.create_namespaced_custom_object, GROUP, VERSION, cluster.namespace, "executions", body,
        what=f"creating an Execution of flow {flow_name!r} in namespace {cluster.namespace!r}"))


def _check_file(input_id: str, value: Any) -> str:
    """The first pass: a FILE input's `@path` must be a readable file; nothing is stored."""
    from kflow.client.uploads import local_file

    local_file(value)
    return f"kestra:///check/{input_id}"


def _uploader(storage: str | None, namespace: str, flow_id: str):
    import os

    from kflow.client.uploads import FileUploader
    from kflow.engine import new_execution_id
    from kflow.storage import StorageConfig

    text = storage or os.environ.get("KFLOW_STORAGE")
    if not text:
        raise UsageError("a FILE input given as @path is uploaded to the operator's internal storage: "
                         "pass --storage s3://bucket?endpoint=... or set KFLOW_STORAGE")
    try:
        config = StorageConfig.parse(text) if storage else StorageConfig.from_env()
    except ValueError as err:
        raise UsageError(f"--storage/KFLOW_STORAGE: {err}") from None
    return FileUploader(config.resolved(), namespace, flow_id, new_execution_id())
