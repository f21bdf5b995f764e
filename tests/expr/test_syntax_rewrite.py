"""The Pebble -> jinja source rewrite (kflow.expr.pebble_syntax)."""

import pytest

from kflow.expr import render
from kflow.expr.environment import ENV
from kflow.expr.pebble_syntax import pebble_to_jinja


@pytest.mark.parametrize(
    "source",
    [
        "plain",
        "{{ a }}",
        "{% if a %}x{% endif %}",
        "{{ 'a ?? b' }}",
        "{# a ?? b #}",
        "{% raw %}{{ a ?? b }}{% endraw %}",
        "Is it? Yes.",
    ],
)
def test_untouched(source):
    assert pebble_to_jinja(source) == source


@pytest.mark.parametrize(
    "source, expected",
    [
        ("{{ {'a': {'b': x ?? 1}} }}", '{"a":{"b":1}}'),
        ("{{ \"}}\" ~ (x ?? 'd') }}", "}}d"),
        ("{{ '%}' ~ x ?? 'd' }}", "%}d"),
        ("{{- x ?? 'd' -}}", "d"),
        ("{%- set v = x ?? 'd' -%}{{ v }}", "d"),
        ("a\n{{ x\n ?? \n'd' }}\nb", "a\nd\nb"),
        ("{{ x ?? y ?? z ?? w ?? 'last' }}", "last"),
        ("{{ x ??? y ??? 'u' }}", "u"),
        ("{{ n ?? x ??? 'u' }}", "u"),
        ("{{ f ?? 'd' }}{{ f ?? 'd' }}", "dd"),
        ("{{ l[0] ?? 'd' }}", "1"),
        ("{{ l[5] ?? 'd' }}", "d"),
        ("{{ m['k-1'].v ?? 'd' }}", "V"),
        ("{{ m['k-2'].v ?? 'd' }}", "d"),
        ("{{ (x ?? 2) + (y ?? 3) }}", "5"),
        ("{{ x ?? 2 + 3 }}", "5"),
        ("{{ x ?? (2 + 3) }}", "5"),
        ("{{ x ?? [1, 2] | length }}", "2"),
        ("{{ x ?? 'a' ~ 'b' }}", "ab"),
        ("{{ x ?? 5 > 3 ? 'big' : 'small' }}", "big"),
        ("{% if x ?? false %}a{% elseif y ?? true %}b{% endif %}", "b"),
        ("{% for i in x ?? [1, 2] %}{{ i }}{% endfor %}", "12"),
        ("{% for i in 1..3 %}{{ i }}{% endfor %}", "123"),
        ("{{ l contains 1 and l contains 2 }}", "true"),
        ("{{ not (l contains 3) }}", "true"),
        ("{{ m contains 'k-1' }}", "true"),
        ("{{ [l contains 1 ? 'y' : 'n'] }}", '["y"]'),
        ("{{ true ? (false ? 1 : 2) : 3 }}", "2"),
    ],
)
def test_rewrite_renders(source, expected):
    ctx = {"n": None, "l": [1, 2], "m": {"k-1": {"v": "V"}}}
    assert render(source, ctx) == expected


def test_rewritten_source_parses():
    # the rewrite is plain jinja: the environment can parse it without the extension
    src = pebble_to_jinja("{{ a ?? b.c['d'] ?? 'x' }}{% if l contains 1 %}{% elseif z %}{% endif %}")
    assert "??" not in src and "elseif" not in src
    ENV.parse(src)


@pytest.mark.parametrize(
    "name",
    ["date", "dateAdd", "timestamp", "timestampMilli", "timestampMicro", "timestampNano", "default",
     "json", "toJson", "upper", "lower", "capitalize", "title", "trim", "replace", "slugify", "length",
     "first", "last", "join", "split", "number", "abs", "keys", "values", "sort", "rsort", "reverse",
     "slice", "abbreviate", "substringBefore", "substringAfter", "substringBeforeLast",
     "substringAfterLast", "startsWith", "endsWith", "base64encode", "base64decode", "sha256",
     "urlencode", "chunk", "distinct", "flatten", "merge", "indent", "nindent", "escapeChar",
     "string", "className", "md5", "sha1", "sha512", "urldecode", "numberFormat", "yaml"],
)
def test_filter_registered(name):
    assert name in ENV.filters


@pytest.mark.parametrize(
    "name",
    ["now", "secret", "range", "max", "min", "fromJson", "json", "render", "renderOnce",
     "printContext", "yaml", "fromYaml", "randomInt", "uuid", "id"],
)
def test_function_registered(name):
    assert name in ENV.globals


@pytest.mark.parametrize("name", ["null", "empty", "even", "odd", "iterable", "map", "defined", "json",
                                  "startsWith", "endsWith"])
def test_test_registered(name):
    assert name in ENV.tests
