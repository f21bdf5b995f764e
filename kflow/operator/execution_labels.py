"""An execution's Kestra labels, copied onto its Execution object's metadata labels.

Kestra labels are free text; Kubernetes labels are not (a key of at most 63 characters with an
optional DNS prefix, a value of at most 63 of [A-Za-z0-9-_.]). Those that fit are copied, so
`kubectl get executions -l customerId=42` finds what a Labels task set; the others stay in
`status.labels` only, where every label always is. Keys under kflow.io/ stay the operator's.
"""

from __future__ import annotations

import re

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_VALUE = re.compile(rf"^({_NAME})?$")


def kube_labels(labels: dict[str, str]) -> dict[str, str]:
    """The labels Kubernetes accepts as they are (no renaming: a renamed label would mislead)."""
    return {
        key: value for key, value in labels.items()
        if _KEY.match(key) and len(key.partition("/")[0]) <= 253 and _VALUE.match(value) and not key.startswith("kflow.io/")
    }


def missing_labels(wanted: dict[str, str], on_object: dict[str, str]) -> dict[str, str]:
    """What a merge patch of metadata.labels must add or change (never removes anything)."""
    return {key: value for key, value in kube_labels(wanted).items() if on_object.get(key) != value}
