import time

import pytest

from kflow.expr import ExpressionError, render
from kflow.expr import limits


@pytest.mark.parametrize(
    "template, message",
    [
        ("{{ range(0, 10000000) }}", "would produce"),
        ("{% for i in range(0, 1000000000) %}{% endfor %}", "would produce"),
        ("{{ 'x' * 100000000 }}", "exceeds"),
        ("{{ ['x'] * 100000000 }}", "exceeds"),
        ("{{ 2 ** 1000000 }}", "exceeds"),
        ("{{ 99999999999 ** 99999 }}", "exceeds"),
        ("{% set s = 'x' * 5000000 %}{{ s ~ s ~ s }}", "exceeds"),
        ("{% set s = 'x' * 5000000 %}{{ s + s + s }}", "exceeds"),
        ("{% set s = 'x' * 5000000 %}{% for i in range(0, 3) %}{{ s }}{% endfor %}", "output exceeds"),
        ("{% set s = 'x' * 5000000 %}{% set t %}{% for i in range(0, 100) %}{{ s }}{% endfor %}{% endset %}", "output exceeds"),
        ("{% set s = 'x' * 5000000 %}{{ s | replace({'x': 'yyyy'}) }}", "exceeds"),
        ("{% set s = 'x' * 1000 %}{{ ([s] * 20000) | join(',') }}", "exceeds"),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion"),
        ("{% for i in range(0, 99999) %}{% for j in range(0, 99999) %}{% endfor %}{% endfor %}", "iterations"),
        ("{{ '%99999999999d' % 1 }}", "not string formatting"),
    ],
)
def test_bounds_fail_cleanly(template, message):
    t0 = time.monotonic()
    with pytest.raises(ExpressionError) as info:
        render(template, {})
    assert message in info.value.message
    assert time.monotonic() - t0 < 15


def test_deadline(monkeypatch):
    monkeypatch.setattr(limits, "TIME_LIMIT", 0.05)
    with pytest.raises(ExpressionError) as info:
        render("{% for i in range(0, 99999) %}{% for j in range(0, 9) %}{{ i }}{% endfor %}{% endfor %}", {})
    assert "longer than" in info.value.message


def test_large_but_allowed_output():
    out = render("{{ 'x' * 1000000 }}", {})
    assert len(out) == 1_000_000


def test_compiled_template_cache_is_fast():
    ctx = {"inputs": {"a": 1}, "outputs": {"t": {"value": "v"}}}
    template = "{{ inputs.a ?? 0 }}-{{ outputs.t.value | upper }}-{% if inputs.a > 0 %}pos{% endif %}"
    assert render(template, ctx) == "1-V-pos"
    t0 = time.perf_counter()
    for _ in range(10_000):
        render(template, ctx)
    assert time.perf_counter() - t0 < 5


def test_plain_strings_fast_path():
    t0 = time.perf_counter()
    for _ in range(100_000):
        render("just text with { braces }", {})
    assert time.perf_counter() - t0 < 1


@pytest.mark.parametrize(
    "template, message",
    [
        ("{% set a = 'x' * 5000000 %}{% set b = [a] * 1000 %}{{ b }}", "too large"),
        ("{% set a = 'x' * 5000000 %}{% set b = [a] * 1000 %}{{ b | toJson }}", "too large"),
        ("{{ [1] * 100000000 }}", "exceeds"),
        ("{% for a in range(0, 60) %}{% for b in range(0, 60) %}{% for c in range(0, 60) %}"
         "{% for d in range(0, 60) %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}", "iterations"),
    ],
)
def test_more_bounds(template, message):
    with pytest.raises(ExpressionError) as info:
        render(template, {})
    assert message in info.value.message
