"""The operator's resident memory: glibc's malloc arenas, capped before any thread starts.

glibc gives each thread that contends for the heap an arena of its own (up to 8 per CPU),
and memory freed in one is not returned to the others nor, mostly, to the system. The
operator runs kopf's event loop plus a dozen threads (API calls, pod logs, engine steps), so
with 1,000 live executions its RSS grew with arenas rather than with what it holds. Two
arenas is what MALLOC_ARENA_MAX=2 would give, set from inside since the chart's and a local
run's environments differ. A libc without mallopt (musl, macOS) is left as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # malloc.h


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """True when glibc took the limit."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
