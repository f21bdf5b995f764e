"""How many runner pods may be in flight: operator-wide and per Execution.

A Parallel of 500 tasks asks the engine for 500 attempts in one step; without a cap that is
500 pods at once, for one flow of one team. The engine's decisions are unchanged (its task
runs are RUNNING); only pod creation is admitted here. An attempt over a cap *waits*: it is
listed in the Execution's ``status.waiting`` (task run id -> why), gets a ``TaskWaiting`` Event,
and has its pod created, oldest first, as soon as an attempt of the same Execution (per-Execution
cap) or of any Execution (operator cap) ends. ``status.waiting`` is what makes this crash-safe:
a RUNNING attempt without a pod is either listed there (it waits again after a restart) or lost
(its pod was deleted; it fails).

Pure bookkeeping, no I/O: the controller creates the pods and writes the status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kflow.engine import RunTask

Key = tuple[str, str]  # (kubernetes namespace, execution name)
Attempt = tuple[str, int]  # (task run id, attempt number)


@dataclass
class PodAdmission:
    max_in_flight: int = 0  # operator-wide; 0: no cap
    max_per_execution: int = 0  # per Execution; 0: no cap
    in_flight: dict[Key, set[Attempt]] = field(default_factory=dict)
    waiting: dict[Key, dict[Attempt, RunTask]] = field(default_factory=dict)  # oldest first
    _order: dict[tuple[Key, Attempt], None] = field(default_factory=dict)  # every waiting attempt, oldest first
    _total: int = 0

    def _room(self, key: Key) -> bool:
        if self.max_in_flight and self._total >= self.max_in_flight:
            return False
        return not (self.max_per_execution and len(self.in_flight.get(key, ())) >= self.max_per_execution)

    def reason(self, key: Key) -> str:
        mine = len(self.in_flight.get(key, ()))
        if self.max_per_execution and mine >= self.max_per_execution:
            return f"waiting for a runner pod: this execution has {mine} in flight (runner.maxPodsPerExecution)"
        return f"waiting for a runner pod: {self._total} in flight in the operator (runner.maxPodsInFlight)"

    def running(self, key: Key, attempt: Attempt) -> None:
        """An attempt whose pod exists (created now, or found after a restart)."""
        if attempt not in self.in_flight.setdefault(key, set()):
            self.in_flight[key].add(attempt)
            self._total += 1

    def admit(self, key: Key, starts: list[RunTask]) -> tuple[list[RunTask], dict[str, str]]:
        """This execution's waiting attempts (oldest first), then ``starts``: those whose pod may
        be created now (counted in flight), and what ``status.waiting`` should change (task run
        id -> reason, or None once admitted)."""
        queue = self.waiting.setdefault(key, {})
        fresh = set()
        for action in starts:
            attempt = (action.taskrun_id, action.attempt)
            if attempt not in queue:
                queue[attempt] = action
                self._order[(key, attempt)] = None
                fresh.add(attempt)
        admitted: list[RunTask] = []
        changes: dict[str, str | None] = {}
        for attempt, action in list(queue.items()):
            if not self._room(key):
                break
            del queue[attempt]
            self._order.pop((key, attempt), None)
            self.running(key, attempt)
            admitted.append(action)
            if attempt not in fresh:
                changes[action.taskrun_id] = None
        for attempt in queue:
            if attempt in fresh:
                changes[attempt[0]] = self.reason(key)
        if not queue:
            self.waiting.pop(key, None)
        return admitted, changes

    def requeue(self, key: Key, action: RunTask) -> None:
        """After a restart: an attempt that was waiting (status.waiting) and has no pod waits again."""
        attempt = (action.taskrun_id, action.attempt)
        self.waiting.setdefault(key, {})[attempt] = action
        self._order[(key, attempt)] = None

    def ended(self, key: Key, attempt: Attempt) -> Key | None:
        """An attempt's pod ended: the execution whose waiting attempt is oldest, to be woken."""
        if attempt in self.in_flight.get(key, ()):
            self.in_flight[key].discard(attempt)
            self._total -= 1
        return self.next_waiting(key)

    def drop(self, key: Key, attempt: Attempt) -> bool:
        """A waiting attempt killed before it had a pod; False when it was not waiting."""
        queue = self.waiting.get(key, {})
        if queue.pop(attempt, None) is None:
            return False
        self._order.pop((key, attempt), None)
        return True

    def forget(self, key: Key) -> Key | None:
        """The execution ended or is gone: its slots free, its waiting attempts dropped."""
        self._total -= len(self.in_flight.pop(key, ()))
        for attempt in self.waiting.pop(key, {}):
            self._order.pop((key, attempt), None)
        return self.next_waiting(key)

    def next_waiting(self, freed: Key) -> Key | None:
        """Who should try again: the freed execution if it waits under its own cap, else the oldest waiter."""
        if self.waiting.get(freed) and self._room(freed):
            return freed
        for owner, _ in self._order:
            if self._room(owner):
                return owner
        return None
