"""TaskFailure: a task's own, complete failure message (no exception type prefixed)."""


class TaskFailure(Exception):
    """Raised by a task when it fails for a reason it can state fully, naming what failed and why."""
