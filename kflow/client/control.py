"""Kill, restart, resume and replay an Execution: the spec fields the operator acts on (the
CLI's `kflow kill|restart|resume` and the web UI's buttons).

restart and resume are counters (raise by one): asking twice means twice, and the status
records the value last acted on.
"""

from __future__ import annotations

from kflow.client.inputs import UsageError
from kflow.execution.status import ExecutionStatus


def request_action(cluster, name: str, action: str, inputs: list[str] = ()) -> None:
    """Ask the operator to kill, restart or resume an Execution (the CLI's and the web UI's way);
    `inputs` (NAME=VALUE) go with a resume, for a Pause's `onResume`.

    Raises UsageError when the execution's state does not allow it, ClusterError when refused.
    """
    from kflow.client.kube import ClusterError

    for _ in range(5):  # the patch is conditional on what was read: on a conflict, read again
        body = cluster.get("executions", name)
        try:
            spec = _spec_patch(action, name, body, inputs)
            if spec.get("resumeInputs"):  # SECRET ones go into a Secret, never in the spec
                from kflow.client.secret_inputs import resume_with_secret_inputs

                spec = resume_with_secret_inputs(cluster, body, spec)
            _patch(cluster, name, body, spec)
            return
        except ClusterError as err:
            if "HTTP 409" not in str(err):
                raise
    raise ClusterError(f"execution {name!r} kept changing under us: try again")


def replay_execution(cluster, name: str, taskrun_id: str) -> dict:
    """A new Execution replaying `name` from one of its task runs (`spec.replay`): what ran before is kept."""
    from kflow.client.kube import GROUP, VERSION, call
    from kflow.execution.status import taskruns_by_id

    body = cluster.get("executions", name)
    status = ExecutionStatus.read(body.get("status"))
    if not status.ended:
        raise UsageError(f"execution {name!r} is {status.current or 'not started'}: only an ended execution is replayed")
    if taskrun_id not in taskruns_by_id(status.stored()):
        raise UsageError(f"execution {name!r} has no task run {taskrun_id!r}")
    flow_name = ((body.get("spec") or {}).get("flowRef") or {}).get("name") or ""
    replay = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Execution",
        "metadata": {"generateName": f"{flow_name[:57]}-"},
        "spec": {"flowRef": {"name": flow_name}, "replay": {"execution": name, "taskRunId": taskrun_id}},
    }
    return call(cluster.custom.create_namespaced_custom_object, GROUP, VERSION, cluster.namespace, "executions", replay,
                what=f"replaying execution {name!r} in namespace {cluster.namespace!r}")


def _spec_patch(action: str, name: str, body: dict, inputs: list[str] = ()) -> dict:
    spec = body.get("spec") or {}
    status = ExecutionStatus.read(body.get("status"))
    state = status.current
    if action == "kill":
        if status.ended:
            raise UsageError(f"execution {name!r} already ended {state}: nothing to kill")
        return {"kill": True}
    if action == "restart":
        if state not in ("FAILED", "KILLED"):
            raise UsageError(f"execution {name!r} is {state or 'not started'}: only a FAILED or KILLED execution restarts")
        patch = {"restart": int(spec.get("restart") or 0) + 1}
        if spec.get("kill"):
            patch["kill"] = False  # else the restarted execution would be killed again
        return patch
    values = {}
    for item in inputs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--input {item!r}: expected ID=VALUE")
        values[key] = value
    return {"resume": int(spec.get("resume") or 0) + 1, "resumeInputs": values or None}


def _patch(cluster, name: str, body: dict, spec: dict) -> None:
    """A merge patch carrying the resourceVersion read: two `restart`s at once raise the counter twice."""
    from kflow.client.kube import GROUP, VERSION, call

    patch = {"metadata": {"resourceVersion": body["metadata"]["resourceVersion"]}, "spec": spec}
    call(cluster.custom.patch_namespaced_custom_object, GROUP, VERSION, cluster.namespace, "executions", name, patch, what=f"execution {name!r}")
