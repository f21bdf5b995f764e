"""Webhook triggers, pure: loading, key lookup, body parsing, conditions, names, Kestra's answer."""

from __future__ import annotations

import re

import pytest

from kflow.flow import FlowError, load_flow
from kflow.triggers import webhook as rules

FLOW = """
id: hook
namespace: company.team
labels: {team: data}
inputs:
  - {id: who, type: STRING, defaults: nobody}
tasks: [{id: a, type: io.kestra.plugin.core.debug.Return, format: "{{ trigger.body }}"}]
triggers:
"""


def flow(triggers: str):
    return load_flow(FLOW + triggers)


def problems(triggers: str) -> list[str]:
    with pytest.raises(FlowError) as err:
        load_flow(FLOW + triggers)
    return [str(p) for p in err.value.problems]


def test_webhook_loads_under_old_and_new_names_and_kflow_run_ignores_it():
    f = flow("""
  - {id: w, type: io.kestra.plugin.core.trigger.Webhook, key: 4wjtkzwVGBM9yKnjm3yv8r}
  - {id: old, type: io.kestra.core.models.triggers.types.Webhook, key: other}
""")
    assert [t.key for t in f.triggers] == ["4wjtkzwVGBM9yKnjm3yv8r", "other"]


@pytest.mark.parametrize(
    "trigger, message",
    [
        ("{id: w, type: io.kestra.plugin.core.trigger.Webhook}", "triggers[0].key"),
        ("{id: w, type: io.kestra.plugin.core.trigger.Webhook, key: 'a/b'}", "one URL path segment"),
        ("{id: w, type: io.kestra.plugin.core.trigger.Webhook, key: \"{{ secret('K') }}\"}", "expression as the webhook key"),
        ("{id: w, type: io.kestra.plugin.core.trigger.Webhook, key: k, wait: true}", "wait: true is not supported"),
        ("{id: w, type: io.kestra.plugin.core.trigger.Webhook, key: k, conditions: [{type: io.kestra.plugin.core.condition.DayWeek, dayOfWeek: MONDAY}]}",
         "unsupported Webhook condition type 'io.kestra.plugin.core.condition.DayWeek'"),
    ],
)
def test_bad_webhooks_are_refused_naming_the_field(trigger, message):
    found = problems(f"  - {trigger}\n")
    assert any(message in p for p in found), found
    assert all(p.startswith("triggers[0]") for p in found), found


def test_the_key_finds_only_an_enabled_trigger():
    f = flow("""
  - {id: closed, type: io.kestra.plugin.core.trigger.Webhook, key: secret-1, disabled: true}
  - {id: open, type: io.kestra.plugin.core.trigger.Webhook, key: secret-2}
""")
    assert rules.find_trigger(f, "secret-2").id == "open"
    assert rules.find_trigger(f, "secret-1") is None
    assert rules.find_trigger(f, "secret-") is None


def test_body_is_json_when_it_parses_else_text():
    assert rules.parse_body(b'{"hello": "world", "n": [1, 2]}') == {"hello": "world", "n": [1, 2]}
    assert rules.parse_body(b" [1, 2] ") == [1, 2]
    assert rules.parse_body(b"{not json") == "{not json"
    assert rules.parse_body(b"42") == "42"  # Kestra parses objects and arrays only
    assert rules.parse_body(b"") is None
    assert rules.parse_body("é".encode("latin-1")) == "\ufffd"


def test_headers_and_parameters_are_multimaps():
    assert rules.multimap([("X-A", "1"), ("x-a", "2"), ("Content-Type", "text/plain")], lower=True) == {
        "x-a": ["1", "2"], "content-type": ["text/plain"]}
    assert rules.multimap([("q", "1"), ("Q", "2")]) == {"q": ["1"], "Q": ["2"]}


def test_expression_conditions_decide_and_a_broken_one_is_named():
    f = flow("""
  - id: w
    type: io.kestra.plugin.core.trigger.Webhook
    key: k
    conditions:
      - {type: io.kestra.plugin.core.condition.Expression, expression: "{{ trigger.body.hello == 'world' }}"}
""")
    (trigger,) = f.triggers
    assert rules.conditions_met(trigger, f, rules.trigger_variables({"hello": "world"}, {}, {}))
    assert not rules.conditions_met(trigger, f, rules.trigger_variables({"hello": "moon"}, {}, {}))
    with pytest.raises(rules.ConditionError, match=r"triggers.w.conditions\[0\].expression"):
        rules.conditions_met(trigger, f, rules.trigger_variables({}, {}, {}))


def test_inputs_render_against_the_request():
    f = flow("""
  - {id: w, type: io.kestra.plugin.core.trigger.Webhook, key: k, inputs: {who: "{{ trigger.body.user }} via {{ trigger.headers['x-src'][0] }}"}}
""")
    variables = rules.trigger_variables({"user": "ana"}, {"x-src": ["github"]}, {})
    assert rules.render_inputs(f.triggers[0], f, variables) == {"who": "ana via github"}


def test_execution_names_are_new_each_call_and_dns_safe():
    names = {rules.execution_name("My_Hook", "on.push") for _ in range(50)}
    assert len(names) == 50
    assert all(re.fullmatch(r"my-hook-on-push-[a-z0-9]{10}", n) for n in names)
    assert len(rules.execution_name("f" * 90, "t")) <= 63


def test_the_answer_is_kestras_execution_shape():
    f = flow("  - {id: w, type: io.kestra.plugin.core.trigger.Webhook, key: k}\n")
    variables = rules.trigger_variables({"a": 1}, {}, {})
    answer = rules.response("5Hq3", f, f.triggers[0], variables, f.labels, "2026-01-01T00:00:00Z")
    assert answer["id"] == "5Hq3" and answer["namespace"] == "company.team" and answer["flowId"] == "hook"
    assert answer["trigger"] == {"id": "w", "type": "io.kestra.plugin.core.trigger.Webhook", "variables": variables}
    assert answer["labels"] == [{"key": "team", "value": "data"}]
    assert answer["state"]["current"] == "CREATED"
