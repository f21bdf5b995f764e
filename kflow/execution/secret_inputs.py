"""SECRET input values on a cluster: in a Kubernetes Secret, never in the Execution object.

Whoever creates an Execution (`kflow execute`, the web UI, a trigger, a Subflow) writes the
values of its SECRET inputs into a Secret annotated `kflow.io/inputs-of: <execution name>`
(owned by the Execution, so it goes with it), and `spec.inputs.<id>` holds only a reference:
`{secretKeyRef: {name, key}}`. The operator reads a referenced Secret only when that annotation
names the Execution: an Execution cannot borrow a Secret that was not written for it. These are
the shapes both sides agree on (kflow.operator.secret_inputs reads them for the operator).
"""

from __future__ import annotations

import base64
from typing import Any, Iterable

from kflow.execution.names import LABEL_EXECUTION, MANAGED_BY, _digest, label_value

REF = "secretKeyRef"
INPUTS_OF = "kflow.io/inputs-of"  # annotation: the Execution a Secret of inputs was written for
MOUNT_DIR = "/var/run/kflow/inputs"  # where a runner pod finds them, one file per input id
DIR_ENV = "KFLOW_SECRET_INPUTS_DIR"


class SecretInputError(ValueError):
    """A SECRET input given in a way the operator refuses; the message names the field."""


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {REF}


def reference(secret: str, key: str) -> dict[str, Any]:
    return {REF: {"name": secret, "key": key}}


def secret_name(execution_name: str, what: str = "inputs") -> str:
    """The Secret that holds an Execution's SECRET inputs (`what`: "resume-<n>" for a resume's)."""
    name = f"{execution_name}-{what}"
    return name if len(name) <= 253 else f"{execution_name[:200]}-{_digest(execution_name, 10)}-{what}"


def given_secrets(inputs: dict[str, Any], secret_ids: Iterable[str]) -> dict[str, str]:
    """The values given to SECRET inputs as plain text (not yet references)."""
    ids = set(secret_ids)
    return {k: v for k, v in inputs.items() if k in ids and isinstance(v, str)}


def secret_manifest(name: str, execution_name: str, values: dict[str, str], owner: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Secret of `values`, written for `execution_name` (`owner`: that Execution's body)."""
    meta: dict[str, Any] = {
        "name": name,
        "labels": {**MANAGED_BY, LABEL_EXECUTION: label_value(execution_name)},
        "annotations": {INPUTS_OF: execution_name},
    }
    if owner is not None:
        meta["ownerReferences"] = [owner_reference(owner)]
    data = {key: base64.b64encode(value.encode("utf-8")).decode() for key, value in values.items()}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": meta, "data": data}


def owner_reference(execution: dict[str, Any]) -> dict[str, Any]:
    """Owned, not controlled: the Secret goes with the Execution (no blockOwnerDeletion, which
    would need delete rights on Executions from whoever writes it)."""
    meta = execution["metadata"]
    return {"apiVersion": execution.get("apiVersion") or "kflow.io/v1alpha1", "kind": "Execution", "name": meta["name"], "uid": meta["uid"]}


def with_references(inputs: dict[str, Any], secret: str, keys: Iterable[str]) -> dict[str, Any]:
    """`inputs` with each of `keys` replaced by a reference to that key of `secret`."""
    keys = set(keys)
    return {k: (reference(secret, k) if k in keys else v) for k, v in inputs.items()}


def values_from(secret: dict[str, Any], execution_name: str, refs: dict[str, tuple[str, str]], field: str) -> dict[str, str]:
    """The values `refs` (input id -> (secret, key)) point at in `secret`, checked: it must have
    been written for `execution_name`, and hold each key."""
    meta = secret.get("metadata") or {}
    name = meta.get("name")
    if (meta.get("annotations") or {}).get(INPUTS_OF) != execution_name:
        raise SecretInputError(f"{field}: Secret {name!r} was not written for this Execution: annotate it "
                               f"{INPUTS_OF}={execution_name} (kflow execute does)")
    data = secret.get("data") or {}
    values = {}
    for input_id, (_, key) in refs.items():
        if key not in data:
            raise SecretInputError(f"{field}.{input_id}: Secret {name!r} has no key {key!r}")
        try:
            values[input_id] = base64.b64decode(data[key]).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise SecretInputError(f"{field}.{input_id}: key {key!r} of Secret {name!r} is not UTF-8 text") from None
    return values


def references(inputs: dict[str, Any], secret_ids: Iterable[str], field: str) -> dict[str, tuple[str, str]]:
    """Input id -> (secret, key) of each reference in `inputs`. A SECRET input in plain text, a
    reference for another type, or a malformed one is refused, naming the field and the fix."""
    ids = set(secret_ids)
    refs = {}
    for input_id, value in inputs.items():
        if input_id in ids and isinstance(value, str):
            raise SecretInputError(
                f"{field}.{input_id}: a SECRET input's value is not accepted in plain text in an Execution (whoever reads "
                f"Executions would see it): put it in a Secret annotated {INPUTS_OF}=<execution name> and give "
                f"{{{REF}: {{name: SECRET, key: KEY}}}}, or use `kflow execute`, which does")
        if not isinstance(value, dict) or REF not in value:
            continue
        if input_id not in ids:
            raise SecretInputError(f"{field}.{input_id}: {REF} is for SECRET inputs only")
        target = value.get(REF)
        if not is_reference(value) or not isinstance(target, dict) or not all(isinstance(target.get(k), str) and target.get(k) for k in ("name", "key")):
            raise SecretInputError(f"{field}.{input_id}: expected {{{REF}: {{name: SECRET, key: KEY}}}}")
        refs[input_id] = (target["name"], target["key"])
    return refs


def resume_secret_ids(flow: Any) -> set[str]:
    """Ids of the SECRET inputs a Pause's `onResume` declares anywhere in a flow (as plain data)."""
    found: set[str] = set()
    if isinstance(flow, dict):
        declared = flow.get("onResume")
        for item in declared if isinstance(declared, list) else ():
            if isinstance(item, dict) and item.get("type") == "SECRET":
                found.add(str(item.get("id") or item.get("name")))
        for value in flow.values():
            found |= resume_secret_ids(value)
    elif isinstance(flow, list):
        for value in flow:
            found |= resume_secret_ids(value)
    return found
