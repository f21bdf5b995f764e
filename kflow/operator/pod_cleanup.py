"""Which finished runner pods go, and when: the keep policy applied to what the status records.

`runner.keepFinishedPods` (Never / OnFailure / Always) says which pods stay; a pod goes only
once the Execution's status holds its attempt's result. Two moments: right after the status
write that records an attempt's end (`collectFinishedPods: WhenRecorded`), and when the
execution ends (every pod left). A pod's log is kept (pod_logs.py) before the pod is deleted,
and kept pods' logs are copied too, so a later manual delete loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Iterable

from kflow.engine import ExecutionRun
from kflow.execution import State, TaskRun
from kflow.operator import names
from kflow.operator.pods import pod_attempt

log = logging.getLogger("kflow.operator")


def ended_attempt(taskrun: TaskRun) -> int | None:
    """The attempt that ended in the step that changed `taskrun`: the last, or the one before a retry just made."""
    attempts = taskrun.attempts
    if attempts and attempts[-1].state.current.terminal:
        return len(attempts) - 1
    if len(attempts) > 1 and attempts[-1].state.current == State.CREATED and attempts[-2].state.current.terminal:
        return len(attempts) - 2
    return None


def _goes(policy: str, failed: bool) -> bool:
    return policy == "Never" or (policy != "Always" and not failed)


def recorded_pods(execution_name: str, run: ExecutionRun, changed: Iterable[str], policy: str) -> list[str]:
    """Names of the pods whose attempt's end the step just written records, and the policy lets go."""
    doomed = []
    for taskrun_id in changed:
        taskrun = run.taskrun(taskrun_id)
        attempt = ended_attempt(taskrun)
        if attempt is not None and _goes(policy, taskrun.attempts[attempt].state.current.failed):
            doomed.append(names.pod_name(execution_name, taskrun.taskId, taskrun_id, attempt))
    return doomed


def finished_pods(pods: Iterable[dict[str, Any]], run: ExecutionRun, policy: str) -> tuple[list[str], list[str]]:
    """At the end of an execution: (pods to delete, pods to keep) among its pods, by name."""
    doomed, kept = [], []
    for pod in pods:
        attempt = pod_attempt(pod)
        if attempt is None or attempt[0] not in run.index.by_id:
            continue
        taskrun = run.taskrun(attempt[0])
        failed = attempt[1] < len(taskrun.attempts) and taskrun.attempts[attempt[1]].state.current.failed
        (doomed if _goes(policy, failed) else kept).append(pod["metadata"]["name"])
    return doomed, kept


class PodCleanup:
    """Deletes finished pods per the policy, each pod's log kept first."""

    def __init__(self, api: Any, pod_logs: Any, policy: str, when_recorded: bool):
        self.api, self.pod_logs = api, pod_logs
        self.policy, self.when_recorded = policy, when_recorded

    def after_write(self, key: tuple[str, str], run: ExecutionRun, changed: Iterable[str]) -> None:
        """After a status write: in the background, the pods of the attempts it recorded as ended."""
        if not self.when_recorded:
            return
        doomed = recorded_pods(key[1], run, changed, self.policy)
        if doomed:
            asyncio.get_running_loop().create_task(self._delete(key[0], doomed))

    async def at_end(self, key: tuple[str, str], run: ExecutionRun, pods: Iterable[dict[str, Any]]) -> None:
        """The execution ended: every finished pod the policy lets go; the logs of those it keeps."""
        doomed, kept = finished_pods(pods, run, self.policy)
        for name in kept:
            asyncio.get_running_loop().create_task(self.pod_logs.keep(key[0], name))
        await asyncio.gather(*(self.retire(key[0], name) for name in doomed))

    async def retire(self, namespace: str, name: str) -> None:
        """A finished (or killed) pod goes, its log kept first (pod_logs.py)."""
        await self.pod_logs.keep(namespace, name)
        await self.api.delete_pod(namespace, name)

    async def _delete(self, namespace: str, doomed: list[str]) -> None:
        for outcome in await asyncio.gather(*(self.retire(namespace, name) for name in doomed), return_exceptions=True):
            if isinstance(outcome, Exception):  # left for at_end
                log.warning("deleting a finished pod in %s failed: %s", namespace, outcome)
