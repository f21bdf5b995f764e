"""The renderer's fast path (`kflow.expr.plain`): a template that only prints variables renders
exactly as the jinja2 sandbox renders it, and anything else is left to the sandbox."""

from __future__ import annotations

import pytest

from kflow.expr import ExpressionError, render
from kflow.expr.plain import render_plain


def full(template, ctx, monkeypatch):
    """The template rendered by the jinja2 sandbox only."""
    import sys

    module = sys.modules["kflow.expr.render"]  # the package's `render` is the function
    with monkeypatch.context() as patch:
        patch.setattr(module, "render_plain", lambda template, variables: None)
        return module.render(template, ctx)


PLAIN = [
    "{{ task.id }} > {{ flow.id }}",
    "{{task.id}}",
    "  {{ inputs.name }}\n",
    "hello {{ inputs.empty }}!",
    "{{ outputs.t.value }}/{{ outputs.t.values.k }}",  # a key named like a dict method is a key
    "{{ envs.foo }} }} and } alone",
    "no expression at all",
]


@pytest.mark.parametrize("template", PLAIN)
def test_plain_templates_render_as_the_sandbox_renders_them(template, ctx, monkeypatch):
    plain = render_plain(template, ctx)
    assert plain is not None
    assert plain == full(template, ctx, monkeypatch) == render(template, ctx)


NOT_PLAIN = [
    "{{ task.id | upper }}",  # a filter
    "{{ inputs.n }}",  # an int: printing it is the sandbox's to_str
    "{{ inputs.nothing }}",  # null
    "{{ outputs.t.values }}",  # a map prints as JSON
    "{{ inputs.list.0 }}",
    "{{ outputs.missing.value }}",  # undefined: the sandbox's error message
    "{{ inputs.name ?? 'x' }}",
    "{# a comment #}{{ task.id }}",
    "{% if true %}x{% endif %}",
    "a\r\n{{ task.id }}",  # jinja2 normalises newlines in a template with an expression
    "{{- task.id }}",
    "{{ task.id }",
]


@pytest.mark.parametrize("template", NOT_PLAIN)
def test_everything_else_is_left_to_the_sandbox(template, ctx):
    assert render_plain(template, ctx) is None


@pytest.mark.parametrize("name", ["true", "null", "none", "loop", "self", "contains"])
def test_names_the_grammar_reserves_are_never_looked_up(name, ctx, monkeypatch):
    ctx = {**ctx, name: "shadowed"}
    assert render_plain("{{ %s }}" % name, ctx) is None


def test_a_missing_variable_still_fails_naming_its_path(ctx):
    with pytest.raises(ExpressionError, match="outputs.missing"):
        render("{{ outputs.missing.value }}", ctx)


def test_the_output_bound_still_holds(ctx):
    from kflow.expr.limits import MAX_OUTPUT

    big = {"x": "a" * (MAX_OUTPUT // 2 + 1)}
    assert render_plain("{{ x }}{{ x }}", big) is None
    with pytest.raises(ExpressionError, match="exceeds"):
        render("{{ x }}{{ x }}", big)
