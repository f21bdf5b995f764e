import pytest

from kflow.expr import referenced_outputs, referenced_roots


@pytest.mark.parametrize(
    "value, expected",
    [
        ("no template", set()),
        ("{{ outputs.a.value }}", {"a"}),
        ("{{ outputs['my-task'].value }}", {"my-task"}),
        ('{{ outputs["b"].uri }} and {{ outputs.c }}', {"b", "c"}),
        ("{{ outputs.loop[taskrun.value].value }}", {"loop"}),
        ("{{ inputs.x ?? outputs.t.value ?? 'd' }}", {"t"}),
        ("{% if outputs.a.value == 1 %}{{ outputs.b.value }}{% endif %}", {"a", "b"}),
        ("{{ outputs.a.value | default(outputs.b.value) }}", {"a", "b"}),
        ({"k": ["{{ outputs.a.value }}", {"{{ outputs.b.value }}": "{{ outputs.c.x }}"}]}, {"a", "b", "c"}),
        (["x", 1, None, {"y": 2}], set()),
        ("{{ render('{{ outputs.z.value }}') }}", {"z"}),
        ("{{ inputs.a }}", set()),
        ("{% for x in outputs.each.values %}{{ x }}{% endfor %}", {"each"}),
        # cannot tell
        ("{{ outputs[inputs.task].value }}", None),
        ("{{ outputs }}", None),
        ("{{ outputs | toJson }}", None),
        ("{% for k, v in outputs %}{{ k }}{% endfor %}", None),
        ("{{ render(vars.tmpl) }}", None),
        ("{{ printContext() }}", None),
        ("{% set outputs = {} %}{{ outputs.a }}", None),
        ("{{ outputs.a ", None),  # syntax error
        (["{{ outputs.a.value }}", "{{ outputs[x] }}"], None),
    ],
)
def test_referenced_outputs(value, expected):
    assert referenced_outputs(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("plain", set()),
        ("{{ flow.id }}-{{ inputs.a }}", {"flow", "inputs"}),
        ("{{ outputs.t.value ?? vars.x }}", {"outputs", "vars"}),
        ("{% set y = labels.team %}{{ y }}", {"labels"}),
        ("{% for i in range(0, 3) %}{{ i }}{{ loop.index }}{% endfor %}", set()),
        ("{{ now() | date('yyyy') }} {{ secret('X') }}", set()),
        ("{{ trigger.date ?? execution.startDate }}", {"trigger", "execution"}),
        ({"{{ envs.foo }}": ["{{ taskrun.value }}", "{{ parent.taskrun.value }}"]}, {"envs", "taskrun", "parent"}),
        ("{{ render('{{ inputs.z }}') }}", {"inputs"}),
        ("{{ null }}", set()),
        ("{{ broken ", set()),
    ],
)
def test_referenced_roots(value, expected):
    assert referenced_roots(value) == expected
