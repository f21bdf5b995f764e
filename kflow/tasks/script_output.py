"""What a script prints, read line by line: `::{"outputs":...}::` lines and the task log.

Shared by scripts run as processes (kflow/tasks/scripts.py) and in a script container
(kflow/tasks/script_container.py).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kflow.runner.context import RunContext

_OUTPUT_LINE = re.compile(r"^::(\{.*\})::\s*$")
_STDERR_TAIL = 20


class ScriptOutput:
    """What a script printed: `::{"outputs":...}::` lines become outputs, the rest the task log."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self.outputs: dict[str, Any] = {}
        self.stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL)
        self.stderr_seen = False
        self._lock = threading.Lock()

    def stdout(self, line: str) -> None:
        match = _OUTPUT_LINE.match(line)
        if match:
            try:
                message = json.loads(match.group(1))
            except ValueError:
                message = None
            if isinstance(message, dict):
                with self._lock:
                    if isinstance(message.get("outputs"), dict):
                        self.outputs.update(message["outputs"])
                return
        with self._lock:
            self.ctx.log.info(line)

    def stderr(self, line: str) -> None:
        with self._lock:
            self.stderr_seen = True
            self.stderr_tail.append(self.ctx.log.mask(line))
            self.ctx.log.error(line)  # as Kestra since 0.21 (kestra-io/kestra#6383): errorLogs() lists them

    def result(self, code: int):
        return code, self.outputs, list(self.stderr_tail), self.stderr_seen
