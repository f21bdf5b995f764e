"""What a running task can use: its log, the expression renderer, secrets."""

from __future__ import annotations

import base64
import os
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

_LEVELS = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4}


class TaskLogger:
    """Log lines on stdout, `<instant> <LEVEL> <message>`, with secret values masked."""

    def __init__(self, stream: TextIO = sys.stdout, min_level: str = "INFO"):
        self.stream = stream
        self.min_level = _LEVELS.get(min_level, 2)
        self.masked: set[str] = set()

    def emit(self, level: str, message: str) -> None:
        if _LEVELS.get(level, 2) < self.min_level:
            return
        for secret in self.masked:
            message = message.replace(secret, "******")
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for line in message.splitlines() or [""]:
            self.stream.write(f"{stamp} {level:<5} {line}\n")
        self.stream.flush()

    def debug(self, message: str) -> None:
        self.emit("DEBUG", message)

    def info(self, message: str) -> None:
        self.emit("INFO", message)

    def warn(self, message: str) -> None:
        self.emit("WARN", message)

    def error(self, message: str) -> None:
        self.emit("ERROR", message)


def env_secret(name: str) -> str:
    """Kestra's open-source rule: secret NAME is the base64 of the variable SECRET_NAME."""
    raw = os.environ.get(f"SECRET_{name}")
    if raw is None:
        raise KeyError(f"secret {name!r} is not set: export SECRET_{name} as the base64 of its value")
    try:
        return base64.b64decode(raw, validate=True).decode()
    except ValueError:
        raise KeyError(f"secret {name!r}: SECRET_{name} is not valid base64") from None


def env_variables() -> dict[str, str]:
    """Kestra's `envs.foo` reads ENV_FOO."""
    return {key[4:].lower(): value for key, value in os.environ.items() if key.startswith("ENV_")}


class RunContext:
    def __init__(self, context: dict[str, Any], log: TaskLogger, workdir: str):
        self.variables = context
        self.log = log
        self.workdir = workdir

    def secret(self, name: str) -> str:
        value = env_secret(name)
        if value:
            self.log.masked.add(value)
        return value

    def render(self, value: Any) -> Any:
        from kflow.expr import render_value

        return render_value(value, self.variables, secret=self.secret)
