"""Kestra's `jq` filter: libjq through the `jq` binding, results as Kestra's JqFilter gives them."""

from __future__ import annotations

import pytest

from kflow.expr import ExpressionError, render

DATA = {"items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}], "meta": {"ok": True}}


@pytest.mark.parametrize("template, expected", [
    ("{{ data | jq('.items[].name') }}", '["a","b"]'),  # every output, as a list
    ("{{ data | jq('.meta.ok') | first }}", "true"),  # Kestra's docs: `| first` for one value
    ("{{ data | jq('[.items[] | select(.n > 1) | .name]') | first }}", '["b"]'),
    ("{{ data | jq('.items | map(.n) | add') | first }}", "3"),
    ("{{ data | jq('.missing') }}", "[null]"),
    ("{{ text | jq('.a') | first }}", "x"),  # a string is parsed as JSON first
    ("{{ data | jq('.items | length') | first + 1 }}", "3"),  # numbers stay numbers
])
def test_jq_gives_every_output_of_the_program(template, expected):
    assert render(template, {"data": DATA, "text": '{"a": "x"}'}) == expected


def test_jq_of_null_is_null():
    assert render("{{ nothing | jq('.a') }}", {"nothing": None}) == ""


@pytest.mark.parametrize("template, message", [
    ("{{ data | jq('.items[') }}", "jq: invalid expression '.items['"),
    ("{{ 'not json' | jq('.a') }}", "jq: the value is not JSON"),
    ("{{ data | jq('.items | error(\"boom\")') }}", "boom"),
])
def test_jq_errors_are_expression_errors_naming_the_program(template, message):
    with pytest.raises(ExpressionError) as caught:
        render(template, {"data": DATA})
    assert message in str(caught.value)
