"""The pure state machine: an execution's state and what was observed in, actions out.

No clock, no I/O: `now` is given, actions are returned. Both shells (the operator and
`kflow run`) call it the same way, so what runs next is decided here once.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from kflow.engine.context import expression_context
from kflow.engine.events import (
    AttemptEnded,
    Event,
    ExecutionEnded,
    KillRequested,
    KillTask,
    RunTask,
    StepResult,
    WakeAt,
)
from kflow.engine.ids import taskrun_id
from kflow.engine.index import ExecutionIndex
from kflow.engine.node import ChildSpec, Node
from kflow.engine.plan import FlowPlan
from kflow.engine.retry import next_attempt_at
from kflow.engine.root import FlowRoot
from kflow.execution import Attempt, Execution, State, StateInfo, TaskRun
from kflow.execution.instants import to_json_data
from kflow.flow.model import Flow, Task
from kflow.runner.invocation import Invocation

ROOT = None  # the key of the flow itself among task run parents


class ExecutionRun:
    """An execution with its indexes, held by a shell across engine steps."""

    def __init__(self, execution: Execution, plan: FlowPlan):
        self.execution = execution
        self.index = ExecutionIndex(execution, plan)

    @property
    def killing(self) -> bool:
        return self.execution.state.current in (State.KILLING, State.KILLED)

    def taskrun(self, taskrun_id: str) -> TaskRun:
        return self.index.by_id[taskrun_id]


class Engine:
    def __init__(self, flow: Flow):
        self.plan = FlowPlan(flow)
        self.root = FlowRoot(self.plan.root_tasks, self.plan.root_errors, self.plan.root_finally)
        self._references: dict[str, set[str] | None] = {}

    @property
    def flow(self) -> Flow:
        return self.plan.flow

    # -- entry points ------------------------------------------------------------------------
    def new_execution(
        self,
        execution_id: str,
        inputs: dict[str, Any],
        now: datetime,
        labels: dict[str, str] | None = None,
        trigger: dict[str, Any] | None = None,
    ) -> Execution:
        flow = self.flow
        return Execution(
            id=execution_id,
            namespace=flow.namespace,
            flowId=flow.id,
            flowRevision=flow.revision or 1,
            state=StateInfo.new(State.CREATED, now),
            inputs=inputs,
            labels={**flow.labels, **(labels or {})},
            trigger=trigger,
        )

    def load(self, execution: Execution) -> ExecutionRun:
        return ExecutionRun(execution, self.plan)

    def start(self, run: ExecutionRun, now: datetime) -> StepResult:
        result = StepResult()
        if run.execution.state.current == State.CREATED:
            run.execution.state.to(State.RUNNING, now)
            result.execution_changed = True
        self._settle(run, result, deque([ROOT]), now)
        return result

    def step(self, run: ExecutionRun, events: list[Event], now: datetime) -> StepResult:
        result = StepResult()
        if run.execution.state.current.terminal:
            return result
        dirty: deque[str | None] = deque()
        for event in events:
            if isinstance(event, AttemptEnded):
                self._attempt_ended(run, event, result, dirty, now)
            elif isinstance(event, KillRequested):
                self._kill(run, event, result, dirty, now)
        self._due_retries(run, result, now)
        self._settle(run, result, dirty, now)
        return result

    def context(self, run: ExecutionRun, taskrun_id: str) -> dict[str, Any]:
        """The expression variables of a task run, for the runner that runs it."""
        taskrun = run.taskrun(taskrun_id)
        return expression_context(run.index, taskrun, self.plan.task(taskrun.taskId), self._references)

    def invocation(self, run: ExecutionRun, action: RunTask) -> Invocation:
        """All a runner needs for one attempt: the task as written and the variables it reads."""
        execution = run.execution
        task = self.plan.task(action.task_id)
        return Invocation(
            executionId=execution.id,
            taskRunId=action.taskrun_id,
            attempt=action.attempt,
            namespace=execution.namespace,
            flowId=execution.flowId,
            task=task.model_dump(mode="json", by_alias=True, exclude_unset=True),
            context=to_json_data(self.context(run, action.taskrun_id)),
        )

    # -- events -------------------------------------------------------------------------------
    def _attempt_ended(self, run: ExecutionRun, event: AttemptEnded, result: StepResult, dirty: deque, now: datetime) -> None:
        taskrun = run.index.by_id.get(event.taskrun_id)
        if taskrun is None or taskrun.state.current.terminal or event.attempt != len(taskrun.attempts) - 1:
            return  # unknown, already settled, or an older attempt: a repeated report
        attempt = taskrun.attempts[event.attempt]
        if attempt.state.current.terminal or attempt.state.current == State.CREATED:
            return
        task = self.plan.task(taskrun.taskId)
        state = event.state
        if run.killing and state == State.FAILED:
            state = State.KILLED
        attempt.state.to(state, now)
        attempt.reason = event.reason
        result.changed.add(taskrun.id)
        if state in (State.SUCCESS, State.WARNING):
            run.index.set_outputs(taskrun, event.outputs or None)
            retried = len(taskrun.attempts) > 1 and task.retry is not None and task.retry.warningOnRetry
            final = State.WARNING if state == State.WARNING or retried else State.SUCCESS
        elif state == State.FAILED:
            first = taskrun.attempts[0].state.start_date or now
            due = next_attempt_at(task.retry, len(taskrun.attempts), first, now, taskrun.id)
            if due is not None:
                taskrun.attempts.append(Attempt(state=StateInfo.new(State.CREATED, now), notBefore=due))
                run.index.set_state(taskrun, State.RETRYING, now)
                return
            final = State.FAILED
        else:
            final = State.KILLED
        self._finish(run, taskrun, task, final, result, dirty, now)

    def _kill(self, run: ExecutionRun, event: KillRequested, result: StepResult, dirty: deque, now: datetime) -> None:
        if run.killing:
            return
        run.execution.state.to(State.KILLING, now)
        result.execution_changed = True
        index = run.index
        for running_id in list(index.running_runnables):
            taskrun = index.by_id[running_id]
            attempt = taskrun.attempts[-1]
            if taskrun.state.current == State.RETRYING:
                attempt.state.to(State.KILLED, now)
                self._finish(run, taskrun, self.plan.task(taskrun.taskId), State.KILLED, result, dirty, now)
            else:
                result.actions.append(KillTask(running_id, len(taskrun.attempts) - 1))
        dirty.extend(index.running_flowables)
        dirty.append(ROOT)

    def _due_retries(self, run: ExecutionRun, result: StepResult, now: datetime) -> None:
        """Start the retries that are due; ask to be woken for the earliest that is not."""
        index = run.index
        earliest = None
        for retrying_id, due in list(index.retries.items()):
            if due > now:
                earliest = due if earliest is None else min(earliest, due)
                continue
            taskrun = index.by_id[retrying_id]
            self._start_attempt(run, taskrun, taskrun.attempts[-1], result, now)
        if earliest is not None:
            result.actions.append(WakeAt(earliest))

    # -- resolution ---------------------------------------------------------------------------
    def _settle(self, run: ExecutionRun, result: StepResult, dirty: deque, now: datetime) -> None:
        """Resolve every flowable whose children changed, until nothing changes."""
        queued = set(dirty)
        while dirty:
            parent_id = dirty.popleft()
            queued.discard(parent_id)
            for follow in self._resolve(run, parent_id, result, now):
                if follow not in queued:
                    queued.add(follow)
                    dirty.append(follow)

    def _resolve(self, run: ExecutionRun, parent_id: str | None, result: StepResult, now: datetime) -> list[str | None]:
        index = run.index
        if parent_id is ROOT:
            taskrun, flowable = None, self.root
            if run.execution.state.current.terminal:
                return []
        else:
            taskrun = index.by_id[parent_id]
            if taskrun.state.current.terminal:
                return []
            flowable = self.plan.task(taskrun.taskId)
        node = Node(taskrun, index.branches.get(parent_id, {}), run.killing)
        follow: list[str | None] = []
        if run.killing:
            state = State.KILLED if node.active == 0 else None
        else:
            try:
                for spec in flowable.next_children(node):
                    follow.extend(self._create(run, taskrun, spec, result, now))
                state = flowable.resolve_state(node)
            except Exception as err:  # an expression of the flowable failed: it fails, visibly
                if taskrun is None:
                    raise
                state = State.FAILED
                reason = f"task {taskrun.taskId!r}: {err}"
                taskrun.attempts.append(Attempt(state=StateInfo.new(State.FAILED, now), reason=reason))
        if state is None:
            return follow
        if taskrun is None:
            run.execution.state.to(state, now)
            result.execution_changed = True
            result.actions.append(ExecutionEnded(state))
            return follow
        self._finish(run, taskrun, flowable, state, result, follow, now)
        return follow

    def _create(self, run: ExecutionRun, parent: TaskRun | None, spec: ChildSpec, result: StepResult, now: datetime) -> list[str | None]:
        """Create a child task run; returns the flowables to resolve next."""
        index = run.index
        parent_id = parent.id if parent else None
        new_id = taskrun_id(run.execution.id, parent_id, spec.task.id, spec.value)
        if new_id in index.by_id:
            return []
        task = spec.task
        taskrun = TaskRun(
            id=new_id,
            taskId=task.id,
            parentTaskRunId=parent_id,
            value=spec.value,
            iteration=spec.iteration,
            state=StateInfo.new(State.CREATED, now),
        )
        index.add(taskrun)
        result.changed.add(new_id)
        run_if = self._run_if(run, taskrun, task)
        if run_if is not True:
            if isinstance(run_if, str):
                taskrun.attempts.append(Attempt(state=StateInfo.new(State.FAILED, now), reason=run_if))
                index.set_state(taskrun, State.FAILED, now)
            else:
                index.set_state(taskrun, State.SKIPPED, now)
            return [parent_id]
        if task.flowable:
            index.set_state(taskrun, State.RUNNING, now)
            return [new_id]
        attempt = Attempt(state=StateInfo.new(State.CREATED, now))
        taskrun.attempts.append(attempt)
        self._start_attempt(run, taskrun, attempt, result, now)
        return []

    def _run_if(self, run: ExecutionRun, taskrun: TaskRun, task: Task) -> bool | str:
        """True to run, False to skip, or why the condition could not be evaluated."""
        condition = task.runIf
        if condition is True or (isinstance(condition, str) and condition.strip().lower() == "true"):
            return True
        if condition is False:
            return False
        from kflow.expr import ExpressionError, render

        try:
            rendered = render(condition, expression_context(run.index, taskrun, task, self._references))
        except ExpressionError as err:
            return f"task {task.id!r}, property runIf: {err}"
        return rendered.strip().lower() not in ("false", "0", "", "null", "none")

    def _start_attempt(self, run: ExecutionRun, taskrun: TaskRun, attempt: Attempt, result: StepResult, now: datetime) -> None:
        attempt.state.to(State.RUNNING, now)
        run.index.set_state(taskrun, State.RUNNING, now)
        result.changed.add(taskrun.id)
        task = self.plan.task(taskrun.taskId)
        result.actions.append(RunTask(taskrun.id, len(taskrun.attempts) - 1, task.id, task.timeout_seconds()))

    def _finish(self, run: ExecutionRun, taskrun: TaskRun, task: Task, state: State, result: StepResult, dirty, now: datetime) -> None:
        """A task run's final state, after Kestra's allowFailure/allowWarning; wakes its parent."""
        if state == State.FAILED and task.allowFailure:
            state = State.WARNING
        if state == State.WARNING and task.allowWarning:
            state = State.SUCCESS
        run.index.set_state(taskrun, state, now)
        result.changed.add(taskrun.id)
        dirty.append(taskrun.parentTaskRunId)
