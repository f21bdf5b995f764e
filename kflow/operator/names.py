"""Pod names and label values: they live in kflow.execution.names (the CLI needs them too)."""

from kflow.execution.names import (  # noqa: F401 (re-exported for the operator's modules)
    LABEL_ATTEMPT,
    LABEL_EXECUTION,
    LABEL_FLOW,
    LABEL_TASK,
    LABEL_TASKRUN,
    MANAGED_BY,
    _digest,
    _slug,
    label_value,
    pod_name,
)


def execution_id_for_uid(uid: str) -> str:
    """An Execution's Kestra id, derived from its object's uid: known as soon as it is created."""
    import hashlib

    from kflow.engine.ids import _base62

    return _base62(int(hashlib.sha256(uid.encode()).hexdigest()[:34], 16))
