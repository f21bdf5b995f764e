"""The KV tasks and kv() in the pure engine, with the store a shell gives it (here one in
memory, a double of the directory and ConfigMap stores for the engine's unit tests)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kflow.engine import Engine, RunTask
from kflow.flow import load_flow
from kflow.kv import KVEntry, KVStore

T0 = datetime.now(timezone.utc)  # the stores judge expiry by the wall clock, as the shells step with it


class MemoryKV(KVStore):
    def __init__(self):
        self.data: dict[tuple[str, str], KVEntry] = {}

    def _read(self, namespace, key):
        return self.data.get((namespace, key))

    def _write(self, namespace, key, entry, create):
        if create and (namespace, key) in self.data:
            return False
        self.data[(namespace, key)] = entry
        return True

    def _remove(self, namespace, key):
        self.data.pop((namespace, key), None)

    def _namespaces(self):
        return [ns for ns, _ in self.data]

    def _entries(self, namespace):
        return [(k, e) for (ns, k), e in self.data.items() if ns == namespace]


FLOW = """
id: kv
namespace: team.a
tasks:
  - {id: set, type: io.kestra.plugin.core.kv.Set, key: cfg, value: {n: 1}, ttl: PT1H}
  - {id: other, type: io.kestra.plugin.core.kv.Set, key: cfg2, value: "{{ kv('cfg').n + 1 }}", kvType: NUMBER, namespace: team.b}
  - {id: show, type: io.kestra.plugin.core.debug.Return, format: "{{ kv('cfg').n }} {{ kv('cfg2', 'team.b') }} {{ kv('none', errorOnMissing=false) }}"}
"""


def test_kv_tasks_run_in_the_engine_and_a_runner_is_given_the_values_it_names():
    store = MemoryKV()
    engine = Engine(load_flow(FLOW))
    run = engine.load(engine.new_execution("e1", {}, T0), store)
    result = engine.start(run, T0)
    actions = [a for a in result.actions if isinstance(a, RunTask)]
    assert [a.task_id for a in actions] == ["show"]  # the two Sets were resolved in the step: no runner
    assert store.data[("team.a", "cfg")].value == {"n": 1}
    assert store.data[("team.a", "cfg")].expirationDate == T0 + timedelta(hours=1)  # the engine's clock
    assert store.data[("team.b", "cfg2")].value == 2
    context = engine.invocation(run, actions[0]).context
    assert context["_kv"] == {"team.a:cfg": {"value": {"n": 1}}, "team.b:cfg2": {"value": 2}, "team.a:none": {"missing": True}}


def test_a_repeated_step_of_the_same_set_is_not_a_conflict_but_another_set_is():
    store = MemoryKV()
    text = "id: once\nnamespace: t\ntasks:\n  - {id: s, type: io.kestra.plugin.core.kv.Set, key: k, value: v, overwrite: false}\n"
    engine = Engine(load_flow(text))
    for _ in range(2):  # the same execution stepped twice from its start (a write lost, recomputed)
        run = engine.load(engine.new_execution("e1", {}, T0), store)
        engine.start(run, T0)
        assert run.execution.state.current.value == "SUCCESS"
    run = engine.load(engine.new_execution("e2", {}, T0), store)
    engine.start(run, T0)
    assert run.execution.state.current.value == "FAILED"
    assert "KV key 'k' already exists in namespace 't'" in run.execution.taskRunList[0].attempts[-1].reason


def test_without_a_store_a_kv_task_fails_saying_so():
    engine = Engine(load_flow("id: f\nnamespace: t\ntasks:\n  - {id: g, type: io.kestra.plugin.core.kv.Get, key: k}\n"))
    run = engine.load(engine.new_execution("e1", {}, T0))
    engine.start(run, T0)
    assert run.execution.taskRunList[0].attempts[-1].reason == "task 'g': no KV store here"
