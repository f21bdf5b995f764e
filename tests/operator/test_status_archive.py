"""Status compaction, pure: finished task runs move into sealed chunks of status.archive.

The engine runs real flows; each step's status write goes through StatusArchive and is applied
to a stored status the way the API server applies a JSON merge patch (RFC 7386).
"""

from __future__ import annotations

import base64
import gzip
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from kflow.engine import AttemptEnded, Engine, RunTask
from kflow.engine.ids import taskrun_id
from kflow.execution import State
from kflow.flow import load_flow
from kflow.operator.pod_cleanup import ended_attempt
from kflow.operator.resources import ExecutionStatus, execution_from_status, taskruns_from_status
from kflow.operator.status_archive import ArchiveError, StatusArchive, decode_chunk, encode_chunk, taskruns_by_id

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def merge_patch(target: dict, patch: dict) -> dict:
    """RFC 7386, as the API server applies `kubectl patch --type merge`."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            target[key] = merge_patch(target[key] if isinstance(target.get(key), dict) else {}, value)
        else:
            target[key] = json.loads(json.dumps(value))
    return target


def parallel(n: int, concurrent: int = 20) -> str:
    tasks = "\n".join(f"      - {{id: t{i}, type: io.kestra.plugin.core.debug.Return, format: 'v{i}'}}" for i in range(n))
    return f"id: wide\nnamespace: t\ntasks:\n  - id: par\n    type: io.kestra.plugin.core.flow.Parallel\n    concurrent: {concurrent}\n    tasks:\n{tasks}\n"


FOREACH = """
id: loop
namespace: t
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ range(1, 300) }}"
    concurrencyLimit: 25
    tasks:
      - {id: echo, type: io.kestra.plugin.core.debug.Return, format: "{{ taskrun.value }}"}
  - {id: after, type: io.kestra.plugin.core.debug.Return, format: done}
"""


class Shell:
    """The operator's write path without the operator: engine step -> StatusArchive -> merge patch."""

    def __init__(self, flow_yaml: str, chunk_size: int, seed: int = 0):
        self.engine = Engine(load_flow(flow_yaml))
        self.run = self.engine.load(self.engine.new_execution("4ZWnQ8sY3bJ1x0aKpVtLqe", {}, T0))
        self.archive = StatusArchive(chunk_size)
        self.chunk_size = chunk_size
        self.stored: dict = {}
        self.rng = random.Random(seed)
        self.now = T0
        self.running: list[RunTask] = []
        self.patches: list[dict] = []
        self.write(self.engine.start(self.run, self.now))

    def dump(self, i: str) -> dict:
        return self.run.taskrun(i).model_dump(mode="json", exclude_none=True)

    def write(self, result, fail: bool = False) -> None:
        self.running += [a for a in result.actions if isinstance(a, RunTask)]
        delta = self.archive.update({i: self.dump(i) for i in result.changed})
        patch = {"state": self.run.execution.state.model_dump(mode="json"), **delta.fragment()}
        if not self.stored:
            patch.update(id=self.run.execution.id, namespace="t", flowId=self.engine.flow.id)
        if fail:  # the API call failed: nothing stored, nothing committed; the shell reloads
            return
        for key, text in patch.get("archive", {}).items():
            assert key not in (self.stored.get("archive") or {}), f"chunk {key} written twice"
            for taskrun in decode_chunk(text):  # a watcher saw it finished in taskRuns before it moved
                assert self.stored["taskRuns"][taskrun["id"]] == taskrun
        merge_patch(self.stored, json.loads(json.dumps(patch)))
        self.archive.commit(delta)
        self.patches.append(patch)

    def step(self, fail: bool = False) -> bool:
        if self.run.execution.state.current.terminal or not self.running:
            return False
        self.now += timedelta(microseconds=self.rng.randint(1_000, 400_000))
        events = []
        for _ in range(self.rng.randint(1, min(6, len(self.running)))):
            action = self.running.pop(self.rng.randrange(len(self.running)))
            events.append(AttemptEnded(action.taskrun_id, action.attempt, State.SUCCESS, outputs={"value": f"out {action.taskrun_id}"}))
        self.write(self.engine.step(self.run, events, self.now), fail=fail)
        return True

    def crash(self) -> None:
        """The operator restarts: engine state and archive bookkeeping rebuilt from the stored status only."""
        execution = execution_from_status(self.stored, self.engine.plan.order)
        self.run = self.engine.load(execution)
        self.archive = StatusArchive.from_status(self.stored, self.chunk_size)
        self.running = []  # what the pods say: every attempt the status records as running is still running
        for i in self.run.index.running_runnables:
            taskrun = self.run.taskrun(i)
            self.running.append(RunTask(i, len(taskrun.attempts) - 1, taskrun.taskId))

    def every_taskrun(self) -> dict[str, dict]:
        return {tr.id: tr.model_dump(mode="json", exclude_none=True) for tr in self.run.execution.taskRunList}


def test_chunk_round_trip_is_exact_and_deterministic():
    runs = [{"id": f"r{i}", "taskId": "t", "value": "é ✓ 'q' \"", "state": {"current": "SUCCESS", "histories": []}, "outputs": {"n": i, "x": None}} for i in range(50)]
    text = encode_chunk(runs)
    assert decode_chunk(text) == runs
    assert encode_chunk(runs) == text  # equal input, equal chunk: a rewrite after a lost reply changes nothing
    assert json.loads(gzip.decompress(base64.b64decode(text))) == runs  # what `base64 -d | gunzip` shows


@pytest.mark.parametrize(
    "text, expected",
    [
        ("not base64!", "status.archive['3'] is not base64 of gzip"),
        (base64.b64encode(b"plain").decode(), "status.archive['3'] is not base64 of gzip"),
        (base64.b64encode(gzip.compress(b'{"a": 1}')).decode(), "should hold a JSON list of task runs"),
    ],
)
def test_unreadable_chunk_is_named(text, expected):
    with pytest.raises(ArchiveError, match=expected.replace("[", r"\[").replace("(", r"\(")):
        decode_chunk(text, "3")


def test_archive_keys_must_be_chunk_numbers():
    with pytest.raises(ArchiveError, match="chunk numbers .* found 'x'"):
        taskruns_by_id({"archive": {"x": encode_chunk([])}})


def test_every_write_keeps_every_task_run_and_only_adds_chunks():
    shell = Shell(parallel(230), chunk_size=40, seed=1)
    while shell.step():
        stored = taskruns_by_id(shell.stored)
        assert stored == shell.every_taskrun()  # after every single write, nothing missing, nothing stale
        assert len(shell.stored.get("taskRuns") or {}) <= 40 + 6 + 20 + 1  # finished not yet sealed + running + the Parallel
    assert shell.run.execution.state.current == State.SUCCESS
    assert sorted(shell.stored["archive"], key=int) == [str(i) for i in range(231 // 40)]
    sealing = [p for p in shell.patches if p.get("archive")]
    assert all(len(p["archive"]) == 1 for p in sealing)
    for patch in sealing:  # the sealed task runs leave taskRuns in the same patch that adds their chunk
        (text,) = patch["archive"].values()
        moved = {tr["id"] for tr in decode_chunk(text)}
        assert len(moved) == 40 and all(patch["taskRuns"][i] is None for i in moved)
    # a patch carries what changed and, rarely, one sealed chunk: never the whole execution
    assert max(len(p["taskRuns"]) for p in shell.patches) <= 40 + 6 + 6


def test_order_is_kept_and_execution_reloads_identically():
    shell = Shell(FOREACH, chunk_size=32, seed=2)
    while shell.step():
        pass
    assert shell.run.execution.state.current == State.SUCCESS
    assert len(shell.stored["archive"]) == 301 // 32
    expected = [tr.model_dump(mode="json", exclude_none=True) for tr in shell.run.execution.taskRunList]
    assert taskruns_from_status(shell.stored, shell.engine.plan.order) == expected
    assert taskruns_from_status({**shell.stored, "flow": load_flow(FOREACH).model_dump(mode="json", by_alias=True, exclude_unset=True)}) == expected
    reloaded = execution_from_status(shell.stored, shell.engine.plan.order)
    assert reloaded.taskRunList == shell.run.execution.taskRunList
    values = [tr["value"] for tr in expected if tr["taskId"] == "echo"]
    assert values == [str(i) for i in range(1, 301)]


def test_operator_crashes_and_failed_writes_lose_nothing():
    shell = Shell(parallel(400, concurrent=30), chunk_size=25, seed=3)
    rng = random.Random(4)
    crashes = failures = 0
    while True:
        if rng.random() < 0.1:
            if not shell.step(fail=True):  # the write is lost: memory is ahead of the status
                break
            failures += 1
            shell.crash()  # as the controller does after a failed write: rebuild from what is stored
            continue
        if rng.random() < 0.1:
            shell.crash()
            crashes += 1
        if not shell.step():
            break
        assert taskruns_by_id(shell.stored) == shell.every_taskrun()
        finished = sum(tr.state.current.terminal for tr in shell.run.execution.taskRunList)
        assert shell.run.index.terminal_count == finished, "status.progress counts each finished run once after a reload"
    assert crashes > 3 and failures > 3
    assert shell.run.execution.state.current == State.SUCCESS
    runs = taskruns_from_status(shell.stored, shell.engine.plan.order)
    assert len(runs) == 401 and all(tr["state"]["current"] == State.SUCCESS for tr in runs)
    keys = sorted(shell.stored["archive"], key=int)
    assert keys == [str(i) for i in range(len(keys))], "chunk numbers are dense: none skipped or rewritten"


def test_a_task_run_changed_after_archiving_supersedes_its_archived_copy():
    """A restart makes a finished task run live again: taskRuns wins, then a newer chunk does."""
    archive = StatusArchive(2)
    stored: dict = {}

    def run(i: str, state: str, note: str) -> dict:
        return {"id": i, "taskId": "t", "state": {"current": state, "histories": [{"state": state, "date": "2026-03-01T12:00:00Z"}]}, "outputs": {"note": note}}

    def write(changed: list[dict]) -> None:
        delta = archive.update({tr["id"]: tr for tr in changed})
        merge_patch(stored, json.loads(json.dumps(delta.fragment())))
        archive.commit(delta)

    write([run("a", "FAILED", "first"), run("b", "SUCCESS", "b")])
    assert list(stored["taskRuns"]) == ["a", "b"] and "archive" not in stored  # shown finished once first
    write([run("c", "RUNNING", "c")])
    assert list(stored["taskRuns"]) == ["c"] and list(stored["archive"]) == ["0"]
    write([run("a", "RESTARTED", "again")])
    assert taskruns_by_id(stored)["a"]["outputs"]["note"] == "again"
    write([run("a", "SUCCESS", "second"), run("c", "SUCCESS", "c")])
    write([])
    assert list(stored["archive"]) == ["0", "1"] and stored["taskRuns"] == {}
    assert {i: tr["outputs"]["note"] for i, tr in taskruns_by_id(stored).items()} == {"a": "second", "b": "b", "c": "c"}
    rebuilt = StatusArchive.from_status(stored, 2)
    assert rebuilt.next_key == 2 and rebuilt.pending == {}


def test_rebuilt_from_a_status_written_before_compaction():
    """An execution started by an older operator: all finished runs in taskRuns; the next write seals them."""
    runs = {f"r{i}": {"id": f"r{i}", "taskId": "t", "state": {"current": "SUCCESS", "histories": [{"state": "SUCCESS", "date": f"2026-03-01T12:00:{i:02d}Z"}]}} for i in range(7)}
    live = {"id": "p", "taskId": "p", "state": {"current": "RUNNING", "histories": [{"state": "RUNNING", "date": "2026-03-01T12:00:00Z"}]}}
    stored = {"taskRuns": {**runs, "p": live}}
    archive = StatusArchive.from_status(stored, 3)
    delta = archive.update({})
    assert sorted(delta.archive) == ["0", "1"] and sum(v is None for v in delta.taskRuns.values()) == 6
    merge_patch(stored, json.loads(json.dumps(delta.fragment())))
    archive.commit(delta)
    assert list(stored["taskRuns"]) == ["r6", "p"] and archive.next_key == 2
    assert taskruns_by_id(stored) == {**runs, "p": live}


def test_ten_thousand_task_runs_stay_well_under_the_object_limit(capsys):
    """Synthetic ForEach children shaped as the engine writes them; the whole status as stored."""
    archive = StatusArchive(100)
    stored: dict = {"flow": load_flow(FOREACH).model_dump(mode="json", by_alias=True, exclude_unset=True)}
    parent = taskrun_id("4ZWnQ8sY3bJ1x0aKpVtLqe", None, "each", None)
    rng = random.Random(5)
    now, biggest, running = T0, 0, []

    def taskrun(i: int, state: str, created: datetime, ended: datetime | None) -> dict:
        histories = [{"state": "CREATED", "date": created.isoformat().replace("+00:00", "Z")}, {"state": "RUNNING", "date": created.isoformat().replace("+00:00", "Z")}]
        if ended:
            histories.append({"state": state, "date": ended.isoformat().replace("+00:00", "Z")})
        info = {"current": state, "histories": histories}
        run = {"id": taskrun_id("4ZWnQ8sY3bJ1x0aKpVtLqe", parent, "echo", f"{i}:{i + 1}"), "taskId": "echo", "parentTaskRunId": parent,
               "value": str(i + 1), "iteration": i, "state": info, "attempts": [{"state": info}]}
        if ended:
            run["outputs"] = {"value": str(i + 1)}
        return run

    for i in range(10_000):
        changed = {}
        now += timedelta(microseconds=rng.randint(1_000, 300_000))
        started = taskrun(i, "RUNNING", now, None)
        changed[started["id"]] = started
        running.append((i, now))
        if len(running) > 100 or i == 9_999:
            for j, created in running[: len(running) if i == 9_999 else 1]:
                done = taskrun(j, "SUCCESS", created, now)
                changed[done["id"]] = done
            running = [] if i == 9_999 else running[1:]
        delta = archive.update(changed)
        merge_patch(stored, json.loads(json.dumps(delta.fragment())))
        archive.commit(delta)
        if i % 250 == 0:
            biggest = max(biggest, len(json.dumps(stored, separators=(",", ":"))))
    final = len(json.dumps(stored, separators=(",", ":")))
    plain = sum(len(json.dumps(tr, separators=(",", ":"))) for tr in taskruns_by_id(stored).values())
    assert len(taskruns_by_id(stored)) == 10_000
    assert plain > 5_000_000  # as plain JSON the API server would refuse it (about 1.5 MiB at most)...
    assert final < 900_000 and biggest < 900_000, (final, biggest)  # ...compacted it stays near half of that
    with capsys.disabled():
        print(f"\n10,000 task runs: {plain:,} bytes as plain JSON; stored status {final:,} bytes "
              f"({final / 10_000:.0f} B/run, {len(stored['archive'])} chunks), largest along the way {biggest:,}")


def test_ended_attempt_is_the_one_whose_pod_may_go():
    from kflow.execution import Attempt, StateInfo, TaskRun

    def attempt(state: State) -> Attempt:
        return Attempt(state=StateInfo.new(state, T0))

    def run(*states: State) -> TaskRun:
        return TaskRun(id="x", taskId="t", state=StateInfo.new(State.RUNNING, T0), attempts=[attempt(s) for s in states])

    assert ended_attempt(run(State.SUCCESS)) == 0
    assert ended_attempt(run(State.RUNNING)) is None
    assert ended_attempt(run(State.FAILED, State.CREATED)) == 0  # a retry was just planned
    assert ended_attempt(run(State.FAILED, State.RUNNING)) is None  # the retry runs: attempt 0 went earlier
    assert ended_attempt(run(State.FAILED, State.FAILED)) == 1
    assert ended_attempt(run()) is None  # a flowable task: no pod


def test_status_model_accepts_the_archive():
    status = ExecutionStatus.model_validate({"taskRuns": {}, "archive": {"0": encode_chunk([])}})
    assert status.archive == {"0": encode_chunk([])}


def test_a_burst_of_finished_task_runs_is_sealed_in_the_same_write():
    from kflow.operator.status_archive import BURST

    archive = StatusArchive(50)
    changed = {}
    for i in range(BURST * 3 + 7):
        changed[f"r{i}"] = {"id": f"r{i}", "taskId": "pick", "state": {"current": "SUCCESS", "histories": [{"state": "SUCCESS", "date": "2026-03-01T12:00:00Z"}]}}
    changed["live"] = {"id": "live", "taskId": "work", "state": {"current": "RUNNING", "histories": [{"state": "RUNNING", "date": "2026-03-01T12:00:00Z"}]}}
    delta = archive.update(changed)
    fragment = delta.fragment()
    assert len(fragment["archive"]) == (BURST * 3 + 7) // 50
    assert len(fragment["taskRuns"]) == (BURST * 3 + 7) % 50 + 1  # the rest, and the live one, stay readable
    assert set(taskruns_by_id({**fragment})) == set(changed)
    archive.commit(delta)
    assert archive.next_key == len(fragment["archive"]) and len(archive.pending) == (BURST * 3 + 7) % 50
    assert len(json.dumps(fragment)) < 20 * len(changed)  # compressed, not 600 bytes a run
