"""The runner fork server of `kflow run` (kflow.local.forked is its client): one pre-imported interpreter that forks a fresh runner per
task attempt.

Starting `python -m kflow.runner` costs an interpreter start plus the runner's imports for
every attempt (about twice `python3 -c pass`). This process pays both once: it imports the
runner and, while idle, what the full runner uses (pydantic, jinja2, the task registry); then
each attempt is a `fork()` of it that runs `kflow.runner.__main__.main` as its own process:
its own session and process group (killed as a group, as before), the environment, stdin and
stdout it is sent, and no state of other attempts (the server itself never runs a task, nor
sees an envelope: secrets go from `kflow run` straight to the child's stdin pipe).

Protocol (a SOCK_SEQPACKET socket pair, one JSON message per packet): `kflow run` sends
{"argv", "env", "cwd"} with two file descriptors (the child's stdin and stdout); the server
answers {"pid"} and, when that child ends, {"ended": pid, "code"} (a Popen-style return code).
The server ends when the socket closes, and with `kflow run` (PDEATHSIG); its children end
with it (the runner's own PDEATHSIG), as they did with `kflow run`.
"""

from __future__ import annotations

import importlib
import json
import os
import selectors
import signal
import socket
import sys

# Imported before serving (what a Return or Log needs), then one by one while idle.
LIGHT = ("kflow.runner.__main__", "kflow.runner.light", "kflow.runner.undumpable", "kflow.runner.reaper", "kflow.runner.secrets")
FULL = ("pydantic", "kflow.runner.invocation", "kflow.runner.run", "kflow.storage.config", "kflow.runner.offload", "kflow.tasks")
MAX_MESSAGE = 1 << 20


def serve(sock: socket.socket) -> None:
    from kflow.runner.reaper import die_with_parent

    die_with_parent()  # SIGTERM (default action: end) when `kflow run` dies
    for name in LIGHT:
        importlib.import_module(name)
    pending = list(FULL)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children: set[int] = set()
    while True:
        ready = selector.select(0 if pending else None)
        if not ready and pending:
            _preload(pending.pop(0))
            continue
        for key, _ in ready:
            if key.fileobj is sock:
                message, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 2)
                if not message:
                    return
                pid = _fork(json.loads(message), fds, closing=(sock.fileno(), wake_r, wake_w, selector.fileno()))
                for fd in fds:
                    os.close(fd)
                children.add(pid)
                sock.send(json.dumps({"pid": pid}).encode())
            else:
                _drain(wake_r)
                _reap(sock, children)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _preload(name: str) -> None:
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001 - the child imports it again and reports the problem itself
        pass


def _reap(sock: socket.socket, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        code = os.waitstatus_to_exitcode(status)  # -N when killed by signal N, as Popen says
        sock.send(json.dumps({"ended": pid, "code": code}).encode())


def _fork(request: dict, fds: list[int], closing: tuple[int, ...]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid:
        # Answer once the child leads its own session: a kill of its group never misses it.
        os.close(ready_w)
        os.read(ready_r, 1)
        os.close(ready_r)
        return pid
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (*closing, ready_r):
            os.close(fd)
        os.setsid()  # its own session and process group: killed as one, never by the terminal's ^C
        os.close(ready_w)
        code = _child(request, fds)
    finally:
        os._exit(code)


def _child(request: dict, fds: list[int]) -> int:
    """In the forked child: become a fresh runner process, run it, end as an interpreter would."""
    import io
    import tempfile
    import threading
    import traceback

    stdin_fd, stdout_fd = fds
    os.dup2(stdin_fd, 0)
    os.dup2(stdout_fd, 1)
    os.dup2(stdout_fd, 2)
    os.close(stdin_fd)
    os.close(stdout_fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    tempfile.tempdir = None  # TMPDIR is the run's scratch directory: read it again
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=True, write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", line_buffering=True, write_through=True)
    sys.argv = list(request["argv"])
    code: int = 1
    try:
        from kflow.runner.__main__ import main

        code = main(sys.argv[1:])
    except SystemExit as end:
        code = end.code if isinstance(end.code, int) else (0 if end.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported as the interpreter would, then exit 1
        traceback.print_exc()
        code = 1
    try:  # what the interpreter does at exit: wait for non-daemon threads, run atexit
        threading._shutdown()  # type: ignore[attr-defined]
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        pass
    return code


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
