"""Script tasks: `io.kestra.plugin.scripts.python.Script` / `.Commands` and
`io.kestra.plugin.scripts.shell.Script` / `.Commands`, run as a process in the task's working
directory (locally `containerImage` is accepted and ignored); on a cluster the script runs in a
container of its own in the task's pod (kflow.tasks.script_container).

- `inputFiles` (name → content, or a `kestra://` URI whose file is fetched) are written first;
- `beforeCommands`, then the script or commands, go through `interpreter` (`/bin/sh -c`), with
  `set -e` first when `failFast` (the default);
- a stdout line `::{"outputs":{...}}::` adds to the output `vars` (Kestra's convention);
- `outputFiles` (globs relative to the working directory) and anything written to
  `{{ outputDir }}` are stored; the output `outputFiles` maps each name to its URI;
- the output `exitCode`; a non-zero exit fails with the code and the last stderr lines;
- with `warningOnStdErr` (the default, as in Kestra) any stderr output ends the task WARNING.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from kflow.flow.task import RunnableTask
from kflow.tasks.errors import TaskFailure
from kflow.tasks.script_output import ScriptOutput

if TYPE_CHECKING:
    from kflow.runner.context import RunContext

# What a script does not inherit from the runner's environment: secrets reach it only through
# `{{ secret() }}` in its properties, and storage credentials not at all.
# Set by the operator in a pod whose task has a containerImage: the script runs in a second
# container of that image, sharing this directory with the runner.
CONTAINER_DIR_ENV = "KFLOW_SCRIPT_CONTAINER_DIR"
_HIDDEN_ENV = ("SECRET_", "KFLOW_STORAGE_", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


class _ScriptTask(RunnableTask):
    beforeCommands: list[str] | None = Field(None, description="Shell commands run first (for example pip install).")
    env: dict[str, Any] | None = Field(None, description="Environment variables for the process.")
    inputFiles: dict[str, str] | str | None = Field(None, description="Files to create: name → content or kestra:// URI.")
    outputFiles: list[str] | None = Field(None, description="Globs of files to store after the run.")
    namespaceFiles: dict[str, Any] | None = Field(None, description="Accepted; namespace files are not supported yet.")
    containerImage: str | None = Field(None, description="The image a cluster pod runs the script in (default: kflow's); ignored by `kflow run`.")
    docker: dict[str, Any] | None = Field(None, description="Accepted; ignored.")
    runner: str | None = Field(None, description="Accepted (PROCESS or DOCKER); kflow runs a process locally.")
    interpreter: list[str] = Field(default_factory=lambda: ["/bin/sh", "-c"], description="Runs the commands.")
    warningOnStdErr: bool = Field(True, description="End WARNING when the script writes to stderr.")
    failFast: bool = Field(True, description="Stop at the first failing command (`set -e`).")
    targetOS: str | None = None
    outputDirectory: bool | None = Field(None, description="Accepted; `{{ outputDir }}` always exists.")

    kind: ClassVar[str] = "script"

    def body(self, ctx: RunContext, workdir: Path) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, ctx: RunContext) -> dict[str, Any]:
        workdir = Path(ctx.workdir)
        output_dir = Path(ctx.variables.get("outputDir") or workdir / "outputs")
        output_dir.mkdir(parents=True, exist_ok=True)
        self._write_input_files(ctx, workdir)
        lines = [*(self.beforeCommands or []), *self.body(ctx, workdir)]
        if self.failFast and Path(self.interpreter[0]).name in ("sh", "bash", "dash", "zsh", "ksh"):
            lines.insert(0, "set -e")
        command = [*self.interpreter, "\n".join(lines)]
        env = self._environment(workdir, output_dir)
        container = os.environ.get(CONTAINER_DIR_ENV)
        if container:  # on a cluster: the pod's script container runs it (script_container.py)
            from kflow.tasks.script_container import run_in_container

            code, outputs, stderr_tail, stderr_seen = run_in_container(command, workdir, output_dir, self.env or {}, ctx)
        else:
            code, outputs, stderr_tail, stderr_seen = _run_process(command, workdir, env, ctx)
        if code != 0:
            tail = "\n".join(stderr_tail)
            raise TaskFailure(
                f"the {self.kind} exited with code {code}"
                + (f"; last stderr lines:\n{tail}" if tail else " (nothing on stderr)")
            )
        result: dict[str, Any] = {"exitCode": code, "vars": outputs}
        files = self._store_output_files(ctx, workdir, output_dir)
        if files:
            result["outputFiles"] = files
        if stderr_seen and self.warningOnStdErr:
            ctx.warning(f"task {self.id!r}: the {self.kind} wrote to stderr (warningOnStdErr is true)")
        return result

    def _write_input_files(self, ctx: RunContext, workdir: Path) -> None:
        write_input_files(ctx, workdir, self.inputFiles)

    def _environment(self, workdir: Path, output_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_HIDDEN_ENV)}
        if shutil.which("python", path=env.get("PATH")) is None:
            shim = workdir / ".kflow-bin"
            shim.mkdir(exist_ok=True)
            (shim / "python").symlink_to(sys.executable)
            env["PATH"] = f"{shim}{os.pathsep}{env.get('PATH', '')}"
        env["WORKING_DIR"] = str(workdir)
        env["OUTPUT_DIR"] = str(output_dir)
        for key, value in (self.env or {}).items():
            env[str(key)] = "" if value is None else str(value)
        return env

    def _store_output_files(self, ctx: RunContext, workdir: Path, output_dir: Path) -> dict[str, str]:
        found = glob_files(workdir, self.outputFiles)
        for path in sorted(output_dir.rglob("*")):
            if path.is_file():
                found.setdefault(path.relative_to(output_dir).as_posix(), within(path, output_dir))
        return store_files(ctx, found)


def glob_files(workdir: Path, patterns: list[str] | None, what: str = "outputFiles") -> dict[str, Path]:
    """The files under `workdir` matching the globs, by relative name (kflow's own files excluded)."""
    found: dict[str, Path] = {}
    for pattern in patterns or []:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise TaskFailure(f"{what} {pattern!r} must be relative to the working directory")
        for path in sorted(workdir.glob(pattern)):
            rel = path.relative_to(workdir)
            if path.is_file() and not rel.parts[0].startswith(".kflow"):
                found.setdefault(rel.as_posix(), within(path, workdir))
    return found


def store_files(ctx: RunContext, found: dict[str, Path]) -> dict[str, str]:
    """Each file into internal storage as this task's output; name → kestra:// URI."""
    stored = {}
    for name, path in found.items():
        stored[name] = ctx.put_output_file(path, name)
        ctx.log.info(f"stored {name} as {stored[name]}")
    return stored


def within(path: Path, root: Path) -> Path:
    """`path`, refused when it (or a directory on the way) is a symlink leading out of `root`:
    a script must not make the runner store a file it could not read itself."""
    if root.resolve() not in path.resolve().parents:
        raise TaskFailure(f"output file {path.relative_to(root).as_posix()!r} is a symlink out of {root.name}/; refused")
    return path


def _inside(root: Path, name: str, what: str) -> Path:
    target = (root / name).resolve()
    if root.resolve() not in target.parents:
        raise TaskFailure(f"{what}: {name!r} is not a path inside the working directory")
    return target


def _run_process(command: list[str], workdir: Path, env: dict[str, str], ctx: RunContext):
    """Run, logging stdout (INFO) and stderr (ERROR, as Kestra) as they come; parse `::{...}::` lines.

    The script leads a session of its own, so when it exits (or the runner is stopped) its whole
    process group goes with it: background children (`nohup ... &`) get SIGTERM, then SIGKILL
    after SCRIPT_GRACE seconds, and one that keeps stdout open does not hold the task.
    """
    from kflow.runner.reaper import end_group

    sink = ScriptOutput(ctx)
    try:
        proc = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as err:
        raise TaskFailure(f"cannot start {command[0]!r}: {err}") from None
    streams = _LineStreams({proc.stdout: sink.stdout, proc.stderr: sink.stderr})
    try:
        while proc.poll() is None:
            streams.pump(0.1)
        code = proc.returncode
        streams.pump(0.0, drain=True)  # what the script wrote before it exited
    finally:  # exited, or the runner was stopped (SIGTERM unwinds): end the group either way
        end_group(proc.pid, SCRIPT_GRACE)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        streams.pump(0.0, drain=True)
        streams.close()
    return sink.result(code)


SCRIPT_GRACE = 2.0  # seconds between SIGTERM and SIGKILL for a script's process group
DRAIN_LIMIT = 1.0  # seconds spent reading what a finished script left in its pipes


class _LineStreams:
    """Lines from several pipes, read without threads, so reading stops when the task does."""

    def __init__(self, handlers):
        import selectors

        self.selector = selectors.DefaultSelector()
        self.partial: dict[int, bytes] = {}
        for stream, handle in handlers.items():
            os.set_blocking(stream.fileno(), False)
            self.selector.register(stream, selectors.EVENT_READ, handle)
            self.partial[stream.fileno()] = b""

    def pump(self, timeout: float, drain: bool = False) -> None:
        """Read what is ready (waiting up to `timeout`); with `drain`, until nothing is, for at
        most DRAIN_LIMIT seconds (a background child writing forever does not hold the task)."""
        import time

        deadline = time.monotonic() + DRAIN_LIMIT
        while self.selector.get_map():
            ready = self.selector.select(timeout)
            if not ready:
                return
            for key, _ in ready:
                self._read(key)
            if not drain or time.monotonic() > deadline:
                return

    def _read(self, key) -> None:
        fd = key.fileobj.fileno()
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        lines = (self.partial[fd] + data).split(b"\n")
        self.partial[fd] = lines.pop() if data else b""
        if not data and lines and not lines[-1]:
            lines.pop()
        for line in lines:
            key.data(line.decode("utf-8", errors="replace").rstrip("\r"))
        if not data:  # EOF
            self.selector.unregister(key.fileobj)

    def close(self) -> None:
        for key in list(self.selector.get_map().values()):
            fd = key.fileobj.fileno()
            if self.partial.get(fd):
                key.data(self.partial[fd].decode("utf-8", errors="replace").rstrip("\r"))
            self.selector.unregister(key.fileobj)
            key.fileobj.close()
        self.selector.close()


class _ScriptFile(_ScriptTask):
    script: str = Field(description="The script's source.")


class _Commands(_ScriptTask):
    commands: list[str] = Field(description="Commands run one after another.")

    kind: ClassVar[str] = "commands"

    def body(self, ctx: RunContext, workdir: Path) -> list[str]:
        return list(self.commands)


class PythonScript(_ScriptFile):
    """Runs `script` with Python."""

    def body(self, ctx: RunContext, workdir: Path) -> list[str]:
        path = workdir / ".kflow-script.py"
        path.write_text(self.script, encoding="utf-8")
        return [f"python {path.name}"]  # `python` is on PATH: _environment() adds it when missing


class PythonCommands(_Commands):
    """Runs `commands` (typically `python main.py`) in the shell."""


class ShellScript(_ScriptFile):
    """Runs `script` with the interpreter (a shell)."""

    def body(self, ctx: RunContext, workdir: Path) -> list[str]:
        return [self.script]


class ShellCommands(_Commands):
    """Runs `commands` with the interpreter (a shell)."""


def write_input_files(ctx: RunContext, workdir: Path, files: Any, what: str = "inputFiles") -> None:
    """Kestra's `inputFiles`: a map (or its JSON) of name to content or to a kestra:// URI to fetch."""
    if isinstance(files, str):
        try:
            files = json.loads(files)
        except ValueError:
            raise TaskFailure(f"{what} is a string but not a JSON map of name to content") from None
    if not isinstance(files, (dict, type(None))):
        raise TaskFailure(f"{what} must be a map of file name to content")
    for name, content in (files or {}).items():
        target = _inside(workdir, name, what)
        target.parent.mkdir(parents=True, exist_ok=True)
        content = "" if content is None else str(content)
        if content.strip().startswith("kestra://") and "\n" not in content.strip():
            try:
                ctx.fetch(content.strip(), target)
            except Exception as err:  # noqa: BLE001 - name the file and the cause
                raise TaskFailure(f"{what}[{name!r}]: {err}") from None
        else:
            target.write_text(content, encoding="utf-8")
