"""Engine steps run off the event loop, in a small pool of threads of their own.

A step renders expressions (conditions, loop values, outputs). Every render is bounded
(kflow.expr.limits: a deadline, size budgets; regexes time out and release the GIL), but a
bounded render may still take seconds: on the event loop it would stall every Execution of
every namespace. In a thread it stalls only its own Execution (reconciles of one Execution
are serialized by the controller anyway); a pure-Python render gives up the GIL every few
milliseconds, so the loop keeps serving the others. The pool is separate from asyncio's
default one, which the Kubernetes client calls use: renders can never starve API calls.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None


def _threads() -> int:
    try:
        return max(1, int(os.environ.get("KFLOW_ENGINE_THREADS", "4")))
    except ValueError:
        return 4


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the engine pool, with the caller's context variables."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_threads(), thread_name_prefix="kflow-engine")
    call = functools.partial(contextvars.copy_context().run, fn, *args)
    return await asyncio.get_running_loop().run_in_executor(_pool, call)
