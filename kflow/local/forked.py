"""`kflow run`'s side of the runner fork server (kflow.runner.zygote): start it once per run,
ask it for one runner process per task attempt, and hand back a Popen-like handle.

When the server cannot be started (no fork, no fd passing) or dies, attempts fall back to a
plain `python -m kflow.runner` process: slower, the same behaviour.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

class ForkedRunner:
    """What RunnerProcesses uses of a Popen: pid, stdin, stdout, poll, wait, kill. The return
    code comes from the fork server, which reaps its children."""

    def __init__(self, pid: int, stdin: io.TextIOWrapper, stdout: io.TextIOWrapper):
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.returncode: int | None = None
        self._ended = threading.Event()

    def _end(self, code: int) -> None:
        self.returncode = code
        self._ended.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(f"runner {self.pid}", timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class ForkServer:
    """One per RunnerProcesses: started on first use, closed with it."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self._env = env
        self._cwd = str(cwd)
        self._lock = threading.Lock()  # one request and its pid answer at a time
        self._sock: socket.socket | None = None
        self._server: subprocess.Popen | None = None
        self._pid_answer: list[int] = []
        self._answered = threading.Condition()
        self._children: dict[int, ForkedRunner] = {}
        self._early: dict[int, int] = {}
        self.broken = os.environ.get("KFLOW_FORK_SERVER", "1") == "0" or not hasattr(socket, "send_fds")

    def start(self, args: list[str], env: dict[str, str]) -> ForkedRunner | subprocess.Popen:
        """A runner process (`python -m kflow.runner` + args) with stdin and stdout (stderr merged) as pipes."""
        if not self.broken:
            try:
                return self._fork(args, env)
            except OSError:
                self.broken = True  # the server is gone: plain processes from now on
        return subprocess.Popen([sys.executable, "-m", "kflow.runner", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                                text=True, bufsize=1, start_new_session=True, env=env)

    def warm(self) -> None:
        """Start the server now (it imports the runner while the caller goes on)."""
        if not self.broken:
            with self._lock:
                try:
                    self._sock or self._launch()
                except OSError:
                    self.broken = True

    def close(self) -> None:
        """Stop the server (call after every runner ended: its children end with it)."""
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # the listening thread's recv ends too
            except OSError:
                pass
            self._sock.close()
        if self._server is not None:
            try:
                self._server.wait(5)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()

    def _fork(self, args: list[str], env: dict[str, str]) -> ForkedRunner:
        with self._lock:
            sock = self._sock or self._launch()
            stdin_r, stdin_w = os.pipe()
            stdout_r, stdout_w = os.pipe()
            try:
                request = json.dumps({"argv": [sys.executable, *args], "env": env, "cwd": self._cwd}).encode()
                socket.send_fds(sock, [request], [stdin_r, stdout_w])
                pid = self._next_pid()
            except OSError:
                for fd in (stdin_w, stdout_r):
                    os.close(fd)
                raise
            finally:
                os.close(stdin_r)
                os.close(stdout_w)
            handle = ForkedRunner(pid, open(stdin_w, "w", encoding="utf-8"), open(stdout_r, encoding="utf-8", errors="replace"))
            with self._answered:
                self._children[pid] = handle
                if pid in self._early:
                    handle._end(self._early.pop(pid))
            return handle

    def _launch(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._server = subprocess.Popen([sys.executable, "-m", "kflow.runner.zygote", str(theirs.fileno())], pass_fds=[theirs.fileno()],
                                            stdin=subprocess.DEVNULL, start_new_session=True, env=self._env, cwd=self._cwd)
        finally:
            theirs.close()
        self._sock = ours
        threading.Thread(target=self._listen, args=(ours,), daemon=True).start()
        return ours

    def _next_pid(self) -> int:
        with self._answered:
            while not self._pid_answer:
                if self._sock is None or self._sock.fileno() < 0 or self.broken:
                    raise OSError("the runner fork server ended")
                self._answered.wait(1.0)
                if self._server is not None and self._server.poll() is not None and not self._pid_answer:
                    raise OSError("the runner fork server ended")
            return self._pid_answer.pop(0)

    def _listen(self, sock: socket.socket) -> None:
        """Answers from the server: a started child's pid, or a child's end and return code."""
        while True:
            try:
                message = sock.recv(4096)
            except OSError:
                message = b""
            with self._answered:
                if not message:
                    self.broken = True
                    for handle in self._children.values():
                        if handle.returncode is None:
                            handle._end(-signal.SIGKILL)  # ended with the server (PDEATHSIG)
                    self._answered.notify_all()
                    return
                answer = json.loads(message)
                if "pid" in answer:
                    self._pid_answer.append(answer["pid"])
                    self._answered.notify_all()
                else:
                    handle = self._children.pop(answer["ended"], None)
                    if handle is None:
                        self._early[answer["ended"]] = answer["code"]
                    else:
                        handle._end(answer["code"])
