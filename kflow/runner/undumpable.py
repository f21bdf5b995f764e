"""Keep this process's memory and environment from other processes of the same user.

`prctl(PR_SET_DUMPABLE, 0)`: /proc/<pid>/environ, /mem, /maps become root's, and ptrace is
refused, to any process without CAP_SYS_PTRACE, so a script (same user, but a program of its
own after exec, which is dumpable again) cannot read what `kflow run` or its runner hold. No
effect for root-owned readers; a no-op where prctl does not exist.
"""

from __future__ import annotations

import ctypes
import sys

PR_SET_DUMPABLE = 4


def make_undumpable() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
