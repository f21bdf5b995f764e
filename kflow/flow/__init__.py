"""The flow language: Kestra flows as pydantic models, one registry of task types, loading.

Names are imported on first use, so `kflow.flow.registry` (all the runner needs) stays light.
"""

from importlib import import_module

_EXPORTS = {
    "Flow": "kflow.flow.model",
    "FlowError": "kflow.flow.errors",
    "Problem": "kflow.flow.errors",
    "FlowableTask": "kflow.flow.flowable",
    "Retry": "kflow.flow.task",
    "RunnableTask": "kflow.flow.task",
    "Task": "kflow.flow.task",
    "load_flow": "kflow.flow.load",
    "load_flow_file": "kflow.flow.load",
    "parse_flow": "kflow.flow.load",
    "parse_task": "kflow.flow.load",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kflow.flow' has no attribute {name!r}")
