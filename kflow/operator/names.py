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
