"""A task type's engine behaviour is its own hooks (issue 13 item 4): a new subflow-like or
pausing task, defined here and nowhere else, is run by the engine with no change to it."""

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


def test_a_new_pausing_task_pauses_the_execution_until_resumed():
    engine = engine_of(Gate(id="gate", type="test.Gate"), RunnableTask(id="after", type="test.Plain"))
    run = engine.load(engine.new_execution("e", {}, T0))
    engine.start(run, T0)
    assert run.execution.state.current == State.PAUSED
    result = engine.step(run, [ResumeRequested({})], T0)
    assert run.execution.state.current == State.RUNNING
    assert [a.task_id for a in result.actions if isinstance(a, RunTask)] == ["after"]
