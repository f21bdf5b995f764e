"""Loading flows: Kestra's old and new type names, and errors that say where and what."""

from __future__ import annotations

from pathlib import Path

import pytest

from kflow.flow import FlowError, load_flow, load_flow_file
from kflow.flow.registry import TASK_TYPES, canonical_name, closest_names, task_class

EXAMPLES = sorted(Path(__file__).parents[2].joinpath("examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_loads(path):
    flow = load_flow_file(path)
    assert flow.tasks


@pytest.mark.parametrize(
    "old, new",
    [
        ("io.kestra.core.tasks.debugs.Return", "io.kestra.plugin.core.debug.Return"),
        ("io.kestra.core.tasks.flows.Sequential", "io.kestra.plugin.core.flow.Sequential"),
        ("io.kestra.core.tasks.flows.Parallel", "io.kestra.plugin.core.flow.Parallel"),
        ("io.kestra.core.tasks.log.Log", "io.kestra.plugin.core.log.Log"),
    ],
)
def test_old_and_new_names_are_one_type(old, new):
    assert task_class(old) is task_class(new)
    assert canonical_name(old) == new


def test_registry_names_are_unique():
    names = [n for t in TASK_TYPES for n in (t.name, *t.aliases)]
    assert len(names) == len(set(names))


def problems(text: str) -> list[str]:
    with pytest.raises(FlowError) as caught:
        load_flow(text)
    return [str(p) for p in caught.value.problems]


BASE = "id: f\nnamespace: company.team\n"


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            "tasks:\n  - {id: a, type: io.kestra.plugin.core.debug.Return}\n  - {id: b, type: io.kestra.plugin.core.debug.Return}\n"
            "  - id: s\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks:\n      - {id: c, type: io.kestra.plugin.core.debug.Return, format: [1, 2]}\n",
            "tasks[2].tasks[0].format: Input should be a valid string",
        ),
        ("tasks:\n  - {id: a, type: io.kestra.plugin.core.debug.Retrun}\n", "tasks[0].type: unknown task type 'io.kestra.plugin.core.debug.Retrun'; did you mean io.kestra.plugin.core.debug.Return"),
        ("tasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m, colour: red}\n", "tasks[0].colour: unknown property; Log accepts:"),
        ("tasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log}\n", "tasks[0].message: required property is missing"),
        ("tasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m}\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m}\n", "tasks[1].id: duplicate task id 'a', already used at tasks[0]"),
        ("tasks:\n  - {id: 'bad id', type: io.kestra.plugin.core.log.Log, message: m}\n", "tasks[0].id: a task id starts with a letter or digit"),
        ("tasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m, retry: {type: constant, maxAttempt: 2}}\n", "tasks[0].retry: a constant retry needs `interval`"),
        ("tasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m, timeout: soon}\n", "tasks[0].timeout: expected an ISO-8601 duration"),
        ("tasks: []\n", "tasks: List should have at least 1 item"),
        ("tasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n    concurrent: -1\n    tasks:\n      - {id: a, type: io.kestra.plugin.core.log.Log, message: m}\n", "tasks[0].concurrent: Input should be greater than or equal to 0"),
        ("tasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m}\ninputs:\n  - {id: n, type: NUMBERZ}\n", "inputs[0]"),
        ("tasks:\n  - {id: a}\n", "tasks[0].type: every task needs a `type`"),
    ],
)
def test_problems_name_the_path(body, expected):
    found = problems(BASE + body)
    assert any(p.startswith(expected) or expected in p for p in found), found


def test_flow_level_fields():
    found = problems("id: 'no spaces allowed'\nnamespace: Upper\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m}\n")
    assert any(p.startswith("id:") for p in found) and any(p.startswith("namespace:") for p in found)


def test_invalid_yaml_names_the_line():
    found = problems("id: f\nnamespace: t\ntasks:\n  - id: a\n   type: x\n")
    assert "line 5" in found[0]


def test_not_a_mapping():
    assert "a flow is a YAML mapping" in problems("- just\n- a list\n")[0]


def test_all_problems_are_reported_at_once():
    found = problems(BASE + "tasks:\n  - {id: a, type: nope.Return}\n  - {id: b, type: io.kestra.plugin.core.log.Log}\n")
    assert len(found) == 2


def test_closest_names_by_short_name():
    assert closest_names("io.kestra.plugin.core.debug.Retrun")[0] == "io.kestra.plugin.core.debug.Return"
    assert "io.kestra.plugin.core.debug.Return" in closest_names("com.example.Return")


def test_labels_as_list_or_map():
    text = BASE + "labels:\n  - {key: env, value: prod}\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m}\n"
    assert load_flow(text).labels == {"env": "prod"}
