"""What Return and Log do, on plain values: their models call these, and so does the runner's
fast path (`kflow.runner.light`), which runs them without importing pydantic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kflow.runner.context import TaskLogger

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
RETURN_LEVEL = "DEBUG"
LOG_LEVEL = "INFO"


def return_value(log: TaskLogger, text: str | None, level: str = RETURN_LEVEL) -> dict[str, Any]:
    log.emit(level, f"returning: {text}")
    return {"value": text}


def log_messages(log: TaskLogger, message: str | list[str], level: str = LOG_LEVEL) -> None:
    for line in message if isinstance(message, list) else [message]:
        log.emit(level, str(line))
