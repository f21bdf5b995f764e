import datetime as dt

import pytest

from kflow.expr import ExpressionError, render_value

CTX = {"inputs": {"name": "World", "n": 3}, "outputs": {"t": {"value": "V"}}, "task": {"id": "t1"}}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("{{ inputs.name }}", "World"),
        ("plain", "plain"),
        (5, 5),
        (1.5, 1.5),
        (True, True),
        (None, None),
        (dt.date(2024, 1, 1), dt.date(2024, 1, 1)),
        ([1, "{{ inputs.n }}", None], [1, "3", None]),
        (("{{ task.id }}",), ["t1"]),
        ({"a": "{{ inputs.name }}", "b": 2}, {"a": "World", "b": 2}),
        ({"{{ task.id }}_key": "v"}, {"t1_key": "v"}),
        ({"nested": {"list": [{"x": "{{ outputs.t.value }}"}]}}, {"nested": {"list": [{"x": "V"}]}}),
        ({1: "{{ inputs.n }}"}, {1: "3"}),
        ([], []),
        ({}, {}),
    ],
)
def test_render_value(value, expected):
    assert render_value(value, CTX) == expected


def test_render_value_does_not_mutate_input():
    value = {"a": ["{{ inputs.name }}"]}
    render_value(value, CTX)
    assert value == {"a": ["{{ inputs.name }}"]}


@pytest.mark.parametrize(
    "value, prop, message",
    [
        ({"headers": {"Authorization": "Bearer {{ secret('TOKEN') }}"}}, "headers.Authorization", "TOKEN"),
        ({"commands": ["echo 1", "echo 2", "echo {{ outputs.nope.value }}"]}, "commands[2]", "'outputs.nope' is undefined"),
        (["{{ nope }}"], "[0]", "'nope' is undefined"),
        ({"a": {"b": [{"c": "{{ x | nofilter }}"}]}}, "a.b[0].c", "unknown filter 'nofilter'"),
        ({"headers": {"X-Api-Key": "{{ nope }}"}}, "headers.X-Api-Key", "'nope'"),
        ({"odd key": "{{ nope }}"}, "['odd key']", "'nope'"),
        ({"{{ nope }}": "v"}, "['{{ nope }}']", "'nope'"),
    ],
)
def test_render_value_error_paths(value, prop, message):
    with pytest.raises(ExpressionError) as info:
        render_value(value, CTX)
    err = info.value
    assert err.property == prop
    assert message in err.message
    assert prop in str(err)


def test_top_level_string_error_has_no_property():
    with pytest.raises(ExpressionError) as info:
        render_value("{{ nope }}", CTX)
    assert info.value.property is None


def test_render_value_secret():
    out = render_value({"h": "{{ secret('A') }}"}, CTX, secret=lambda n: n.lower())
    assert out == {"h": "a"}
