"""The pure state machine: an execution's state and what was observed in, actions out.

No clock, no I/O: `now` is given, actions are returned. Both shells (the operator and
`kflow run`) call it the same way, so what runs next is decided here once.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any

from kflow.engine.context import expression_context
from kflow.engine.events import (
    AttemptEnded,
    Event,
    ExecutionEnded,
    KillRequested,
    KillTask,
    RestartRequested,
    ResumeRequested,
    RunTask,
    StartSubflow,
    StepResult,
    WakeAt,
)
from kflow.engine.sla import end_now, failed_assertions, next_deadline, overdue, violate
from kflow.engine.batches import BatchError, label_map
from kflow.engine.exit import end_execution
from kflow.engine.flow_retry import new_execution_due, retry_due, waiting_until
from kflow.engine.ids import subflow_execution_id, taskrun_id
from kflow.engine.index import ExecutionIndex
from kflow.flow.node import ChildSpec, Node, NodeServices
from kflow.engine.plan import FlowPlan
from kflow.engine.restart import restart, retry_flowable
from kflow.engine.retry import next_attempt_at
from kflow.engine.root import FlowRoot
from kflow.engine.run import ExecutionRun
from kflow.execution import Attempt, Execution, State, StateInfo, TaskRun
from kflow.execution.model import ExecutionMetadata
from kflow.execution.instants import to_json_data
from kflow.flow.model import Flow, Task
from kflow.kv import KVStore
from kflow.attempt_logs import AttemptLogs
from kflow.runner.invocation import Invocation

ROOT = None  # the key of the flow itself among task run parents
CORRELATION_ID = "system.correlationId"


class Engine:
    def __init__(self, flow: Flow):
        self.plan = FlowPlan(flow)
        self.root = FlowRoot(self.plan.root_tasks, self.plan.root_errors, self.plan.root_finally, self.plan.root_listeners,
                             flow.namespace, flow.id)
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
        schedule_date: datetime | None = None,
        metadata: ExecutionMetadata | None = None,
    ) -> Execution:
        """`schedule_date`/`metadata`: a flow retry's new try (it waits until then; which try it is)."""
        flow = self.flow
        return Execution(
            scheduleDate=schedule_date,
            metadata=metadata,
            id=execution_id,
            namespace=flow.namespace,
            flowId=flow.id,
            flowRevision=flow.revision or 1,
            state=StateInfo.new(State.CREATED, now),
            inputs=inputs,
            # Kestra's system.correlationId: the execution's own id, or the one a parent passed on
            labels={**flow.labels, CORRELATION_ID: execution_id, **(labels or {})},
            trigger=trigger,
        )

    def load(self, execution: Execution, kv: KVStore | None = None) -> ExecutionRun:
        """The execution held for stepping; `kv` is the shell's KV store for it (None: none)."""
        return ExecutionRun(execution, self.plan, kv)

    def start(self, run: ExecutionRun, now: datetime) -> StepResult:
        result = StepResult()
        schedule = run.execution.scheduleDate
        if run.execution.state.current == State.CREATED and schedule is not None and schedule > now:
            result.actions.append(WakeAt(schedule))  # a flow retry's new try waits CREATED for its delay
            return result
        if run.execution.state.current == State.CREATED:
            run.execution.state.to(State.RUNNING, now)
            result.execution_changed = True
        # A replayed execution starts with reopened flowables: resolve them too.
        self._settle(run, result, deque([*run.index.running_flowables, ROOT]), now)
        _mask_written(run, result)
        self._sla_wake(run, result, now)
        return result

    def step(self, run: ExecutionRun, events: list[Event], now: datetime) -> StepResult:
        result = StepResult()
        if run.execution.state.current.terminal:
            if any(isinstance(event, RestartRequested) for event in events):
                dirty = restart(self.plan, run, result, now, self._start_attempt)
                self._settle(run, result, dirty, now)
                _mask_written(run, result)
            return result
        if self.flow.sla:  # a MAX_DURATION past its deadline (the shell woke us for it)
            end = violate(run, overdue(self.flow.sla, run, now), result)
            if end is not None:
                end_now(run, end, result, now)
                _mask_written(run, result)
                return result
        if run.execution.state.current == State.RETRYING:  # the flow's retry: waiting for its delay
            return self._flow_retry(run, events, result, now)
        if run.execution.state.current == State.CREATED:  # not started yet: its scheduleDate
            if any(isinstance(event, KillRequested) for event in events):
                return self._end_waiting(run, result, now)
            return self.start(run, now)
        dirty: deque[str | None] = deque()
        for event in events:
            if isinstance(event, AttemptEnded):
                self._attempt_ended(run, event, result, dirty, now)
            elif isinstance(event, KillRequested):
                self._kill(run, event, result, dirty, now)
            elif isinstance(event, ResumeRequested):
                self._resume(run, event, result, dirty, now)
        self._due_retries(run, result, dirty, now)
        self._due_timeouts(run, result, dirty, now)
        dirty.extend(run.index.paused)  # a pause may be due
        if run.wakeups:
            due = [fid for fid, at in run.wakeups.items() if at is None or at <= now]
            for fid in due:
                del run.wakeups[fid]
            dirty.extend(fid for fid in due if fid in run.index.by_id)
        self._settle(run, result, dirty, now)
        _mask_written(run, result)
        self._sla_wake(run, result, now)
        return result

    def _sla_wake(self, run: ExecutionRun, result: StepResult, now: datetime) -> None:
        """With MAX_DURATION SLAs: one WakeAt, the earliest of what this step asked, the flowables'
        timers and the SLA deadline (a shell keeps one timer per execution: none is lost)."""
        if not self.flow.sla or run.execution.state.current.terminal:
            return
        times = [a.at for a in result.actions if isinstance(a, WakeAt)]
        times += [at for at in run.wakeups.values() if at is not None and at > now]
        due = next_deadline(self.flow.sla, run, now)
        if due is not None:
            times.append(due)
        if times:
            result.actions[:] = [a for a in result.actions if not isinstance(a, WakeAt)] + [WakeAt(min(times))]

    def context(self, run: ExecutionRun, taskrun_id: str) -> dict[str, Any]:
        """The expression variables of a task run, for the runner that runs it."""
        taskrun = run.taskrun(taskrun_id)
        return expression_context(run.index, taskrun, self.plan.task(taskrun.taskId), self._references, run.kv, run.logs)

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
            secretInputs=[i.id for i in self.flow.inputs if i.type == "SECRET"],
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
        if event.iteration is not None:  # one batch's child ended (ForEachItem's items): the task records it
            result.changed.add(taskrun.id)
            event = task.batch_child_ended(run.index, taskrun, event)
            if event is None:
                return
        state = event.state
        if state == State.FAILED and (run.killing or self._timed_out(run, taskrun)):
            state = State.KILLED
        if event.children:
            self._record_children(run, taskrun, event.children, result, now)
        state = task.attempt_state(state)  # Subflow: a child's failure not passed on
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

    def _flow_retry(self, run: ExecutionRun, events: list[Event], result: StepResult, now: datetime) -> StepResult:
        """A RETRYING execution: killed at once if asked, else restarted from its failed task runs once due."""
        if any(isinstance(event, KillRequested) for event in events):
            return self._end_waiting(run, result, now)
        due = waiting_until(self.flow, run.execution)
        if due is not None and due > now:
            result.actions.append(WakeAt(due))
            return result
        self._settle(run, result, restart(self.plan, run, result, now, self._start_attempt), now)
        return result

    def _end_waiting(self, run: ExecutionRun, result: StepResult, now: datetime) -> StepResult:
        """Killed while nothing runs (waiting to start, or for the flow's retry): KILLED at once."""
        run.execution.state.to(State.KILLED, now)
        result.execution_changed = True
        result.actions.append(ExecutionEnded(State.KILLED))
        return result

    def _kill(self, run: ExecutionRun, event: KillRequested, result: StepResult, dirty: deque, now: datetime) -> None:
        if run.killing:
            return
        run.execution.state.to(State.KILLING, now)
        result.execution_changed = True
        index = run.index
        for running_id in list(index.running_runnables):
            self._stop(run, index.by_id[running_id], result, dirty, now)
        dirty.extend(index.running_flowables)
        dirty.append(ROOT)

    def _stop(self, run: ExecutionRun, taskrun: TaskRun, result: StepResult, dirty: deque, now: datetime) -> None:
        """A running attempt is asked to die; one waiting for its retry is KILLED at once."""
        if taskrun.state.current == State.RETRYING:
            taskrun.attempts[-1].state.to(State.KILLED, now)
            self._finish(run, taskrun, self.plan.task(taskrun.taskId), State.KILLED, result, dirty, now)
        else:
            result.actions.append(KillTask(taskrun.id, len(taskrun.attempts) - 1))

    def _due_timeouts(self, run: ExecutionRun, result: StepResult, dirty: deque, now: datetime) -> None:
        """A flowable past its `timeout`: its running descendants are killed, then it FAILS."""
        index = run.index
        earliest = None
        if not self.plan.flowable_timeouts:
            return  # the common case: no step walks the running flowables for nothing
        for flowable_id in list(index.running_flowables):
            taskrun = index.by_id[flowable_id]
            seconds = self.plan.flowable_timeouts.get(taskrun.taskId)
            if seconds is None or flowable_id in index.timed_out:
                continue
            due = taskrun.state.start_date + timedelta(seconds=seconds)
            if due > now:
                earliest = due if earliest is None else min(earliest, due)
                continue
            index.timed_out.add(flowable_id)
            reason = f"task {taskrun.taskId!r} timed out after {self.plan.task(taskrun.taskId).timeout}"
            taskrun.attempts.append(Attempt(state=StateInfo.new(State.FAILED, now), reason=reason))
            result.changed.add(flowable_id)
            for running_id in list(index.running_runnables):
                running = index.by_id[running_id]
                if any(parent.id == flowable_id for parent in index.parents(running)):
                    self._stop(run, running, result, dirty, now)
            dirty.append(flowable_id)
            dirty.extend(f for f in index.running_flowables if any(p.id == flowable_id for p in index.parents(index.by_id[f])))
        if earliest is not None:
            result.actions.append(WakeAt(earliest))

    def _timed_out(self, run: ExecutionRun, taskrun: TaskRun) -> str | None:
        """The id of this task run or its nearest ancestor past its timeout, if any."""
        timed_out = run.index.timed_out
        if not timed_out:
            return None
        if taskrun.id in timed_out:
            return taskrun.id
        return next((parent.id for parent in run.index.parents(taskrun) if parent.id in timed_out), None)

    def _resume(self, run: ExecutionRun, event: ResumeRequested, result: StepResult, dirty: deque, now: datetime) -> None:
        for flowable_id in list(run.index.running_flowables):
            taskrun = run.index.by_id[flowable_id]
            if taskrun.state.current != State.PAUSED:
                continue
            try:  # the task's own answer to the resume inputs (Pause: its `onResume` outputs)
                outputs = self.plan.task(taskrun.taskId).resume_outputs(event.inputs)
            except ValueError as err:
                taskrun.attempts.append(Attempt(state=StateInfo.new(State.FAILED, now), reason=f"task {taskrun.taskId!r}: {err}"))
                self._finish(run, taskrun, self.plan.task(taskrun.taskId), State.FAILED, result, dirty, now)
                continue
            if outputs:
                run.index.set_outputs(taskrun, {**(taskrun.outputs or {}), **outputs})
            self._resume_taskrun(run, taskrun, result, now)
            dirty.append(flowable_id)

    def _resume_taskrun(self, run: ExecutionRun, taskrun: TaskRun, result: StepResult, now: datetime) -> None:
        run.index.set_state(taskrun, State.RUNNING, now)
        result.changed.add(taskrun.id)
        self._unpause(run, result, now)

    def _unpause(self, run: ExecutionRun, result: StepResult, now: datetime) -> None:
        if run.execution.state.current == State.PAUSED:
            run.execution.state.to(State.RUNNING, now)
            result.execution_changed = True

    def _record_children(self, run: ExecutionRun, parent: TaskRun, children, result: StepResult, now: datetime) -> None:
        """Task runs for the tasks an attempt ran inside itself (WorkingDirectory), as reported."""
        index = run.index
        for child in children:
            child_id = taskrun_id(run.execution.id, parent.id, child.taskId, None)
            if child_id in index.by_id:  # an earlier attempt's: this attempt's report replaces it
                index.remove(index.by_id[child_id])
            started, ended = child.startDate or now, child.endDate or now
            state = State(child.state)
            info = StateInfo.new(State.CREATED, started)
            info.to(State.RUNNING, started)
            attempt = Attempt(state=info.model_copy(deep=True), reason=child.reason)
            attempt.state.to(state, ended)
            taskrun = TaskRun(id=child_id, taskId=child.taskId, parentTaskRunId=parent.id, state=info, attempts=[attempt], outputs=child.outputs)
            taskrun.state.to(state, ended)
            index.add(taskrun)
            result.changed.add(child_id)

    def _due_retries(self, run: ExecutionRun, result: StepResult, dirty: deque, now: datetime) -> None:
        """Start the retries that are due; ask to be woken for the earliest that is not."""
        index = run.index
        earliest = None
        for retrying_id, due in list(index.retries.items()):
            if due > now:
                earliest = due if earliest is None else min(earliest, due)
                continue
            taskrun = index.by_id[retrying_id]
            if self.plan.task(taskrun.taskId).flowable:
                dirty.extend(retry_flowable(self.plan, run, taskrun, result, now, self._start_attempt))
            else:
                dirty.extend(self._start_attempt(run, taskrun, taskrun.attempts[-1], result, now))
        if earliest is not None:
            result.actions.append(WakeAt(earliest))

    # -- resolution ---------------------------------------------------------------------------
    def _settle(self, run: ExecutionRun, result: StepResult, dirty: deque, now: datetime) -> None:
        """Resolve every flowable whose children changed, until nothing changes."""
        queued = set(dirty)
        while dirty:
            if run.exit_request is not None:  # an Exit task ended: the execution ends now, nothing else resolves
                state, exit_id = run.exit_request
                run.exit_request = None
                end_execution(run, state, exit_id, result, now)
                return
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
            if taskrun.state.current.terminal or taskrun.state.current == State.RETRYING:
                return []
            flowable = self.plan.task(taskrun.taskId)
        services = _Services(self, run, result, now)
        stopping = run.killing or (taskrun is not None and self._timed_out(run, taskrun) is not None)
        node = Node(taskrun, index.branches.get(parent_id, {}), stopping, index.loops.get(parent_id), services, now,
                    run.memo.setdefault(parent_id, {}))
        follow: list[str | None] = []
        if stopping:
            # Killed, or inside a flowable past its timeout: start nothing, end once children ended.
            timed_out = None if run.killing else self._timed_out(run, taskrun)
            state = None if node.active else (State.FAILED if timed_out is not None and timed_out == taskrun.id else State.KILLED)
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
            state = self._flow_outputs(run, state)
            if self.flow.sla and not stopping:  # EXECUTION_ASSERTION: checked as the execution ends
                context = expression_context(run.index, None, None, self._references, run.kv, run.logs)
                state = violate(run, failed_assertions(self.flow.sla, context), result) or state
            due = retry_due(self.flow, run.execution, now) if state == State.FAILED and not run.killing else None
            if due is not None:
                run.execution.state.to(State.RETRYING, now)
                result.execution_changed = True
                result.actions.append(WakeAt(due))
                return follow
            again = new_execution_due(self.flow, run.execution, now) if state == State.FAILED and not run.killing else None
            if again is not None:
                state = State.RETRIED
                result.actions.append(again)
            run.execution.state.to(state, now)
            result.execution_changed = True
            result.actions.append(ExecutionEnded(state))
            return follow
        if state.failed and not stopping and flowable.retry is not None and self._retry_later(run, taskrun, flowable, result, now):
            return follow
        self._finish(run, taskrun, flowable, state, result, follow, now)
        return follow

    def _retry_later(self, run: ExecutionRun, taskrun: TaskRun, flowable: Task, result: StepResult, now: datetime) -> bool:
        """A failed flowable with `retry`: its failed task runs will run again (RETRYING until due)."""
        done = 1 + sum(1 for a in taskrun.attempts if a.state.current == State.FAILED)  # this try and the failed ones
        first = taskrun.state.start_date or now
        due = next_attempt_at(flowable.retry, done, first, now, taskrun.id)
        if due is None:
            return False
        ended = Attempt(state=StateInfo.new(State.RUNNING, taskrun.state.date_of(State.RUNNING) or first))
        ended.state.to(State.FAILED, now)
        taskrun.attempts.append(ended)
        taskrun.attempts.append(Attempt(state=StateInfo.new(State.CREATED, now), notBefore=due))
        run.index.set_state(taskrun, State.RETRYING, now)
        result.changed.add(taskrun.id)
        result.actions.append(WakeAt(due))
        return True

    def _flow_outputs(self, run: ExecutionRun, state: State) -> State:
        """Kestra renders the flow's `outputs` once the execution succeeded; a bad one fails it."""
        outputs = self.flow.outputs
        if not outputs or state not in (State.SUCCESS, State.WARNING):
            return state
        from kflow.expr import ExpressionError, render_value

        context = expression_context(run.index, None, None, self._references, run.kv, run.logs)
        values = {}
        for output in outputs:
            try:
                values[output.id] = render_value(output.value, context)
            except ExpressionError as err:
                run.execution.error = f"flow output {output.id!r}: {err}"
                return State.FAILED
        run.execution.outputs = values
        return state

    def _create(self, run: ExecutionRun, parent: TaskRun | None, spec: ChildSpec, result: StepResult, now: datetime) -> list[str | None]:
        """Create a child task run; returns the flowables to resolve next."""
        index = run.index
        parent_id = parent.id if parent else None
        key = spec.value if spec.iteration is None else f"{spec.iteration}:{spec.value}"
        new_id = taskrun_id(run.execution.id, parent_id, spec.task.id, key)
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
        state = task.created_state()
        if state is None:
            attempt = Attempt(state=StateInfo.new(State.CREATED, now))
            taskrun.attempts.append(attempt)
            return self._start_attempt(run, taskrun, attempt, result, now)
        index.set_state(taskrun, state, now)
        if state == State.PAUSED:  # a task run created PAUSED pauses the execution until its end
            if run.execution.state.current == State.RUNNING:
                run.execution.state.to(State.PAUSED, now)
                result.execution_changed = True
        elif task.timeout_seconds() is not None:
            result.actions.append(WakeAt(now + timedelta(seconds=task.timeout_seconds())))
        return [new_id]

    def _run_if(self, run: ExecutionRun, taskrun: TaskRun, task: Task) -> bool | str:
        """True to run, False to skip, or why the condition could not be evaluated."""
        condition = task.runIf
        if condition is True or (isinstance(condition, str) and condition.strip().lower() == "true"):
            return True
        if condition is False:
            return False
        from kflow.expr import ExpressionError, render

        try:
            rendered = render(condition, expression_context(run.index, taskrun, task, self._references, run.kv, run.logs))
        except ExpressionError as err:
            return f"task {task.id!r}, property runIf: {err}"
        return rendered.strip().lower() not in ("false", "0", "", "null", "none")

    def _start_attempt(self, run: ExecutionRun, taskrun: TaskRun, attempt: Attempt, result: StepResult, now: datetime) -> list[str | None]:
        """Start an attempt; returns the flowables to resolve next (when it could not start)."""
        attempt.state.to(State.RUNNING, now)
        run.index.set_state(taskrun, State.RUNNING, now)
        result.changed.add(taskrun.id)
        task = self.plan.task(taskrun.taskId)
        number = len(taskrun.attempts) - 1
        child = task.child_execution()
        if child is None:
            result.actions.append(RunTask(taskrun.id, number, task.id, task.timeout_seconds()))
            return []
        from kflow.expr import ExpressionError, render_value

        context = expression_context(run.index, taskrun, task, self._references, run.kv, run.logs)
        follow: list[str | None] = []
        try:
            rendered = render_value({"namespace": child.namespace, "flowId": child.flowId, "labels": child.labels or {}}, context)
            labels = {**(run.execution.labels if getattr(task, "inheritLabels", False) else {}), **label_map(rendered["labels"])}
            labels[CORRELATION_ID] = run.execution.labels.get(CORRELATION_ID, run.execution.id)  # the child inherits it
            batches = task.batch_children(run.index, taskrun, number, context, rendered["namespace"], rendered["flowId"], labels)
            if batches is not None:  # a child per batch (ForEachItem's items), its inputs rendered per batch
                result.actions.extend(batches)
                if not batches:  # an empty file: nothing to wait for
                    self._attempt_ended(run, AttemptEnded(taskrun.id, number, State.SUCCESS, taskrun.outputs), result, follow, now)
                return follow
            rendered["inputs"] = render_value(child.inputs or {}, context)
        except (ExpressionError, BatchError) as err:
            self._attempt_ended(run, AttemptEnded(taskrun.id, number, State.FAILED, reason=f"task {task.id!r}: {err}"), result, follow, now)
            return follow
        child_id = subflow_execution_id(run.execution.id, taskrun.id, number)
        result.actions.append(StartSubflow(taskrun.id, number, task.id, child_id, rendered["namespace"], rendered["flowId"], rendered["inputs"], labels, child.wait,
                                           getattr(task, "outputs", None)))
        return []

    def _finish(self, run: ExecutionRun, taskrun: TaskRun, task: Task, state: State, result: StepResult, dirty, now: datetime) -> None:
        """A task run's final state, after Kestra's allowFailure/allowWarning; wakes its parent."""
        if state == State.FAILED and task.allowFailure:
            state = State.WARNING
        if state == State.WARNING and task.allowWarning:
            state = State.SUCCESS
        run.index.set_state(taskrun, state, now)
        result.changed.add(taskrun.id)
        if task.created_state() == State.PAUSED:  # its end releases the execution it paused
            self._unpause(run, result, now)
        dirty.append(taskrun.parentTaskRunId)


class _Services(NodeServices):
    """The engine's answers to a flowable's questions, within one step."""

    def __init__(self, engine: Engine, run: ExecutionRun, result: StepResult, now: datetime):
        self.engine, self.run, self.result, self.now = engine, run, result, now

    def render(self, taskrun: TaskRun | None, value: Any) -> Any:
        from kflow.expr import render_value

        task = self.engine.plan.task(taskrun.taskId) if taskrun else None
        return render_value(value, expression_context(self.run.index, taskrun, task, self.engine._references, self.run.kv, self.run.logs))

    def set_outputs(self, taskrun: TaskRun, outputs: dict[str, Any]) -> None:
        self.run.index.set_outputs(taskrun, outputs)
        self.result.changed.add(taskrun.id)

    def child_state(self, taskrun: TaskRun | None, task_id: str) -> State | None:
        child = self.run.index.by_id.get(taskrun_id(self.run.execution.id, taskrun.id if taskrun else None, task_id, None))
        return child.state.current if child else None

    def wake_at(self, at: datetime, taskrun: TaskRun | None = None) -> None:
        self.result.actions.append(WakeAt(at))
        if taskrun is not None:
            self.run.wakeups[taskrun.id] = at

    def resume(self, taskrun: TaskRun) -> None:
        self.engine._resume_taskrun(self.run, taskrun, self.result, self.now)

    def exit_execution(self, taskrun: TaskRun, state: State) -> None:
        self.run.exit_request = (state, taskrun.id)

    def kv_store(self) -> KVStore:
        if self.run.kv is None:
            raise ValueError("no KV store here")
        return self.run.kv

    def execution(self) -> Execution:
        return self.run.execution

    def attempt_logs(self) -> AttemptLogs:
        if self.run.logs is None:
            raise ValueError("no task logs can be read here")
        return self.run.logs

    def set_execution_labels(self, labels: dict[str, str]) -> None:
        execution = self.run.execution
        merged = {**execution.labels, **labels}
        if merged != execution.labels:
            execution.labels = merged
            self.result.execution_changed = True


def _mask_written(run: ExecutionRun, result: StepResult) -> None:
    """Reasons and the execution's error are text for people: a SECRET input's value in them
    (a Fail's message, a render error quoting it) is masked once, here, for every shell and view."""
    masker = run.masker
    if not masker:
        return
    for taskrun_id in result.changed:
        taskrun = run.index.by_id.get(taskrun_id)
        for attempt in taskrun.attempts if taskrun else ():
            if attempt.reason:
                attempt.reason = masker.mask(attempt.reason)
    if run.execution.error:
        run.execution.error = masker.mask(run.execution.error)
