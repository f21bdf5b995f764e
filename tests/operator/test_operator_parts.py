"""Unit tests of the controller's parts, each without a cluster and without the controller:
tracking.py, status_patches.py, concurrency.py, pod_cleanup.py, engines.py, starts.py, loading.py,
subflows.py (SubflowLinks against fake_api.FakeKube, the in-memory API double) and notices.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from kflow.engine import AttemptEnded, Engine, KillTask, StartSubflow
from kflow.execution import State
from kflow.flow import parse_flow
from kflow.operator import names, status_patches
from kflow.operator.admission import PodAdmission
from kflow.operator.concurrency import ConcurrencySlots
from kflow.operator.engines import FlowEngines, snapshot_of
from kflow.operator.loading import POD_GONE, observe_pods, stored_run
from kflow.operator.notices import ended_notice, task_notice
from kflow.operator.pod_cleanup import ended_attempt, finished_pods, recorded_pods
from kflow.operator.names import execution_id_for_uid
from kflow.operator.starts import StartRefused, from_flow, from_replay
from kflow.operator.status_archive import StatusArchive
from kflow.operator.subflows import SubflowLinks, child_name, parent_outcome
from kflow.operator.tracking import Tracked, pod_owner
from tests.operator.fake_api import FakeKube

NS = "team"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
RETURN = "io.kestra.plugin.core.debug.Return"
TWO = {"id": "two", "namespace": "company.team", "inputs": [{"id": "who", "type": "STRING", "defaults": "you"}],
       "tasks": [{"id": "a", "type": RETURN, "format": "x"}, {"id": "b", "type": RETURN, "format": "y"}]}


def body(step=None, rv="5", uid="u-1", **status):
    return {"metadata": {"name": "ex", "namespace": NS, "uid": uid, "resourceVersion": rv, "labels": {"l": "v"}},
            "spec": {"flowRef": {"name": "two"}}, "status": {**({"step": step} if step is not None else {}), **status}}


def started_run(flow=TWO):
    """An engine and a run after the first step: task a's attempt runs."""
    engine = Engine(parse_flow(flow))
    run = engine.load(engine.new_execution("exec1", {"who": "me"}, NOW))
    result = engine.start(run, NOW)
    return engine, run, result


def end_attempt(engine, run, task_id, state=State.SUCCESS, reason=None):
    [taskrun] = [tr for tr in run.execution.taskRunList if tr.taskId == task_id]
    return engine.step(run, [AttemptEnded(taskrun.id, len(taskrun.attempts) - 1, state, {"value": 1}, reason)], NOW + timedelta(seconds=1))


# -- tracking.py ----------------------------------------------------------------------------------
def test_tracked_is_made_unloaded_and_remembers_what_was_acted_on():
    tracked = Tracked.first_seen(body(step=3, restarted=2, resumed=1))
    assert tracked.step == -1 and tracked.run is None and tracked.key == (NS, "ex")
    assert (tracked.restarted, tracked.resumed, tracked.object_labels) == (2, 1, {"l": "v"})
    assert tracked.involved()["metadata"] == {"name": "ex", "namespace": NS, "uid": "u-1"}


def test_tracked_ignores_the_echo_of_its_write_and_reloads_on_a_foreign_one():
    tracked = Tracked.first_seen(body(step=1))
    tracked.run, tracked.step, tracked.resource_version = object(), 1, "5"
    assert tracked.observe(body(step=1, rv="5")) is False  # our own write's echo
    tracked.writing = 2
    assert tracked.observe(body(step=2, rv="6")) is True and tracked.run is not None  # our write in flight: not foreign
    assert tracked.resource_version == "6"
    tracked.writing = -1
    assert tracked.observe(body(step=3, rv="7")) is True
    assert tracked.run is None and tracked.step == -1 and tracked.status == {"step": 3}  # foreign: rebuilt from it


def test_tracked_takes_no_older_version_and_reopens_only_on_a_restart():
    tracked = Tracked.first_seen(body(step=4))
    tracked.run, tracked.step, tracked.resource_version = object(), 4, "9"
    tracked.observe(body(step=3, rv="8"))
    assert tracked.resource_version == "9"  # an event older than our last write
    tracked.ended()
    assert tracked.observe(body(step=4, rv="10")) is False and tracked.done
    raised = body(step=4, rv="11")
    raised["spec"]["restart"] = 1
    assert tracked.observe(raised) is True and not tracked.done and tracked.step == -1
    assert tracked.wants("restart") and tracked.acted_on("restart") == 1 and not tracked.wants("restart")


def test_tracked_marks_its_write_in_flight_and_forgets_dropped_task_runs():
    tracked = Tracked.first_seen(body(step=2))
    tracked.step, tracked.archive = 2, StatusArchive(50)
    tracked.archive.pending["tr-1"] = {}
    with tracked.writing_step() as step:
        assert step == tracked.writing == 3
    assert tracked.writing == -1
    tracked.wrote("12", step, labels={"x": "y"})
    assert (tracked.resource_version, tracked.step, tracked.object_labels) == ("12", 3, {"x": "y"})
    tracked.dropped({"tr-1"})
    assert tracked.removed == {"tr-1"} and tracked.archive.pending == {}


def test_pod_owner_is_the_controlling_execution():
    pod = {"metadata": {"namespace": NS, "ownerReferences": [{"kind": "Execution", "name": "other"},
                                                             {"kind": "Execution", "name": "ex", "controller": True}]}}
    assert pod_owner(pod) == (NS, "ex")
    assert pod_owner({"metadata": {"namespace": NS}}) is None


# -- status_patches.py ------------------------------------------------------------------------------
def test_a_step_patch_summarises_the_execution_and_carries_the_changed_task_runs():
    engine, run, result = started_run()
    archive = StatusArchive(50)
    delta = archive.update({i: run.taskrun(i).model_dump(mode="json", exclude_none=True) for i in result.changed})
    extra = status_patches.started(run.execution, {"id": "two"}, trigger={"date": "x"})
    patch = status_patches.step_patch(run, result, 1, delta, set(), extra).body("41")
    assert patch["metadata"] == {"resourceVersion": "41"}
    status = patch["status"]
    assert (status["step"], status["current"], status["progress"]) == (1, "RUNNING", "0/1")
    assert status["outputs"] is None and status["error"] is None  # explicitly None: removed by the merge patch
    assert [tr["taskId"] for tr in status["taskRuns"].values()] == ["a"]
    assert status["inputs"] == {"who": "me"} and status["trigger"] == {"date": "x"} and "originalId" not in status
    assert "duration" not in status and "removed" not in status


def test_a_step_patch_removes_what_a_restart_dropped_and_records_the_duration_at_the_end():
    engine, run, _ = started_run()
    end_attempt(engine, run, "a")
    result = end_attempt(engine, run, "b")
    result.removed = {"gone-1"}
    delta = StatusArchive(50).update({})
    status = status_patches.step_patch(run, result, 7, delta, {"gone-0", "gone-1"}).body("1")["status"]
    assert status["current"] == "SUCCESS" and status["duration"] == "PT1S"
    assert status["removed"] == ["gone-0", "gone-1"] and status["taskRuns"] == {"gone-1": None}


def test_patches_go_through_the_status_model():
    with pytest.raises(ValidationError):
        status_patches.StatusPatch(step="many")
    with pytest.raises(ValidationError):
        status_patches.StatusPatch(nonsense=1)  # the status has a contract: no unknown field
    assert status_patches.StatusPatch(waiting={"tr": None}).body("1")["status"] == {"waiting": {"tr": None}}


def test_an_execution_that_cannot_start_or_waits_in_the_queue():
    failed = status_patches.not_started("id1", "two", "Flow 'two' not found", NOW, State.CANCELLED).body("3")["status"]
    assert failed["current"] == "CANCELLED" and failed["error"] == "Flow 'two' not found" and failed["step"] == 1
    assert [h["state"] for h in failed["state"]["histories"]] == ["CREATED", "CANCELLED"] and failed["duration"] == "PT0S"
    queued = status_patches.queued("id1", "two", NOW).body("3")["status"]
    assert queued["current"] == "QUEUED" and "step" not in queued and "error" not in queued


# -- concurrency.py ---------------------------------------------------------------------------------
def test_concurrency_slots_queue_cancel_fail_and_free_the_oldest():
    flow = SimpleNamespace(namespace="company.team", id="two", concurrency={"limit": 1})
    slots, slot = ConcurrencySlots(), (NS, "two")
    assert slots.take((NS, "a"), slot, flow) is None
    assert slots.take((NS, "a"), slot, flow) is None  # holding it already
    refused = slots.take((NS, "b"), slot, flow)
    assert refused.behavior == "QUEUE" and refused.message.endswith("its concurrency limit; queued until one ends")
    slots.take((NS, "c"), slot, flow)
    assert slots.free((NS, "a"), slot) == (NS, "b")  # the oldest waiting one
    assert slots.take((NS, "b"), slot, flow) is None and list(slots.queued[slot]) == [(NS, "c")]
    slots.forget((NS, "c"))
    assert slots.free((NS, "b"), slot) is None
    cancel = SimpleNamespace(namespace="n", id="f", concurrency={"limit": 1, "behavior": "cancel"})
    slots.hold((NS, "x"), (NS, "f"))
    assert slots.take((NS, "y"), (NS, "f"), cancel).message.endswith("behavior CANCEL")
    assert slots.take((NS, "z"), (NS, "g"), SimpleNamespace(concurrency=None)) is None  # no limit


# -- pod_cleanup.py ---------------------------------------------------------------------------------
def test_pods_go_per_the_keep_policy_once_their_end_is_recorded():
    engine, run, _ = started_run()
    result = end_attempt(engine, run, "a", State.FAILED, "boom")
    [a] = [tr for tr in run.execution.taskRunList if tr.taskId == "a"]
    assert ended_attempt(a) == 0
    name = names.pod_name("ex", "a", a.id, 0)
    assert recorded_pods("ex", run, result.changed, "Never") == [name]
    assert recorded_pods("ex", run, result.changed, "OnFailure") == []  # a failed pod stays
    assert recorded_pods("ex", run, result.changed, "Always") == []
    pods = [{"metadata": {"name": name, "annotations": {"kflow.io/taskrun-id": a.id}, "labels": {names.LABEL_ATTEMPT: "0"}}},
            {"metadata": {"name": "stranger", "annotations": {"kflow.io/taskrun-id": "nope"}, "labels": {names.LABEL_ATTEMPT: "0"}}}]
    assert finished_pods(pods, run, "OnFailure") == ([], [name])
    assert finished_pods(pods, run, "Never") == ([name], [])


# -- engines.py -------------------------------------------------------------------------------------
def test_a_flow_is_parsed_once_per_snapshot():
    flow = parse_flow(TWO)
    engines = FlowEngines()
    engine = engines.of(snapshot_of(flow), parsed=flow)
    assert engine.flow is flow  # the parsed flow is used, not parsed again from its dump
    assert engines.of(snapshot_of(flow)) is engine and len(engines) == 1
    assert engines.of({**TWO, "id": "other"}).flow.id == "other" and len(engines) == 2


# -- starts.py and loading.py -----------------------------------------------------------------------
def test_a_start_names_what_is_wrong():
    kube = FakeKube()
    kube.add_flow(NS, "two", {k: v for k, v in TWO.items() if k != "id"})

    async def refused(spec, replay=False):
        with pytest.raises(StartRefused) as err:
            await (from_replay if replay else from_flow)(kube, FlowEngines(), NS, "ex", spec, "id1", NOW)
        return str(err.value)
    assert asyncio.run(refused({})) == "spec.flowRef.name is required: the name of the Flow to run"
    assert "Flow 'gone' not found in namespace 'team'" in asyncio.run(refused({"flowRef": {"name": "gone"}}))
    assert "inputs" in asyncio.run(refused({"flowRef": {"name": "two"}, "inputs": {"nope": 1}}))
    assert asyncio.run(refused({"replay": {"execution": "x", "taskRunId": "t"}}, replay=True)) == "spec.replay.execution: no Execution 'x' in namespace 'team'"
    start = asyncio.run(from_flow(kube, FlowEngines(), NS, "ex", {"flowRef": {"name": "two"}, "labels": {"k": "v"}}, "id1", NOW))
    assert start.execution.inputs == {"who": "you"} and start.execution.labels["k"] == "v" and start.snapshot["id"] == "two"
    assert execution_id_for_uid("uid-1") == execution_id_for_uid("uid-1") != execution_id_for_uid("uid-2")


def test_a_stored_status_loads_and_its_missing_pods_fail_or_wait_again():
    engine, run, result = started_run()
    delta = StatusArchive(50).update({i: run.taskrun(i).model_dump(mode="json", exclude_none=True) for i in result.changed})
    stored = status_patches.step_patch(run, result, 1, delta, set(), status_patches.started(run.execution, TWO)).body("1")["status"]
    stored["inputs"].pop("who")  # a merge patch drops null values
    engines = FlowEngines()
    loaded_engine, loaded = stored_run(stored, engines)
    assert loaded.execution.inputs == {"who": None} and [tr.taskId for tr in loaded.execution.taskRunList] == ["a"]
    [a] = loaded.execution.taskRunList
    kube, admission = FakeKube(), PodAdmission()
    events = asyncio.run(observe_pods(kube, admission, (NS, "ex"), loaded_engine, loaded, set(), []))
    assert events == [AttemptEnded(a.id, 0, State.FAILED, reason=POD_GONE)]  # the API server has no pod either
    assert asyncio.run(observe_pods(kube, admission, (NS, "ex"), loaded_engine, loaded, {a.id}, [])) == []
    assert list(admission.waiting[(NS, "ex")]) == [(a.id, 0)]  # listed in status.waiting: it waits again


# -- subflows.py ------------------------------------------------------------------------------------
def test_subflow_links_create_adopt_and_kill_the_child():
    kube = FakeKube()
    parent = {"name": "ex", "namespace": NS, "uid": "u-1"}
    action = StartSubflow("tr1", 0, "call", "child-exec", "company.team", "child", wait=True)

    async def go():
        missing = await SubflowLinks(kube).start(parent, action)
        kube.add_flow(NS, "child-flow", {"id": "child", "namespace": "company.team", "tasks": [{"id": "a", "type": RETURN, "format": "x"}]})
        running = await SubflowLinks(kube).start(parent, action)
        again = await SubflowLinks(kube).start(parent, action)  # after a crash: adopted, not a second child
        return missing, running, again
    missing, running, again = asyncio.run(go())
    assert missing.state == State.FAILED and "no Flow of namespace 'company.team' and id 'child'" in missing.reason
    assert running is None and again is None and len(kube.executions) == 1
    name = child_name("ex", "call", "child-exec")
    child = kube.executions[(NS, name)]
    child["status"] = {"current": "FAILED", "id": "child-exec", "error": "it broke"}
    key, outcome = parent_outcome(child)
    assert key == (NS, "ex") and outcome.state == State.FAILED and outcome.reason == f"subflow execution {name}: it broke"
    fake_run = SimpleNamespace(taskrun=lambda _: SimpleNamespace(id="tr1", taskId="call", attempts=[None]), execution=SimpleNamespace(id="parent-exec"))
    fake_engine = SimpleNamespace(plan=SimpleNamespace(task=lambda _: SimpleNamespace(waiting_batches=lambda _: None)))  # a Subflow: one child
    gone = asyncio.run(SubflowLinks(kube).kill((NS, "ex"), fake_engine, fake_run, KillTask("tr1", 0)))
    assert gone == [AttemptEnded("tr1", 0, State.KILLED)]  # no such child: killed at once


# -- notices.py -------------------------------------------------------------------------------------
def test_notices_name_the_task_and_the_reason():
    engine, run, _ = started_run()
    end_attempt(engine, run, "a", State.FAILED, "boom")
    [a] = [tr for tr in run.execution.taskRunList if tr.taskId == "a"]
    assert task_notice(a) == ("TaskFailed", "task a FAILED: boom", "Warning")
    assert ended_notice(run.execution) == ("ExecutionFailed", "execution exec1 ended FAILED", "Warning")
