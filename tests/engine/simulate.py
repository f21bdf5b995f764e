"""A test shell for the pure engine: it 'runs' tasks by reporting scripted outcomes.

Not a mock of anything external: the engine has no I/O, and this is exactly what the local
and cluster shells do, minus the processes and pods.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from kflow.engine import AttemptEnded, Engine, KillRequested, KillTask, ResumeRequested, RunTask, WakeAt
from kflow.execution import Execution, State
from kflow.flow import load_flow

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass
class Trace:
    """What happened, in order: ("start"|"end", task_id, taskrun_id, attempt, tick)."""

    events: list[tuple] = field(default_factory=list)
    execution: Execution | None = None
    max_running: int = 0

    def starts(self, task_id: str) -> list[int]:
        return [e[4] for e in self.events if e[0] == "start" and e[1] == task_id]

    def span(self, task_id: str) -> tuple[int, int]:
        start = min(self.starts(task_id))
        end = max(e[4] for e in self.events if e[0] == "end" and e[1] == task_id)
        return start, end

    def started(self) -> list[str]:
        return [e[1] for e in self.events if e[0] == "start"]

    def state(self, task_id: str) -> State:
        runs = [tr for tr in self.execution.taskRunList if tr.taskId == task_id]
        assert len(runs) == 1, f"{task_id}: {len(runs)} task runs"
        return runs[0].state.current


def simulate(flow_yaml: str, outcomes: dict | None = None, *, seed: int | None = None, kill_at: int | None = None,
             batch: int = 1, max_ticks: int = 100_000, resume_at: int | None = None) -> Trace:
    """Run the flow; `outcomes[task_id]` is a State or a list of States per attempt (default SUCCESS).

    With a seed, running attempts end in random order (several at once up to `batch`).
    """
    outcomes = outcomes or {}
    flow = load_flow(flow_yaml)
    engine = Engine(flow)
    run = engine.load(engine.new_execution("exec1", {}, T0))
    rng = random.Random(seed)
    trace = Trace()
    now = T0
    running: list[RunTask] = []
    killed: set[tuple[str, int]] = set()
    result = engine.start(run, now)
    for tick in range(1, max_ticks):
        wake = None
        for action in result.actions:
            if isinstance(action, RunTask):
                trace.events.append(("start", action.task_id, action.taskrun_id, action.attempt, tick))
                running.append(action)
            elif isinstance(action, KillTask):
                killed.add((action.taskrun_id, action.attempt))
            elif isinstance(action, WakeAt):
                wake = action.at if wake is None else min(wake, action.at)
        trace.max_running = max(trace.max_running, len(running))
        if run.execution.state.current.terminal:
            break
        events: list = []
        if resume_at is not None and tick == resume_at:
            events.append(ResumeRequested())
        elif kill_at is not None and tick == kill_at:
            events.append(KillRequested())
        elif running:
            count = 1 if seed is None else rng.randint(1, min(batch, len(running)))
            for _ in range(count):
                action = running.pop(0 if seed is None else rng.randrange(len(running)))
                if (action.taskrun_id, action.attempt) in killed:
                    state = State.KILLED
                else:
                    plan = outcomes.get(action.task_id, State.SUCCESS)
                    state = plan[min(action.attempt, len(plan) - 1)] if isinstance(plan, list) else plan
                outputs = {"value": action.task_id} if state in (State.SUCCESS, State.WARNING) else None
                trace.events.append(("end", action.task_id, action.taskrun_id, action.attempt, tick))
                events.append(AttemptEnded(action.taskrun_id, action.attempt, state, outputs, None if outputs else "boom"))
        elif wake is not None:
            now = wake
        elif resume_at is None or tick > resume_at:
            raise AssertionError(f"engine stuck: nothing running, nothing due, execution {run.execution.state.current}")
        now = now + timedelta(milliseconds=1)
        result = engine.step(run, events, now)
    trace.execution = run.execution
    return trace
