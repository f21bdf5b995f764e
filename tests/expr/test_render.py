import pytest

from kflow.expr import ExpressionError, render


@pytest.mark.parametrize(
    "template, expected",
    [
        ("plain text", "plain text"),
        ("{ not a template }", "{ not a template }"),
        ("{{ flow.id }}", "hello"),
        ("{{ flow.namespace }}/{{ flow.revision }}", "company.team/3"),
        ('{{ "First parallel task, task id > " ~ task.id }}', "First parallel task, task id > t1"),
        ("{{ outputs.t.value }}", "V"),
        ("{{ outputs['my-task'].value }}", "42"),
        ('{{ outputs["my-task"].value + 1 }}', "43"),
        ("{{ outputs.loop[taskrun.value].value }}", "B"),
        ("{{ outputs.loop['a'].value }}", "A"),
        ("{{ outputs.t.values.k }}", "v"),  # map key, not dict.values
        ("{{ parent.taskrun.value }}", "p"),
        ("{{ parents[0].taskrun.value }}", "p"),
        ("{{ inputs.list[1] }}", "b"),
        ("{{ inputs.nothing }}", ""),
        ("{{ true }}", "true"),
        ("{{ 1 == 1 }}", "true"),
        ("{{ 1 != 1 }}", "false"),
        ("{{ 10 / 4 }}", "2.5"),
        ("{{ 4 / 2 }}", "2.0"),
        ("{{ 7 % 3 }}", "1"),
        ("{{ 2 ** 10 }}", "1024"),
        ("{{ [1, 'a'] }}", '[1,"a"]'),
        ("{{ {'a': 1} }}", '{"a":1}'),
        ("{{ vars.obj }}", '{"x":1}'),
        ("{{ 'a' ~ true ~ null ~ 1 }}", "atrue1"),
        ("{{ vars.tmpl }}", "{{ inputs.name }}"),  # not recursive
        ("{{ taskrun.startDate }}", "2024-03-01T10:15:30.123Z"),
        ("{{ 'x' if inputs.n > 3 else 'y' }}", "x"),
        ("{{ inputs.n > 3 and not false }}", "true"),
        ("{{ inputs.n > 3 or false }}", "true"),
        ("{{ 'b' in inputs.list }}", "true"),
        ("{{ inputs.list contains 'b' }}", "true"),
        ("{{ inputs.list contains 'z' }}", "false"),
        ("{{ inputs.list contains ['a', 'b'] }}", "true"),
        ("{{ 'hello' contains 'ell' }}", "true"),
        ("{{ 'b' isIn inputs.list }}", "true"),
        ("{{ 1 equals 1 }}", "true"),
        ("{{ range(0, 3) }}", "[0,1,2,3]"),
        ("{{ range(3, 0, -1) }}", "[3,2,1,0]"),
        ("{{ range(2) }}", "[0,1,2]"),
        ("{% for i in 0..2 %}{{ i }}{% endfor %}", "012"),
        ("{% for i in range(1, 3) %}{{ loop.index }}:{{ i }} {% endfor %}", "0:1 1:2 2:3 "),
        ("{% for x in inputs.list %}{{ loop.first }}{% endfor %}", "truefalsefalse"),
        ("{% for k, v in outputs.loop %}{{ k }}={{ v.value }};{% endfor %}", "a=A;b=B;"),
        ("{% for e in outputs.loop %}{{ e.key }}{% endfor %}", "ab"),
        ("{% for x in [] %}x{% else %}empty{% endfor %}", "empty"),
        ("{% if inputs.n > 10 %}a{% elseif inputs.n > 3 %}b{% else %}c{% endif %}", "b"),
        ("{% if inputs.n > 10 %}a{% elif inputs.n > 3 %}b{% endif %}", "b"),
        ("{% set x = inputs.n * 2 %}{{ x }}", "10"),
        ("{% raw %}{{ not rendered }}{% endraw %}", "{{ not rendered }}"),
        ("{% verbatim %}{{ a ?? b }}{% endverbatim %}", "{{ a ?? b }}"),
        ("{# comment ?? #}{{ 'ok' }}", "ok"),
        ("{% macro hi(n) %}Hi {{ n }}{% endmacro %}{{ hi('Bob') }}", "Hi Bob"),
        ("{% filter upper %}abc{% endfilter %}", "ABC"),
        ("{{ inputs.n > 3 ? 'big' : 'small' }}", "big"),
        ("{{ inputs.n > 9 ? 'big' : inputs.n > 4 ? 'mid' : 'small' }}", "mid"),
        ("{% set s = inputs.n > 3 ? 'y' : 'n' %}{{ s }}", "y"),
        ("{{ max(1, 5, 3) }} {{ min([4, 2]) }}", "5 2"),
        ("{{ null }}", ""),
        ("{{ '?? in string' }}", "?? in string"),
        ("{{ \"a ? b : c\" }}", "a ? b : c"),
        ("line1\n{{ flow.id }}\n", "line1\nhello\n"),
        ("{{- ' x ' -}}  ", " x "),
    ],
)
def test_render(ctx, template, expected):
    assert render(template, ctx) == expected


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{ inputs.missing ?? 'd' }}", "d"),
        ("{{ inputs.nothing ?? 'd' }}", "d"),
        ("{{ inputs.empty ?? 'd' }}", ""),
        ("{{ inputs.name ?? 'd' }}", "World"),
        ("{{ inputs.a ?? outputs.t.value ?? 'x' }}", "V"),
        ("{{ inputs.a ?? outputs.zz.value ?? 'x' }}", "x"),
        ("{{ outputs.zz.value.deep[0].x ?? 'x' }}", "x"),
        ("{{ outputs['no-such'].value ?? 'x' }}", "x"),
        ("{{ undefinedvar ?? 'x' }}", "x"),
        ("{{ inputs.missing ?? inputs.n + 1 }}", "6"),  # ?? binds tighter than +
        ("{{ 'pre-' ~ inputs.missing ?? 'd' }}", "pre-d"),
        ("{{ inputs.missing ?? 'd' | upper }}", "D"),
        ("{{ inputs.missing ?? -1 }}", "-1"),
        ("{{ inputs.missing ?? now().year > 2000 }}", "true"),
        ("{{ (inputs.missing ?? 2) * 3 }}", "6"),
        ("{{ [inputs.missing ?? 1, inputs.n ?? 2] }}", "[1,5]"),
        ("{{ max(inputs.missing ?? 1, 0) }}", "1"),
        ("{% if inputs.missing ?? true %}yes{% endif %}", "yes"),
        ("{% set v = outputs.zz.value ?? outputs.t.value %}{{ v }}", "V"),
        ("{{ inputs.missing ??? 'd' }}", "d"),
        ("{{ inputs.nothing ??? 'd' }}", ""),
        ("{{ inputs.name ??? 'd' }}", "World"),
        ("{{ inputs.nothing ?? inputs.missing ??? 'z' }}", "z"),
        ("{{ trigger.date ?? execution.startDate | date('yyyy-MM-dd') }}", "2024-03-01"),
        ("{{ inputs.missing ?? '??' }}", "??"),
    ],
)
def test_null_coalescing(ctx, template, expected):
    assert render(template, ctx) == expected


def test_coalesce_does_not_evaluate_right_side(ctx):
    # secret() without a provider would fail: it must not be called
    assert render("{{ inputs.name ?? secret('X') }}", ctx) == "World"


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{ inputs.missing is defined }}", "false"),
        ("{{ inputs.missing is not defined }}", "true"),
        ("{{ outputs.zz.value is defined }}", "false"),
        ("{{ inputs.name is defined }}", "true"),
        ("{{ inputs.nothing is defined }}", "false"),  # Pebble: null is not "defined"
        ("{{ inputs.nothing is null }}", "true"),
        ("{{ inputs.missing is null }}", "true"),
        ("{{ inputs.name is null }}", "false"),
        ("{{ inputs.name is not null }}", "true"),
        ("{{ inputs.empty is empty }}", "true"),
        ("{{ [] is empty }}", "true"),
        ("{{ {} is empty }}", "true"),
        ("{{ inputs.list is empty }}", "false"),
        ("{{ 2 is even }}", "true"),
        ("{{ 3 is odd }}", "true"),
        ("{{ 3 is not even }}", "true"),
        ("{{ inputs.list is iterable }}", "true"),
        ("{{ 'abc' is iterable }}", "false"),
        ("{{ vars.obj is map }}", "true"),
        ("{{ inputs.list is map }}", "false"),
        ("{{ '{\"a\": 1}' is json }}", "true"),
        ("{{ 'nope' is json }}", "false"),
        ("{{ 'hello' is startsWith('he') }}", "true"),
        ("{{ 'hello' is endsWith('lo') }}", "true"),
        ("{{ 5 is number }}", "true"),
        ("{{ 'x' is string }}", "true"),
        ("{{ 6 is divisibleby(3) }}", "true"),
        ("{{ inputs.missing | default('d') }}", "d"),
        ("{{ outputs.zz.value | default('d') }}", "d"),
        ("{{ inputs.nothing | default('d') }}", "d"),
        ("{{ inputs.empty | default('d') }}", "d"),
        ("{{ inputs.name | default('d') }}", "World"),
        ("{{ 0 | default('d') }}", "0"),
    ],
)
def test_tests_and_default(ctx, template, expected):
    assert render(template, ctx) == expected


@pytest.mark.parametrize(
    "template, message",
    [
        ("{{ outputs.foo.value }}", "'outputs.foo' is undefined"),
        ("{{ outputs.t.nope }}", "'outputs.t.nope' is undefined"),
        ("{{ outputs['my-task'].nope }}", "'outputs['my-task'].nope' is undefined"),
        ("{{ outputs.loop[taskrun.value].nope }}", "'outputs.loop[taskrun.value].nope' is undefined"),
        ("{{ outputs.loop[inputs.name].value }}", "'outputs.loop.World' is undefined"),
        ("{{ inputs.list[10] }}", "'inputs.list[10]' is undefined"),
        ("{{ nope }}", "'nope' is undefined"),
        ("{{ nope.deeper.still }}", "'nope' is undefined"),
        ("{{ outputs.nul.value.x }}", "'outputs.nul.value.x' is undefined ('outputs.nul.value' is null)"),
        ("{{ 'a' ~ nope }}", "'nope' is undefined"),
        ("{{ outputs.foo.value | upper }}", "'outputs.foo' is undefined"),
        ("{% if outputs.foo.value %}x{% endif %}", "'outputs.foo' is undefined"),
        ("{% for x in outputs.foo.items %}x{% endfor %}", "'outputs.foo' is undefined"),
        ("{{ outputs.foo.value == 1 }}", "'outputs.foo' is undefined"),
        ("{{ nope + 1 }}", "'nope' is undefined"),
        ("{{ x | frobnicate }}", "unknown filter 'frobnicate'"),
        ("{{ x is frobnicated }}", "unknown test 'frobnicated'"),
        ("{{ frob(1) }}", "unknown function 'frob'"),
        ("{{ flow.id ", "syntax error at line 1"),
        ("{% if %}", "syntax error at line 1"),
        ("line\n{{ a ?? }}", "syntax error at line 2"),
        ("{% for x in 'abc' %}{% endfor %}", "cannot iterate over a string"),
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ '%s' % 1 }}", "not string formatting"),
        ("{{ secret('MY_TOKEN') }}", "MY_TOKEN"),
        ("{{ inputs.list.append(1) }}", "unsafe"),
        ("{{ ''.__class__ }}", "unsafe"),
    ],
)
def test_errors(ctx, template, message):
    with pytest.raises(ExpressionError) as info:
        render(template, ctx)
    err = info.value
    assert message in err.message
    assert err.expression == template
    assert err.property is None
    assert str(err).startswith("cannot render ")
    assert message in str(err)


def test_error_str_reads_well(ctx):
    with pytest.raises(ExpressionError) as info:
        render("{{ outputs.foo.value }}", ctx)
    assert str(info.value) == 'cannot render "{{ outputs.foo.value }}": \'outputs.foo\' is undefined'


def test_error_expression_truncated(ctx):
    template = "{{ nope }}" + "x" * 1000
    with pytest.raises(ExpressionError) as info:
        render(template, ctx)
    assert len(info.value.expression) <= 200


def test_error_is_exception_and_picklable(ctx):
    import pickle

    with pytest.raises(ExpressionError) as info:
        render("{{ nope }}", ctx)
    copy = pickle.loads(pickle.dumps(info.value))
    assert copy.message == info.value.message and copy.expression == info.value.expression


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{ secret('TOKEN') }}", "s3cr3t"),
        ("Bearer {{ secret('TOKEN') | trim }}", "Bearer s3cr3t"),
    ],
)
def test_secret(ctx, template, expected):
    assert render(template, ctx, secret=lambda name: {"TOKEN": " s3cr3t "}[name].strip() if name == "TOKEN" else None) == expected


def test_secret_missing_names_it(ctx):
    with pytest.raises(ExpressionError) as info:
        render("{{ secret('OTHER') }}", ctx, secret=lambda name: {}[name])
    assert "OTHER" in info.value.message


def test_render_function(ctx):
    assert render("{{ render(vars.tmpl) }}", ctx) == "World"
    assert render("{{ render('{{ render(vars.tmpl) }}') }}", ctx) == "World"
    assert render("{{ render(inputs.n) }}", ctx) == "5"
    assert render("{{ renderOnce(vars.tmpl) }}", ctx) == "World"


def test_render_function_error(ctx):
    with pytest.raises(ExpressionError) as info:
        render("{{ render('{{ nope }}') }}", ctx)
    assert "'nope' is undefined" in info.value.message


def test_render_function_depth_capped():
    ctx = {"a": "{{ render(a) }}"}
    with pytest.raises(ExpressionError) as info:
        render("{{ render(a) }}", ctx)
    assert "render()" in info.value.message


def test_now_and_print_context(ctx):
    import datetime as dt

    out = render("{{ now() }}", ctx)
    assert out.endswith("Z") and out.startswith(str(dt.datetime.now(dt.timezone.utc).year))
    assert render("{{ now(timeZone='Europe/Paris') | date('XXX') }}", ctx) in ("+01:00", "+02:00")
    assert len(render("{{ now(format='sql_milli') }}", ctx)) == 23
    import json

    printed = json.loads(render("{{ printContext() }}", ctx))
    assert printed["flow"]["id"] == "hello"


def test_context_is_not_mutated(ctx):
    with pytest.raises(ExpressionError):
        render("{% set _ = inputs.list.append('x') %}", ctx)
    assert ctx["inputs"]["list"] == ["a", "b", "c"]


def test_non_string_template_rejected(ctx):
    with pytest.raises(TypeError):
        render(123, ctx)  # type: ignore[arg-type]


def test_newline_after_block_tag_is_trimmed():
    # Pebble's newLineTrimming (default on): a newline right after {% %} is dropped
    template = "{% for x in l %}\necho {{ x }}\n{% endfor %}\ndone\n"
    assert render(template, {"l": ["a", "b"]}) == "echo a\necho b\ndone\n"


def test_secret_values_are_masked_in_errors():
    with pytest.raises(ExpressionError) as info:
        render("{{ secret('A') | number }}", {}, secret=lambda n: "hunter2")
    assert "hunter2" not in str(info.value)
    assert "******" in info.value.message


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{ 'x' | raw }}", "x"),
        ("{{ '12.3' | number | className }}", "java.lang.Double"),
        ("{{ 'a' | className }}", "java.lang.String"),
    ],
)
def test_misc_filters(template, expected):
    assert render(template, {}) == expected


def test_property_set_after_raise_survives_pickle():
    import pickle

    err = ExpressionError("{{ x }}", "boom")
    err.property = "a.b"
    copy = pickle.loads(pickle.dumps(err))
    assert copy.property == "a.b" and str(copy) == str(err)


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{ inputs.n is defined ? 'y' : 'n' }}", "y"),
        ("{{ inputs.missing ?? 0 ? 'a' : 'b' }}", "b"),
        ("{%- if inputs.missing ?? true -%} ok {%- endif -%}", "ok"),
        ("{{ [{'values': 1}, {'values': 2}] | map(attribute='values') | join(',') }}", "1,2"),
        ("{{ 0.1 + 0.2 }}", "0.30000000000000004"),
        ("{{ outputs.t.values | keys }}", '["k"]'),
    ],
)
def test_more_syntax(ctx, template, expected):
    assert render(template, ctx) == expected


def test_uuid_and_id():
    import re

    assert re.fullmatch(r"[0-9a-f-]{36}", render("{{ uuid() }}", {}))
    assert re.fullmatch(r"[0-9A-Za-z]{22}", render("{{ id() }}", {}))
    assert render("{{ uuid() }}", {}) != render("{{ uuid() }}", {})


def test_random_int():
    assert 1 <= int(render("{{ randomInt(1, 10) }}", {})) < 10
