"""`kflow run`: the engine driving a flow on this machine, each task a runner process."""

from kflow.local.executor import LocalExecutor, RunOptions

__all__ = ["LocalExecutor", "RunOptions"]
