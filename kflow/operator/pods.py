"""One pod per task attempt: its manifest, and how it ended in the engine's terms."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from kflow.engine import AttemptEnded, RunTask
from kflow.execution import State
from kflow.operator import names
from kflow.operator.resources import API_VERSION
from kflow.operator.settings import OperatorSettings
from kflow.runner.invocation import Invocation, TaskResult

INVOCATION_ENV = "KFLOW_INVOCATION"
SECRETS_DIR = "/var/run/kflow/secrets"
_PULL_FAILURES = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
_CONFIG_FAILURES = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")


def pod_manifest(execution: dict[str, Any], action: RunTask, invocation: Invocation, settings: OperatorSettings, task=None) -> dict[str, Any]:
    """The pod of one attempt. `task` (its model) may set resources and a node selector."""
    meta = execution["metadata"]
    name = names.pod_name(meta["name"], action.task_id, action.taskrun_id, action.attempt)
    labels = {
        **names.MANAGED_BY,
        names.LABEL_EXECUTION: names.label_value(meta["name"]),
        names.LABEL_FLOW: names.label_value(invocation.flowId),
        names.LABEL_TASK: names.label_value(action.task_id),
        names.LABEL_TASKRUN: names.label_value(action.taskrun_id),
        names.LABEL_ATTEMPT: str(action.attempt),
    }
    container = {
        "name": "task",
        "image": settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["python", "-I", "-m", "kflow.runner", "--invocation", f"env:{INVOCATION_ENV}", "--result", "/dev/termination-log", "--result-limit", "4096"],
        "env": [{"name": INVOCATION_ENV, "value": invocation.model_dump_json()}],
        "resources": _resources(settings, task),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    secret_keys = _secret_keys(invocation, settings)
    _wire_storage_and_secrets(container, settings, bool(secret_keys))
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    runner = getattr(task, "taskRunner", None)
    if runner is not None and runner.nodeSelector:
        spec["nodeSelector"] = dict(runner.nodeSelector)
    if settings.runner_service_account:
        spec["serviceAccountName"] = settings.runner_service_account
    image = script_image(task, settings)
    if image:
        _add_script_container(spec, container, image, settings)
    if secret_keys:
        # Only the keys this task names, mounted in the runner container only; never copied
        # into the pod spec; optional, so a missing key is the task's own "not found".
        items = [{"key": key, "path": key} for key in secret_keys]
        spec["volumes"].append({"name": "secrets", "secret": {"secretName": settings.secrets_secret, "optional": True, "items": items}})
    if action.timeout is not None:
        # The kubelet kills the pod at the deadline; it ends Failed, reason DeadlineExceeded.
        spec["activeDeadlineSeconds"] = max(1, math.ceil(action.timeout))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": {"kflow.io/taskrun-id": action.taskrun_id, "kflow.io/task-id": action.task_id},
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "Execution",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
    }


def script_image(task, settings: OperatorSettings) -> str | None:
    """The image a script runs in, in a container of its own: the task's containerImage, else
    kflow's image. For a WorkingDirectory, the one containerImage its scripts agree on, else
    kflow's. None: the task runs no script."""
    from kflow.tasks.scripts import _ScriptTask

    scripts = [t for t in [task, *(getattr(task, "tasks", None) or [])] if isinstance(t, _ScriptTask)]
    if not scripts:
        return None
    images = {t.containerImage for t in scripts}
    return (images.pop() or settings.image) if len(images) == 1 else settings.image


def _add_script_container(spec: dict[str, Any], runner: dict[str, Any], image: str, settings: OperatorSettings) -> None:
    """The task's scripts run in a container of their own (kflow.tasks.script_container): it
    shares /tmp with the runner container, which stages inputs and collects outputs, and it
    has neither the storage credentials nor the secrets mount nor the runner's processes (no
    shared process namespace). A native sidecar (an init container that always restarts), so
    the pod ends when the runner does, however it ends."""
    from kflow.tasks.script_container import SCRIPT_CONTAINER_COMMAND

    shared = {"name": "KFLOW_SCRIPT_CONTAINER_DIR", "value": "/tmp"}
    runner["env"].append(shared)
    spec["initContainers"] = [
        {
            "name": "script",
            "image": image,
            "imagePullPolicy": settings.image_pull_policy,
            "restartPolicy": "Always",
            "command": ["/bin/sh", "-c", SCRIPT_CONTAINER_COMMAND],
            "env": [shared],
            "resources": runner["resources"],
            "securityContext": runner["securityContext"],
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
    ]


def _secret_keys(invocation: Invocation, settings: OperatorSettings) -> list[str]:
    """The keys of the secrets Secret this task names (`secret('NAME')` as a constant), those
    that can be Secret keys at all."""
    if not settings.secrets_secret:
        return []
    from kflow.runner.secrets import task_secret_names

    return sorted(name for name in task_secret_names(invocation.task) if _SECRET_KEY.fullmatch(name) and name not in (".", ".."))


def _wire_storage_and_secrets(container: dict[str, Any], settings: OperatorSettings, secrets: bool) -> None:
    """Where internal storage is, its credentials by reference, and the flow secrets' mount
    (all in the runner container only)."""
    env = container["env"]
    env.extend({"name": name, "value": value} for name, value in settings.runner_env.items())
    if settings.storage_s3_credentials_secret:
        for target, key in (("KFLOW_STORAGE_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"), ("KFLOW_STORAGE_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY")):
            ref = {"name": settings.storage_s3_credentials_secret, "key": key}
            env.append({"name": target, "valueFrom": {"secretKeyRef": ref}})
    if secrets:
        env.append({"name": "KFLOW_SECRETS_DIR", "value": SECRETS_DIR})
        container["volumeMounts"].append({"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True})


def _resources(settings: OperatorSettings, task) -> dict[str, Any]:
    """The operator's defaults, overridden per key by the task's taskRunner.resources."""
    out = {kind: dict(values) for kind, values in settings.runner_resources.items()}
    runner = getattr(task, "taskRunner", None)
    if runner is not None and runner.resources is not None:
        for kind, values in runner.resources.to_kubernetes().items():
            out.setdefault(kind, {}).update(values)
    return out


def pod_attempt(pod: dict[str, Any]) -> tuple[str, int] | None:
    """The (task run id, attempt) a pod runs, from its annotations and labels."""
    meta = pod.get("metadata") or {}
    taskrun_id = (meta.get("annotations") or {}).get("kflow.io/taskrun-id")
    attempt = (meta.get("labels") or {}).get(names.LABEL_ATTEMPT)
    if taskrun_id is None or attempt is None:
        return None
    return taskrun_id, int(attempt)


def pod_outcome(pod: dict[str, Any], deleted: bool = False) -> AttemptEnded | None:
    """How the pod's attempt ended, with the real reason; None while it still runs."""
    key = pod_attempt(pod)
    if key is None:
        return None
    taskrun_id, attempt = key
    status = pod.get("status") or {}
    phase = status.get("phase")
    container = _container_status(status)
    terminated = ((container or {}).get("state") or {}).get("terminated")

    def ended(state: State, outputs=None, reason=None, children=None) -> AttemptEnded:
        return AttemptEnded(taskrun_id, attempt, state, outputs, reason, children=tuple(children) if children is not None else None)

    if phase == "Succeeded" or (terminated and terminated.get("exitCode") == 0 and phase != "Failed"):
        result = _result(terminated)
        if result is None:
            return ended(State.FAILED, reason="the task pod succeeded but left no result in its termination message")
        return ended(State(result.state), result.outputs, result.reason, result.children)
    if phase == "Failed":
        # A WorkingDirectory that failed still reports the children it ran (the failed one last).
        failed = _result(terminated) if terminated and terminated.get("reason") != "OOMKilled" else None
        return ended(State.FAILED, reason=_failure_reason(pod, status, terminated), children=failed.children if failed else None)
    waiting, image = _waiting(pod, status)
    if waiting and waiting.get("reason") in _PULL_FAILURES | _CONFIG_FAILURES:
        what = f"image {image!r} cannot be pulled" if waiting["reason"] in _PULL_FAILURES else "the container cannot start"
        return ended(State.FAILED, reason=f"{what}: {waiting['reason']}: {waiting.get('message', '')}".rstrip(": "))
    if deleted:
        return ended(State.FAILED, reason=f"pod {pod['metadata']['name']} was deleted before the task ended")
    return None


def pod_stuck(pod: dict[str, Any]) -> bool:
    """A container cannot start (image pull, config): the pod will never end by itself."""
    return _waiting(pod, pod.get("status") or {})[0] is not None


def _waiting(pod: dict[str, Any], status: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """A container of the pod stuck before starting (any of them: runner or script), and its image."""
    spec = pod.get("spec") or {}
    images = {c.get("name"): c.get("image") for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]}
    for container in [*(status.get("containerStatuses") or []), *(status.get("initContainerStatuses") or [])]:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") in _PULL_FAILURES | _CONFIG_FAILURES:
            return waiting, images.get(container.get("name")) or container.get("image")
    return None, None


def _container_status(status: dict[str, Any]) -> dict[str, Any] | None:
    for container in status.get("containerStatuses") or []:
        if container.get("name") == "task":
            return container
    return None


def _result(terminated: dict[str, Any] | None) -> TaskResult | None:
    message = (terminated or {}).get("message")
    if not message:
        return None
    try:
        return TaskResult.model_validate(json.loads(message))
    except (ValueError, TypeError):
        return None


def _failure_reason(pod: dict[str, Any], status: dict[str, Any], terminated: dict[str, Any] | None) -> str:
    pod_reason = status.get("reason")
    if pod_reason == "DeadlineExceeded":
        deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
        return f"timed out after {deadline}s (task timeout); the pod was stopped"
    if pod_reason == "Evicted":
        return f"the pod was evicted: {status.get('message', '')}".strip()
    if terminated:
        reason = terminated.get("reason")
        code = terminated.get("exitCode")
        if reason == "OOMKilled":
            limits = (((pod.get("spec") or {}).get("containers") or [{}])[0].get("resources") or {}).get("limits") or {}
            limit = f" of {limits['memory']}" if "memory" in limits else ""
            return f"OOMKilled: the task used more than its memory limit{limit} (exit code {code})"
        result = _result(terminated)
        if result is not None and result.reason:
            return result.reason
        tail = (terminated.get("message") or "").strip()
        return f"the task exited with code {code}" + (f": {tail[-500:]}" if tail else "")
    return f"the pod failed: {pod_reason or 'unknown reason'} {status.get('message', '')}".strip()
