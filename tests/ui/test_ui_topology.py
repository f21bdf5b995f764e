"""The topology graph's layout (kflow/ui/topology.py) and the Gantt's per-task summary: pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta

import yaml

from kflow.flow import parse_flow
from kflow.ui.topology import layout
from kflow.ui.views import flow_topology

FLOW = """
id: shapes
namespace: company.team
tasks:
  - {id: first, type: io.kestra.plugin.core.debug.Return, format: a}
  - id: fan
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - {id: left, type: io.kestra.plugin.core.debug.Return, format: l}
      - {id: right, type: io.kestra.plugin.core.debug.Return, format: r}
  - id: graph
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task: {id: root, type: io.kestra.plugin.core.debug.Return, format: x}
      - task: {id: mid, type: io.kestra.plugin.core.debug.Return, format: x}
        dependsOn: [root]
      - task: {id: side, type: io.kestra.plugin.core.debug.Return, format: x}
        dependsOn: [root]
      - task: {id: leaf, type: io.kestra.plugin.core.debug.Return, format: x}
        dependsOn: [mid, side]
  - id: choose
    type: io.kestra.plugin.core.flow.If
    condition: "{{ true }}"
    then:
      - {id: yep, type: io.kestra.plugin.core.debug.Return, format: y}
    else:
      - {id: nope, type: io.kestra.plugin.core.debug.Return, format: n}
  - {id: last, type: io.kestra.plugin.core.debug.Return, format: z}
errors:
  - {id: alert, type: io.kestra.plugin.core.debug.Return, format: e}
finally:
  - {id: cleanup, type: io.kestra.plugin.core.debug.Return, format: f}
"""


def graph() -> dict:
    return flow_topology(parse_flow(yaml.safe_load(FLOW)))["graph"]


def by_id(g: dict) -> dict[str, dict]:
    return {n["id"]: n for n in g["nodes"]}


def inside(inner: dict, outer: dict) -> bool:
    return (outer["x"] <= inner["x"] and inner["x"] + inner["w"] <= outer["x"] + outer["w"]
            and outer["y"] <= inner["y"] and inner["y"] + inner["h"] <= outer["y"] + outer["h"])


def overlap(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


def test_every_task_is_one_node_and_flowables_are_groups_around_their_children():
    g = graph()
    nodes = by_id(g)
    assert sorted(nodes) == sorted(["first", "fan", "left", "right", "graph", "root", "mid", "side", "leaf", "choose", "yep", "nope",
                                    "last", "alert", "cleanup"])
    assert len(g["nodes"]) == len(nodes), "no task drawn twice"
    assert {i for i, n in nodes.items() if n["group"]} == {"fan", "graph", "choose"}
    for group, children in {"fan": ["left", "right"], "graph": ["root", "mid", "side", "leaf"], "choose": ["yep", "nope"]}.items():
        for child in children:
            assert inside(nodes[child], nodes[group]), (child, group)
    leaves = [n for n in g["nodes"] if not n["group"]]
    assert not any(overlap(a, b) for i, a in enumerate(leaves) for b in leaves[i + 1:]), "tasks never overlap"
    assert all(n["x"] + n["w"] <= g["width"] and n["y"] + n["h"] <= g["height"] for n in g["nodes"])


def test_sequence_arrows_parallel_side_by_side_and_dag_layers_by_depends_on():
    g = graph()
    nodes = by_id(g)
    edges = {(e["from"], e["to"], e["kind"]) for e in g["edges"]}
    assert {("first", "fan", "sequence"), ("fan", "graph", "sequence"), ("graph", "choose", "sequence"), ("choose", "last", "sequence")} <= edges
    assert {("root", "mid", "dependsOn"), ("root", "side", "dependsOn"), ("mid", "leaf", "dependsOn"), ("side", "leaf", "dependsOn")} <= edges
    assert nodes["left"]["y"] == nodes["right"]["y"] and nodes["left"]["x"] != nodes["right"]["x"], "parallel branches side by side"
    assert nodes["root"]["y"] < nodes["mid"]["y"] == nodes["side"]["y"] < nodes["leaf"]["y"], "one layer below the deepest dependency"
    assert not any(e["from"] in ("left", "right") or e["to"] in ("left", "right") for e in g["edges"]), "no arrow between parallel tasks"
    for e in g["edges"]:  # an arrow leaves the bottom of its source and ends on the top of its target
        (x1, y1), (x2, y2) = e["points"][0], e["points"][-1]
        assert y1 == nodes[e["from"]]["y"] + nodes[e["from"]]["h"] and y2 == nodes[e["to"]]["y"], e


def test_branches_are_labelled_boxes_errors_and_finally_distinct():
    g = graph()
    nodes = by_id(g)
    boxes = {(b["owner"], b["name"]): b for b in g["branches"]}
    assert boxes[(None, "errors")]["kind"] == "errors" and boxes[(None, "finally")]["kind"] == "finally"
    assert boxes[("choose", "then")]["kind"] == boxes[("choose", "else")]["kind"] == "branch"
    assert inside(nodes["alert"], boxes[(None, "errors")]) and inside(nodes["cleanup"], boxes[(None, "finally")])
    assert inside(nodes["yep"], boxes[("choose", "then")]) and inside(nodes["nope"], boxes[("choose", "else")])
    assert boxes[(None, "errors")]["x"] > nodes["last"]["x"] + nodes["last"]["w"], "beside the main line, not in it"
    assert not any("alert" in (e["from"], e["to"]) for e in g["edges"])


def test_a_dag_cycle_or_unknown_dependency_still_lays_out():
    tree = {"branches": [{"name": "tasks", "tasks": [{"id": "d", "type": "Dag", "flowable": True, "branches": [{"name": "tasks", "tasks": [
        {"id": "a", "type": "Return", "dependsOn": ["b", "ghost"]}, {"id": "b", "type": "Return", "dependsOn": ["a"]}]}]}]}]}
    g = layout(tree)
    assert {n["id"] for n in g["nodes"]} == {"d", "a", "b"}
    assert g["width"] > 0 and g["height"] > 0


def test_an_empty_flow_is_an_empty_graph():
    assert layout({"branches": []})["nodes"] == []


def test_gantt_by_task_sums_up_each_tasks_runs_from_the_index():
    from kflow.execution import State
    from kflow.gantt import rollup_state
    from kflow.ui import taskruns
    from tests.ui.resources import T0, taskrun

    runs = [taskrun("loop", "loop", "RUNNING", start=0)] + [
        taskrun(f"e{i}", "each", "FAILED" if i == 7 else "SUCCESS", parent="loop", start=i, end=i + 2) for i in range(1, 3001)]
    entries = taskruns.index({"taskRuns": {r["id"]: r for r in runs}}, {})
    summary, counts = taskruns.by_task(entries)
    assert counts == {"loop": 1, "each": 3000}
    each = next(r for r in summary if r["taskId"] == "each")
    assert each["parentTaskRunId"] == "loop" and each["state"]["current"] == "FAILED"
    dates = [datetime.fromisoformat(h["date"]) for h in each["state"]["histories"]]
    assert (dates[0], dates[-1]) == (T0 + timedelta(seconds=1), T0 + timedelta(seconds=3002)), "first start to last end"
    loop = next(r for r in summary if r["taskId"] == "loop")
    assert loop["state"]["current"] == "RUNNING"
    assert rollup_state(["SUCCESS", "RUNNING", "FAILED"]) == State.RUNNING and rollup_state(["SUCCESS", "WARNING"]) == State.WARNING
    assert rollup_state([]) == State.CREATED
