"""Triggers on the real cluster: an every-minute Schedule that survives an operator restart
with neither a duplicate nor a gap, and a Flow trigger passing an upstream's outputs on."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.operator.support import taskruns

pytestmark = pytest.mark.cluster

EVERY_MINUTE = """
id: tick
namespace: kflow.tests
tasks:
  - {id: when, type: io.kestra.plugin.core.debug.Return, format: "{{ trigger.date }}|{{ trigger.previous }}|{{ inputs.who }}"}
inputs:
  - {id: who, type: STRING}
triggers:
  - id: every-minute
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
    inputs: {who: "scheduler at {{ trigger.date }}"}
"""


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def scheduled(kflow) -> dict[str, dict]:
    items = kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", kflow.namespace, "executions", label_selector="kflow.io/trigger=every-minute")["items"]
    return {e["metadata"]["name"]: e for e in items}


def wait_for(what, predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_every_minute_schedule_survives_an_operator_restart_without_duplicate_or_gap(kflow, operator):
    kflow.apply_flow(EVERY_MINUTE)
    first = wait_for("the first scheduled execution", lambda: scheduled(kflow), timeout=90)
    first_date = _date(next(iter(first.values()))["metadata"]["annotations"]["kflow.io/schedule-date"])
    operator.kill()
    # down across at least one whole scheduled minute
    down_until = first_date + timedelta(seconds=125)
    time.sleep(max((down_until - datetime.now(timezone.utc)).total_seconds(), 0))
    operator.start()
    missed_and_next = first_date + timedelta(minutes=3)
    wait_for("the executions after the restart", lambda: len(scheduled(kflow)) >= 4, timeout=120)

    executions = scheduled(kflow)
    dates = sorted(_date(e["metadata"]["annotations"]["kflow.io/schedule-date"]) for e in executions.values())
    assert len(dates) == len(set(dates)) == len(executions), "one execution per date"
    assert dates[0] == first_date
    assert dates == [first_date + timedelta(minutes=i) for i in range(len(dates))], f"a gap: {dates}"
    assert dates[-1] >= missed_and_next - timedelta(minutes=1)
    for name, execution in executions.items():
        done = kflow.wait(name, timeout=120)
        assert done["status"]["current"] == "SUCCESS", done["status"]
        date = execution["spec"]["trigger"]["date"]
        assert name == f"tick-every-minute-{_date(date).strftime('%Y%m%d%H%M%S')}"
        previous = (_date(date) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert taskruns(done)["when"]["outputs"]["value"] == f"{date}|{previous}|scheduler at {date}"
    state = kflow.get("flows", "tick")["status"]["triggers"]["every-minute"]
    assert _date(state["lastDate"]) >= dates[-1] and _date(state["nextDate"]) > _date(state["lastDate"])


UPSTREAM = """
id: extract
namespace: company.team
tasks:
  - {id: final, type: io.kestra.plugin.core.debug.Return, format: "rows-{{ execution.id }}"}
outputs:
  - {id: file, type: STRING, value: "{{ outputs.final.value }}.csv"}
"""

DOWNSTREAM = """
id: transform
namespace: company.team
inputs:
  - {id: source, type: STRING}
tasks:
  - id: seen
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.executionId }} {{ trigger.flowId }} {{ trigger.state }} {{ trigger.outputs.file }} {{ inputs.source }}"
triggers:
  - id: after-extract
    type: io.kestra.plugin.core.trigger.Flow
    inputs: {source: "{{ outputs.final.value }}"}
    preconditions:
      id: upstream
      flows: [{namespace: company.team, flowId: extract, states: [SUCCESS]}]
"""

ON_FAILURE = """
id: alert
namespace: company.team
tasks:
  - {id: say, type: io.kestra.plugin.core.debug.Return, format: "{{ trigger.executionId }} failed"}
triggers:
  - id: on-failure
    type: io.kestra.core.models.triggers.types.Flow
    conditions:
      - {type: io.kestra.core.models.conditions.types.ExecutionStatusCondition, in: [FAILED]}
"""


def test_flow_trigger_starts_the_downstream_flow_with_the_upstream_outputs(kflow, operator):
    kflow.apply_flow(UPSTREAM)
    kflow.apply_flow(DOWNSTREAM)
    kflow.apply_flow(ON_FAILURE)
    kflow.wait_flow("transform")
    kflow.execute("extract", "extract-1")
    upstream = kflow.wait("extract-1")
    assert upstream["status"]["current"] == "SUCCESS"
    upstream_id = upstream["status"]["id"]
    name = f"transform-after-extract-{upstream_id.lower()}"
    wait_for("the triggered execution", lambda: name in {e["metadata"]["name"] for e in kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", kflow.namespace, "executions")["items"]}, timeout=60)
    downstream = kflow.wait(name)
    assert downstream["status"]["current"] == "SUCCESS", downstream["status"]
    value = f"rows-{upstream_id}"
    assert taskruns(downstream)["seen"]["outputs"]["value"] == f"{upstream_id} extract SUCCESS {value}.csv {value}"
    assert downstream["spec"]["trigger"]["executionId"] == upstream_id
    assert downstream["metadata"]["annotations"]["kflow.io/upstream-execution"] == upstream_id
    # the triggered run ended too: it starts no one (alert listens for FAILED, transform not for itself)
    names = sorted(e["metadata"]["name"] for e in kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", kflow.namespace, "executions")["items"])
    assert names == sorted(["extract-1", name])
