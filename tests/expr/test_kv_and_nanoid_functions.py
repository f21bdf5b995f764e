"""kv() over the values the engine gives a task (`_kv`), and nanoId(), through the renderer."""

from __future__ import annotations

import re

import pytest

from kflow.expr import ExpressionError, referenced_kv, render, render_value

CONTEXT = {
    "flow": {"namespace": "team.a", "id": "f"},
    "_kv": {"team.a:cfg": {"value": {"n": 1, "tags": ["x"]}}, "team.a:gone": {"missing": True},
            "other.ns:k": {"value": 42}, "team.a:broken": {"error": "the KV store could not be read: timeout"}},
}


def test_kv_values_keep_their_json_type():
    assert render_value("{{ kv('cfg') }}", CONTEXT) == '{"n":1,"tags":["x"]}'
    assert render("{{ kv('cfg').n + kv('k', 'other.ns') }}", CONTEXT) == "43"
    assert render("{{ kv(key='k', namespace='other.ns') }}", CONTEXT) == "42"
    assert render("{{ kv('gone', errorOnMissing=false) ?? 'none' }}", CONTEXT) == "none"


@pytest.mark.parametrize("template, message", [
    ("{{ kv('gone') }}", "kv('gone'): no such key in namespace 'team.a'"),
    ("{{ kv('broken') }}", "kv('broken') in namespace 'team.a': the KV store could not be read: timeout"),
    ("{{ kv(flow.id) }}", "only keys written as constants"),
    ("{{ kv('') }}", "kv(): the key must be a non-empty string"),
])
def test_kv_errors_name_the_key(template, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        render(template, CONTEXT)


def test_the_keys_a_task_names_are_found_ahead():
    assert referenced_kv({"a": "{{ kv('x') }} {{ kv('y', 'ns.b') }}", "b": ["{{ kv(key='z', errorOnMissing=false) }}"],
                          "c": "{{ kv(inputs.k) }} {{ kv('w', inputs.ns) }}"}) == {(None, "x"), ("ns.b", "y"), (None, "z")}


def test_nano_id_length_and_alphabet():
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}", render("{{ nanoId() }}", {}))
    assert re.fullmatch(r"[ab]{7}", render("{{ nanoId(length=7, alphabet='ab') }}", {}))
    with pytest.raises(ExpressionError, match="nanoId: length must be between 1 and 10000"):
        render("{{ nanoId(100000) }}", {})
