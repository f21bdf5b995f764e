"""A script run in another container of the same pod: the task's `containerImage`.

The runner (kflow's image) stages everything in a directory both containers mount, writes the
script and its environment there, and signals `go`; the script container (the user's image,
which needs only /bin/sh) runs it and writes its exit code. The runner streams the script's
stdout and stderr from files as they grow, then collects outputs as for a local process.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Any

from kflow.tasks.errors import TaskFailure
from kflow.tasks.script_output import ScriptOutput

CONTROL = ".kflow-control"

# The script container's command (set by the operator): wait for `go`, run, record the code.
SCRIPT_CONTAINER_COMMAND = (
    'c="$KFLOW_SCRIPT_CONTAINER_DIR/' + CONTROL + '"; '
    'while [ ! -f "$c/go" ]; do sleep 0.1; done; '
    'cd "$(cat "$c/go")" && . "$c/env.sh" && /bin/sh "$c/commands.sh" > "$c/stdout" 2> "$c/stderr"; '
    'echo $? > "$c/exitcode.tmp"; mv "$c/exitcode.tmp" "$c/exitcode"'
)


def run_in_container(command: list[str], workdir: Path, env: dict[str, Any], ctx):
    if command[:2] != ["/bin/sh", "-c"] and Path(command[0]).name not in ("sh", "bash"):
        raise TaskFailure(f"with containerImage the interpreter must be a shell (/bin/sh -c), not {command[:-1]}")
    control = Path(os.environ["KFLOW_SCRIPT_CONTAINER_DIR"]) / CONTROL
    control.mkdir(parents=True, exist_ok=True)
    (control / "commands.sh").write_text(command[-1], encoding="utf-8")
    exports = [f"export {name}={shlex.quote(str(value))}" for name, value in env.items() if str(name).isidentifier()]
    exports += [f"export WORKING_DIR={shlex.quote(str(workdir))}", f"export OUTPUT_DIR={shlex.quote(str(workdir / 'outputs'))}"]
    (control / "env.sh").write_text("\n".join(exports) + "\n", encoding="utf-8")
    for path in workdir.rglob("*"):  # the script container runs as the same user, but be sure
        path.chmod(path.stat().st_mode | 0o666 if path.is_file() else path.stat().st_mode | 0o777)
    workdir.chmod(0o777)
    (control / "go").write_text(str(workdir), encoding="utf-8")
    sink = ScriptOutput(ctx)
    out, err = _Tail(control / "stdout", sink.stdout), _Tail(control / "stderr", sink.stderr)
    while not (control / "exitcode").exists():
        out.poll()
        err.poll()
        time.sleep(0.05)
    out.poll(final=True)
    err.poll(final=True)
    return sink.result(int((control / "exitcode").read_text().strip() or 1))


class _Tail:
    """Lines appended to a file, handed on as they complete."""

    def __init__(self, path: Path, handle):
        self.path, self.handle, self.offset, self.partial = path, handle, 0, b""

    def poll(self, final: bool = False) -> None:
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self.offset)
                data = stream.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        for line in lines:
            self.handle(line.decode("utf-8", errors="replace").rstrip("\r"))
