"""The flow language: Kestra flows as pydantic models, one registry of task types, loading."""

from kflow.flow.errors import FlowError, Problem
from kflow.flow.load import load_flow, load_flow_file, parse_flow, parse_task
from kflow.flow.model import Flow, FlowableTask, Retry, RunnableTask, Task

__all__ = [
    "Flow",
    "FlowError",
    "FlowableTask",
    "Problem",
    "Retry",
    "RunnableTask",
    "Task",
    "load_flow",
    "load_flow_file",
    "parse_flow",
    "parse_task",
]
