"""A script run in a container of its own in the task's pod: on a cluster, every script.

The runner container (kflow's image, which holds the storage credentials and the task's
secrets) stages everything in a directory both containers mount, writes the script and its
environment there, and signals `go`; the script container (the task's containerImage, else
kflow's image; it needs only /bin/sh) runs it and writes its exit code, then waits for the
next one (a WorkingDirectory runs several). The runner streams the script's stdout and stderr
from files as they grow, then collects outputs as for a local process. The script container
sees only that directory: its inputs, its own rendered environment and its output directory.
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

# The script container's command (set by the operator): for each `go`, run the script in a
# subshell (its environment does not leak into the next), record its code; end on SIGTERM,
# which the kubelet sends once the runner container has ended.
SCRIPT_CONTAINER_COMMAND = (
    "trap 'exit 0' TERM; "
    'c="$KFLOW_SCRIPT_CONTAINER_DIR/' + CONTROL + '"; '
    "while true; do "
    'if [ -f "$c/go" ]; then '
    'w="$(cat "$c/go")"; rm -f "$c/go"; '
    '( cd "$w" && . "$c/env.sh" && exec /bin/sh "$c/commands.sh" ) > "$c/stdout" 2> "$c/stderr"; '
    'echo $? > "$c/exitcode.tmp"; mv "$c/exitcode.tmp" "$c/exitcode"; '
    "fi; "
    "sleep 0.1; "
    "done"
)


def run_in_container(command: list[str], workdir: Path, output_dir: Path, env: dict[str, Any], ctx):
    if command[:2] != ["/bin/sh", "-c"] and Path(command[0]).name not in ("sh", "bash"):
        raise TaskFailure(f"on a cluster the interpreter must be a shell (/bin/sh -c), not {command[:-1]}")
    control = _Control(Path(os.environ["KFLOW_SCRIPT_CONTAINER_DIR"]) / CONTROL)
    try:
        for leftover in ("exitcode", "stdout", "stderr"):  # from the previous script of this pod
            control.remove(leftover)
        control.write("commands.sh", command[-1])
        exports = [f"export {name}={shlex.quote(str(value))}" for name, value in env.items() if str(name).isidentifier()]
        exports += [f"export WORKING_DIR={shlex.quote(str(workdir))}", f"export OUTPUT_DIR={shlex.quote(str(output_dir))}"]
        control.write("env.sh", "\n".join(exports) + "\n")
        for path in workdir.rglob("*"):  # the script container runs as the same user, but be sure
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o666 if path.is_file() else path.stat().st_mode | 0o777)
        workdir.chmod(0o777)
        control.write("go", str(workdir))
        sink = ScriptOutput(ctx)
        out, err = _Tail(control, "stdout", sink.stdout), _Tail(control, "stderr", sink.stderr)
        while (code := control.read("exitcode")) is None:
            out.poll()
            err.poll()
            time.sleep(0.05)
        out.poll(final=True)
        err.poll(final=True)
        control.remove("exitcode")
    finally:
        control.close()
    try:
        return sink.result(int(code.strip() or b"1"))
    except ValueError:
        raise TaskFailure("the script container wrote no usable exit code") from None


class _Control:
    """The control directory, reached through one descriptor and never through a symlink: the
    script container can write there, and must not make the runner read its own files
    (`stdout` -> /proc/self/environ) into the task's log."""

    def __init__(self, path: Path):
        path.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)

    def _open(self, name: str, flags: int) -> int:
        return os.open(name, flags | os.O_NOFOLLOW, 0o666, dir_fd=self.fd)

    def write(self, name: str, text: str) -> None:
        self.remove(name)
        fd = self._open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)

    def read(self, name: str, offset: int = 0) -> bytes | None:
        """The bytes from `offset` on; None when the file does not exist."""
        try:
            fd = self._open(name, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as err:  # a symlink (ELOOP) or anything else odd: refused, not followed
            raise TaskFailure(f"the script container left {name!r} unreadable: {err.strerror}") from None
        with os.fdopen(fd, "rb") as stream:
            stream.seek(offset)
            return stream.read()

    def remove(self, name: str) -> None:
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def close(self) -> None:
        os.close(self.fd)


class _Tail:
    """Lines appended to a control file, handed on as they complete."""

    def __init__(self, control: _Control, name: str, handle):
        self.control, self.name, self.handle, self.offset, self.partial = control, name, handle, 0, b""

    def poll(self, final: bool = False) -> None:
        data = self.control.read(self.name, self.offset)
        if data is None:
            return
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        for line in lines:
            self.handle(line.decode("utf-8", errors="replace").rstrip("\r"))
