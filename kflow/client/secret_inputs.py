"""The client's side of SECRET inputs on a cluster (`kflow execute`, the web UI's Execute form):
their values go into a Secret written for the Execution, never into the Execution itself
(shapes: kflow.execution.secret_inputs; the operator reads them: kflow.operator.secret_inputs).

The Secret is made first, so the operator never sees a reference to a Secret that does not
exist yet; that needs the Execution's name beforehand, so it is picked here (generateName's
form: the flow's name and 5 random characters), not by the API server. Once the Execution
exists the Secret gets it as owner and goes with it. If the Execution cannot be created, the
Secret is deleted.
"""

from __future__ import annotations

import secrets as random
from typing import Any, Callable, Iterable

from kflow.execution.secret_inputs import given_secrets, owner_reference, secret_manifest, secret_name, with_references

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet
_TRIES = 5


def create_with_secret_inputs(cluster, body: dict[str, Any], secret_ids: Iterable[str], create: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """`create(body)` (an Execution with `metadata.generateName`), its SECRET inputs moved into
    a Secret it owns; without SECRET values, just `create(body)`."""
    from kflow.client.kube import ClusterError, call

    inputs = body["spec"].get("inputs") or {}
    values = given_secrets(inputs, secret_ids)
    if not values:
        return create(body)
    prefix = body["metadata"].pop("generateName")
    what = f"a Secret for the SECRET inputs in namespace {cluster.namespace!r}"
    for _ in range(_TRIES):
        name = prefix + "".join(random.choice(_ALPHABET) for _ in range(5))
        secret = secret_name(name)
        try:
            call(cluster.core.create_namespaced_secret, cluster.namespace, secret_manifest(secret, name, values), what=what)
        except ClusterError as err:
            if "already exists" in str(err):
                continue
            raise
        break
    else:
        raise ClusterError(f"{what}: no free name after {_TRIES} tries")
    body = {**body, "metadata": {**body["metadata"], "name": name}, "spec": {**body["spec"], "inputs": with_references(inputs, secret, values)}}
    try:
        created = create(body)
    except BaseException:
        call(cluster.core.delete_namespaced_secret, secret, cluster.namespace, what=f"Secret {secret!r}")
        raise
    patch = {"metadata": {"ownerReferences": [owner_reference(created)]}}
    call(cluster.core.patch_namespaced_secret, secret, cluster.namespace, patch, what=f"Secret {secret!r}")
    return created


def resume_with_secret_inputs(cluster, body: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """A resume patch (`spec`) whose SECRET `onResume` values (by the flow snapshot in the
    status) went into a Secret the Execution owns; `resumeInputs` references them."""
    from kflow.client.kube import ClusterError, call
    from kflow.execution.secret_inputs import resume_secret_ids

    inputs = spec.get("resumeInputs") or {}
    values = given_secrets(inputs, resume_secret_ids((body.get("status") or {}).get("flow") or {}))
    if not values:
        return spec
    name = body["metadata"]["name"]
    secret = secret_name(name, f"resume-{spec['resume']}")
    manifest = secret_manifest(secret, name, values, owner=body)
    what = f"Secret {secret!r} for the SECRET resume inputs"
    try:
        call(cluster.core.create_namespaced_secret, cluster.namespace, manifest, what=what)
    except ClusterError as err:
        if "already exists" not in str(err):
            raise
        call(cluster.core.replace_namespaced_secret, secret, cluster.namespace, manifest, what=what)
    return {**spec, "resumeInputs": with_references(inputs, secret, values)}
