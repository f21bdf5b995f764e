"""A task type's engine behaviour is its own hooks (issue 13 item 4): a new subflow-like,
batching or pausing task, defined here and nowhere else, is run by the engine with no change to it."""

from __future__ import annotations

from kflow.engine import AttemptEnded, Engine, ResumeRequested, RunTask, StartSubflow
from kflow.execution import State
from kflow.flow.flowable import FlowableTask
from kflow.flow.model import Flow
from kflow.flow.node import ChildSpec, Node
from kflow.flow.task import ChildExecution, RunnableTask
from tests.engine.simulate import T0


class Fanout(RunnableTask):
    """Starts `report` in namespace ops, not waiting; a failed child only warns."""

    target: str

    def child_execution(self) -> ChildExecution:
        return ChildExecution("ops", self.target, {"from": "{{ flow.id }}"}, {"kind": "fanout"}, wait=False)

    def attempt_state(self, reported: State) -> State:
        return State.WARNING if reported == State.FAILED else reported


class Pair(Fanout):
    """Starts two children of `target` per attempt, as batches 0 and 1; ends with the second."""

    def batch_children(self, index, taskrun, attempt, context, namespace, flow_id, labels) -> list[StartSubflow]:
        return [StartSubflow(taskrun.id, attempt, self.id, f"{taskrun.id}-{i}", namespace, flow_id, {"i": i}, labels, True, iteration=i)
                for i in (0, 1)]

    def batch_child_ended(self, index, taskrun, event: AttemptEnded) -> AttemptEnded | None:
        return AttemptEnded(taskrun.id, event.attempt, event.state, {"last": event.iteration}) if event.iteration == 1 else None

    def waiting_batches(self, taskrun) -> list[int]:
        return [0, 1]


class Gate(FlowableTask):
    """Waits PAUSED until resumed, then ends SUCCESS; no children."""

    def created_state(self) -> State:
        return State.PAUSED

    def next_children(self, node: Node) -> list[ChildSpec]:
        return []

    def resolve_state(self, node: Node) -> State | None:
        return State.SUCCESS if node.taskrun.state.current == State.RUNNING else None


def engine_of(*tasks) -> Engine:
    return Engine(Flow(id="f", namespace="t", tasks=list(tasks)))


def test_a_new_subflow_like_task_starts_its_child_through_its_hooks():
    engine = engine_of(Fanout(id="fan", type="test.Fanout", target="report"))
    run = engine.load(engine.new_execution("e", {}, T0))
    (start,) = engine.start(run, T0).actions
    assert isinstance(start, StartSubflow)
    assert (start.namespace, start.flow_id, start.inputs, start.wait) == ("ops", "report", {"from": "f"}, False)
    assert start.labels["kind"] == "fanout"
    assert Fanout(id="fan", type="test.Fanout", target="report").starts_execution
    engine.step(run, [AttemptEnded(start.taskrun_id, 0, State.FAILED, {}, "child failed")], T0)
    assert run.execution.taskRunList[0].state.current == State.WARNING


def test_a_new_batching_task_starts_and_ends_its_children_through_its_hooks():
    engine = engine_of(Pair(id="pair", type="test.Pair", target="report"))
    run = engine.load(engine.new_execution("e", {}, T0))
    starts = engine.start(run, T0).actions
    assert [(a.flow_id, a.inputs, a.iteration) for a in starts] == [("report", {"i": 0}, 0), ("report", {"i": 1}, 1)]
    taskrun = run.execution.taskRunList[0]
    engine.step(run, [AttemptEnded(taskrun.id, 0, State.SUCCESS, {}, iteration=0)], T0)
    assert taskrun.state.current == State.RUNNING  # the task said: not ended yet
    engine.step(run, [AttemptEnded(taskrun.id, 0, State.FAILED, {}, iteration=1)], T0)
    assert taskrun.state.current == State.WARNING and taskrun.outputs == {"last": 1}  # its end, then Fanout's attempt_state


def test_a_new_pausing_task_pauses_the_execution_until_resumed():
    engine = engine_of(Gate(id="gate", type="test.Gate"), RunnableTask(id="after", type="test.Plain"))
    run = engine.load(engine.new_execution("e", {}, T0))
    engine.start(run, T0)
    assert run.execution.state.current == State.PAUSED
    result = engine.step(run, [ResumeRequested({})], T0)
    assert run.execution.state.current == State.RUNNING
    assert [a.task_id for a in result.actions if isinstance(a, RunTask)] == ["after"]
