"""Whatever the template, render returns a str or raises ExpressionError."""

from hypothesis import given, settings
from hypothesis import strategies as st

from kflow.expr import ExpressionError, referenced_outputs, referenced_roots, render

CTX = {"inputs": {"a": 1, "s": "x", "l": [1, 2]}, "outputs": {"t": {"value": "v"}}}

_PIECES = st.sampled_from(
    ["{{", "}}", "{%", "%}", "{#", "#}", " ", "??", "???", "?", ":", "inputs", "outputs", ".", "a",
     "t", "value", "'", '"', "(", ")", "[", "]", "{", "}", "|", "upper", "default", "if", "else",
     "elseif", "endif", "for", "in", "endfor", "set", "=", "~", "1", "0", "..", "contains", "-",
     "+", "*", "/", ",", "is", "defined", "null", "not", "range", "\n", "s", "l", "x", "raw",
     "endraw", "verbatim", "date", "now", "()", "-}}", "{%-"]
)
TEMPLATES = st.lists(_PIECES, max_size=30).map("".join)


@settings(max_examples=600, deadline=None, database=None)
@given(TEMPLATES)
def test_render_never_crashes(template):
    try:
        out = render(template, CTX)
    except ExpressionError as e:
        assert isinstance(e.message, str) and e.message
        str(e)
    else:
        assert isinstance(out, str)
    roots = referenced_roots(template)
    assert isinstance(roots, set)
    outs = referenced_outputs(template)
    assert outs is None or isinstance(outs, set)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_text_without_markers_is_unchanged(text):
    if "{{" in text or "{%" in text:
        return
    assert render(text, {}) == text


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(alphabet=st.characters(blacklist_characters="{}%#\r"), max_size=50))
def test_any_text_around_expression(text):
    # (jinja normalizes \r and \r\n to \n in templates that contain an expression)
    assert render(text + "{{ inputs.a ?? 2 }}" + text, CTX) == text + "1" + text


def test_analysis_survives_an_unknown_filter():
    # found by the fuzz test above: jinja's code generator refuses unknown filters
    assert referenced_roots("{{ x | inputs }}") == {"x"}
    assert referenced_outputs("{{ outputs.a.b | nope }}") == {"a"}
