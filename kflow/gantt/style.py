"""What every renderer shares: Kestra-like colours per state, durations in words, axis ticks."""

from __future__ import annotations

import math

from kflow.execution import State

# Close to Kestra's UI: green success, red failure, orange warning, blue running, greys for
# what did not (or no longer) run.
COLORS: dict[State, str] = {
    State.SUCCESS: "#21a366",
    State.WARNING: "#f08c00",
    State.FAILED: "#d9304f",
    State.RUNNING: "#1c7ed6",
    State.KILLING: "#7a6e8a",
    State.KILLED: "#868e96",
    State.CANCELLED: "#868e96",
    State.SKIPPED: "#adb5bd",
    State.CREATED: "#9aa5b1",
    State.QUEUED: "#9aa5b1",
    State.PAUSED: "#7048e8",
    State.RESTARTED: "#7048e8",
    State.RETRYING: "#e8590c",
    State.RETRIED: "#b1a06b",
}
# The legend's order: the usual states first.
LEGEND_ORDER = [
    State.SUCCESS, State.WARNING, State.FAILED, State.RUNNING, State.CREATED, State.QUEUED,
    State.PAUSED, State.RETRYING, State.RETRIED, State.RESTARTED, State.KILLING, State.KILLED,
    State.CANCELLED, State.SKIPPED,
]

ICONS: dict[State, str] = {
    State.SUCCESS: "✔", State.WARNING: "!", State.FAILED: "✘", State.KILLED: "■",
    State.CANCELLED: "■", State.SKIPPED: "-", State.RETRIED: "↻",
}


def color(state: State) -> str:
    return COLORS.get(state, "#9aa5b1")


def format_duration(seconds: float) -> str:
    """420ms, 4.2s, 2m05s, 1h02m, 3d04h: at most 7 characters, exact enough to compare."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


_STEPS = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
]


def tick_step(seconds: float, max_ticks: int) -> float:
    """The smallest round step giving at most `max_ticks` intervals over `seconds`."""
    max_ticks = max(max_ticks, 1)
    for step in _STEPS:
        if seconds / step <= max_ticks:
            return step
    return 86400 * math.ceil(seconds / 86400 / max_ticks)


def ticks(seconds: float, max_ticks: int) -> list[float]:
    """Offsets in seconds from the axis' start: 0, step, 2·step… up to `seconds`."""
    step = tick_step(seconds, max_ticks)
    count = int(seconds / step + 1e-9)
    return [round(i * step, 6) for i in range(count + 1)]


def format_tick(offset: float, step: float) -> str:
    if offset == 0:
        return "0s"
    if step < 1:
        decimals = max(0, -int(math.floor(math.log10(step))))
        return f"{offset:.{decimals}f}s"
    if step < 60:
        return f"{offset:.0f}s"
    return format_duration(offset)
