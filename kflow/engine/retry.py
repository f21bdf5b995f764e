"""When the next attempt of a failed task run may start, under Kestra's retry policies."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from kflow.flow.durations import parse_duration
from kflow.flow.task import Retry


def next_attempt_at(retry: Retry | None, attempts_done: int, first_start: datetime, now: datetime, key: str) -> datetime | None:
    """None when no attempt is left. `key` seeds the random policy, so replays agree."""
    if retry is None:
        return None
    if retry.maxAttempt is not None and attempts_done >= retry.maxAttempt:
        return None
    delay = _delay(retry, attempts_done, key)
    at = now + timedelta(seconds=delay)
    if retry.maxDuration is not None and (at - first_start).total_seconds() > parse_duration(retry.maxDuration):
        return None
    return at


def _delay(retry: Retry, attempts_done: int, key: str) -> float:
    if retry.type == "constant":
        return parse_duration(retry.interval)
    if retry.type == "exponential":
        factor = retry.delayFactor if retry.delayFactor is not None else 2.0
        delay = parse_duration(retry.interval) * factor ** max(attempts_done - 1, 0)
        if retry.maxInterval is not None:
            delay = min(delay, parse_duration(retry.maxInterval))
        return delay
    low, high = parse_duration(retry.minInterval), parse_duration(retry.maxInterval)
    digest = hashlib.sha256(f"{key}:{attempts_done}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return low + (high - low) * fraction
