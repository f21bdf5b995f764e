"""The operator's side of SECRET inputs (shapes: kflow.execution.secret_inputs).

It reads the values an Execution's `spec.inputs` references when it starts or reloads the
Execution (never from its status, which shows ******), writes them into a Secret for the
Executions it creates itself (Subflow children, triggers), and gives a runner pod only the
references: the pod mounts the keys of the SECRET inputs its task reads, in its runner
container, and the invocation in its spec carries no value (every other variable masked).
"""

from __future__ import annotations

from typing import Any, Iterable

from kflow.execution.secret_inputs import (
    DIR_ENV,
    MOUNT_DIR,
    SecretInputError,
    given_secrets,
    owner_reference,
    references,
    resume_secret_ids,
    secret_manifest,
    secret_name,
    values_from,
    with_references,
)
from kflow.masking import Masker
from kflow.operator.kube import KubeApi, NotFound
from kflow.runner.invocation import Invocation

Refs = dict[str, tuple[str, str]]  # input id -> (Secret name, key)


def secret_ids(flow) -> list[str]:
    return [i.id for i in flow.inputs if i.type == "SECRET"]


async def read_values(api: KubeApi, namespace: str, execution_name: str, inputs: dict[str, Any], ids: Iterable[str],
                      field: str = "spec.inputs") -> tuple[dict[str, str], Refs]:
    """The values `inputs` references, and the references; SecretInputError names the field."""
    refs = references(inputs, ids, field)
    values: dict[str, str] = {}
    for name in sorted({secret for secret, _ in refs.values()}):
        mine = {i: ref for i, ref in refs.items() if ref[0] == name}
        try:
            secret = await api.get_secret(namespace, name)
        except NotFound:
            raise SecretInputError(f"{field}.{min(mine)}: Secret {name!r} not found in namespace {namespace!r}") from None
        values.update(values_from(secret, execution_name, mine, field))
    return values, refs


async def store_values(api: KubeApi, namespace: str, execution_name: str, inputs: dict[str, Any], ids: Iterable[str],
                       owner: dict[str, Any] | None = None) -> dict[str, Any]:
    """For an Execution the operator creates: its SECRET inputs go into a Secret written for it
    (owned by `owner`, else adopted by `adopt` once it exists); returns the inputs with references."""
    values = given_secrets(inputs, ids)
    if not values:
        return inputs
    name = secret_name(execution_name)
    manifest = secret_manifest(name, execution_name, values, owner)
    if not await api.create_secret(namespace, manifest):  # made before a crash: same values, same name
        await api.replace_secret(namespace, name, manifest)
    return with_references(inputs, name, values)


async def adopt(api: KubeApi, namespace: str, execution_name: str) -> None:
    """The Execution exists now: its Secret of inputs goes with it."""
    try:
        execution = await api.get_execution(namespace, execution_name)
        await api.patch_secret(namespace, secret_name(execution_name), {"metadata": {"ownerReferences": [owner_reference(execution)]}})
    except NotFound:
        pass


async def resume_values(api: KubeApi, namespace: str, execution_name: str, given: dict[str, Any], flow,
                        masker: Masker) -> tuple[dict[str, Any], str | None]:
    """spec.resumeInputs, SECRET ones read from the Secret `kflow resume` wrote, their values masked
    from then on (a Pause's output `onResume` shows ******, also to later tasks). A reference that
    cannot be read is left out, so the Pause fails naming the input; the second value says why."""
    ids = resume_secret_ids(flow.model_dump(mode="json", by_alias=True, exclude_unset=True))
    if not ids:
        return given, None
    try:
        values, _ = await read_values(api, namespace, execution_name, given, ids, "spec.resumeInputs")
    except SecretInputError as err:
        return {k: v for k, v in given.items() if k not in ids}, str(err)
    for value in values.values():
        masker.add(value)
    return {**given, **values}, None


def pod_invocation(invocation: Invocation, masker: Masker) -> Invocation:
    """What a pod spec may show of an invocation: SECRET inputs left out (the runner reads them
    from its mount, `fill` in kflow.runner.secrets), any other appearance of their values masked."""
    context = masker.mask_value(invocation.context) if masker else dict(invocation.context)
    inputs = dict(context.get("inputs") or {})
    for input_id in invocation.secretInputs:
        if input_id in inputs:
            inputs[input_id] = None
    context["inputs"] = inputs
    return invocation.model_copy(update={"context": context})


def mount(manifest: dict[str, Any], refs: Refs, invocation: Invocation) -> None:
    """The runner container mounts the keys of the SECRET inputs this task reads (those in its
    context), read-only, one file per input id; the script container, if any, does not."""
    wanted = {i: refs[i] for i in invocation.secretInputs if i in refs and i in (invocation.context.get("inputs") or {})}
    if not wanted:
        return
    sources: dict[str, list[dict[str, str]]] = {}
    for input_id, (secret, key) in sorted(wanted.items()):
        sources.setdefault(secret, []).append({"key": key, "path": input_id})
    volume = {"name": "secret-inputs", "projected": {"sources": [{"secret": {"name": s, "items": items}} for s, items in sources.items()]}}
    manifest["spec"]["volumes"].append(volume)
    runner = manifest["spec"]["containers"][0]
    runner["volumeMounts"].append({"name": "secret-inputs", "mountPath": MOUNT_DIR, "readOnly": True})
    runner["env"].append({"name": DIR_ENV, "value": MOUNT_DIR})


__all__ = ["SecretInputError", "adopt", "mount", "pod_invocation", "read_values", "resume_values", "secret_ids", "store_values"]
