"""Processes that must not outlive their task: process groups ended with SIGTERM, then SIGKILL
after a grace period, and descendants found through /proc (Linux)."""

from __future__ import annotations

import os
import signal
import time

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """SIGTERM this process when its parent dies (`kflow run` SIGKILLed): the runner then ends
    its script's process group as on any kill, instead of running on as an orphan."""
    try:
        import ctypes

        parent = os.getppid()
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # it died before the call
            os.kill(os.getpid(), signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _parents() -> dict[int, int]:
    out: dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and fields[0] != b"Z":
            out[int(entry)] = int(fields[1])
    return out


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children first), from one scan of /proc."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
        return stat[stat.rfind(b")") + 2 :].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def signal_pids(pids, sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def end_group(pgid: int, grace: float, also: list[int] | None = None) -> None:
    """SIGTERM the group (and `also`: processes known to be below it in other groups), wait up
    to `grace` seconds for them to go, then SIGKILL whatever is left."""
    pids = list(also or [])
    signal_group(pgid, signal.SIGTERM)
    signal_pids(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_alive(pgid) and not any(alive(p) for p in pids):
            return
        time.sleep(0.05)
    signal_group(pgid, signal.SIGKILL)
    signal_pids(pids, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # zombies still count for killpg: look for a live member
    for pid, _ in _parents().items():
        try:
            if os.getpgid(pid) == pgid:
                return True
        except OSError:
            continue
    return False


def marked(marker: str) -> list[int]:
    """Live processes whose environment holds `marker` (`NAME=value`): what a run started,
    however deep, and wherever it was reparented. Processes this user cannot read are skipped."""
    needle = marker.encode() + b"\0"
    out = []
    for pid in _parents():
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:
            continue
        if needle in environ or environ.endswith(needle[:-1]):
            out.append(pid)
    return out


def end_marked(marker: str) -> None:
    """SIGKILL every process that carries `marker` (a script's background child that outlived
    its runner): nothing a run started survives it."""
    for _ in range(3):
        pids = [pid for pid in marked(marker) if pid != os.getpid()]
        if not pids:
            return
        signal_pids(pids, signal.SIGKILL)
        time.sleep(0.05)
