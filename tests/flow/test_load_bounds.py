"""Bad flow documents and input values (issue 12): each is exit 2 with one line naming the
field, never a traceback — through the API `kflow run` uses, and through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kflow.flow import FlowError, load_flow
from kflow.flow.bounds import MAX_DOCUMENT_BYTES
from kflow.flow.inputs import InputsError, resolve_inputs

ROOT = Path(__file__).parents[2]
TASKS = "tasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: hi}\n"
BASE = "id: x\nnamespace: n\n" + TASKS


def _laughs(levels: int) -> str:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "variables:\n" + "".join(f"  {line}\n" for line in lines)


BAD_FLOWS = [
    (_laughs(9) + BASE, "variables.l5", "aliases expand to more than 1000000 nodes"),
    ("variables: {x: " + "[" * 5000 + "]" * 5000 + "}\n" + BASE, "", "nested deeper than 100 levels"),
    ("variables: {x: &a [*a]}\n" + BASE, "variables.x[0]", "self-referencing alias"),
    ("variables: {x: &a {b: *a}}\n" + BASE, "variables.x.b", "self-referencing alias"),
    ("variables: {x: " + "9" * 5000 + "}\n" + BASE, "variables.x", "an integer of 5000 digits"),
    ("variables: {d: 2024-13-45}\n" + BASE, "variables.d", "is not a valid date"),
    (BASE + "id: y\n", "id", "duplicate key 'id'"),
    ("labels: [a, b]\n" + BASE, "labels", "list of {key, value}"),
    ("pluginDefaults: 3\n" + BASE, "pluginDefaults", "expected a list"),
    ("pluginDefaults: [{type: io.kestra, values: 3}]\n" + BASE, "pluginDefaults[0].values", "expected a mapping"),
    ("concurrency: {limit: -1, behavior: MAYBE}\n" + BASE, "concurrency", "at least 1"),
    (BASE.replace("message: hi", "message: hi, timeout: PT99999999999999999999H"), "tasks[0].timeout", "36525-day bound"),
]


@pytest.mark.parametrize("text, path, words", BAD_FLOWS)
def test_bad_documents_name_the_field(text, path, words):
    with pytest.raises(FlowError) as info:
        load_flow(text)
    message = str(info.value)
    assert "\n" not in message and words in message, message
    assert [p.path for p in info.value.problems] == [path], info.value.problems


def test_the_shared_nodes_of_an_alias_bomb_are_never_expanded():
    """Ten levels of ten: 10^10 nodes once expanded, refused after visiting each of its ~100 nodes once."""
    with pytest.raises(FlowError) as info:
        load_flow(_laughs(10) + BASE)
    assert "aliases expand to more than 1000000 nodes" in str(info.value)


def test_aliases_within_the_bounds_still_load():
    flow = load_flow("variables: {a: &a {k: v}, b: *a, c: [*a, *a]}\n" + BASE)
    assert flow.variables["c"] == [{"k": "v"}, {"k": "v"}]


INPUTS = """id: x
namespace: n
inputs:
  - {id: i, type: INT, required: false}
  - {id: d, type: DURATION, required: false}
  - {id: j, type: JSON, required: false}
  - {id: y, type: YAML, required: false}
  - {id: a, type: ARRAY, itemType: STRING, required: false}
  - {id: s, type: STRING, required: false}
  - {id: sec, type: SECRET, required: false}
  - {id: f, type: FILE, required: false}
""" + TASKS

BAD_INPUTS = [
    ({"i": "9" * 5000}, "i", "more than 4300 digits"),
    ({"d": "PT" + "9" * 5000 + "H"}, "d", "digits"),
    ({"d": "P99999999999999999999D"}, "d", "out of range"),
    ({"j": "[" * 3000 + "]" * 3000}, "j", "nested"),
    ({"j": "[" * 150 + "]" * 150}, "j", "nested deeper than 100 levels"),
    ({"y": "a: &a [*a]"}, "y", "self-referencing alias"),
    ({"y": "a: " + "[" * 3000}, "y", "nested deeper than 100 levels"),
    ({"a": "[" * 3000 + "]" * 3000}, "a", "nested"),
    ({"s": "a\udcff"}, "s", "not valid Unicode text"),
    ({"sec": "\ud800"}, "sec", "not valid Unicode text"),
    ({"f": "kestra:///../../etc/passwd"}, "f", "'..' path segments"),
]


@pytest.mark.parametrize("given_value, field, words", BAD_INPUTS)
def test_bad_inputs_name_the_input(given_value, field, words):
    flow = load_flow(INPUTS)
    with pytest.raises(InputsError) as info:
        resolve_inputs(flow.inputs, given_value)
    assert [p.input for p in info.value.problems] == [field]
    assert words in str(info.value) and "\n" not in str(info.value), str(info.value)


# -- property: whatever the document or the values, a FlowError/InputsError or a flow ----------
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
    st.sampled_from(["2024-13-45", "PT99999999999999999999H", "kestra:///../x", "9" * 4400, "&a", "*a", "\udcff", "{{ x }}"]),
)
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
_keys = st.sampled_from(["id", "namespace", "tasks", "inputs", "labels", "pluginDefaults", "concurrency", "variables", "outputs", "timeout", "type", "triggers", "errors"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _values, max_size=6))
def test_any_flow_mapping_loads_or_names_its_problem(document):
    import yaml

    try:
        text = yaml.safe_dump({"id": "x", "namespace": "n", "tasks": [{"id": "a", "type": "io.kestra.plugin.core.log.Log", "message": "m"}], **document}, allow_unicode=True)
    except (yaml.YAMLError, UnicodeEncodeError, ValueError):
        return  # not representable as YAML text
    try:
        load_flow(text)
    except FlowError as err:
        assert err.problems and all(isinstance(p.message, str) and p.message for p in err.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(list("[]{}:&*!|>-, \n'\"#%@`9aZ\t") + ["2024-13-45", "<<: *a", "&a ", "*a", "\udcff"]), max_size=40).map("".join))
def test_any_yaml_text_loads_or_names_its_problem(text):
    try:
        load_flow(text)
    except FlowError as err:
        assert err.problems


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["i", "d", "j", "y", "a", "s", "sec", "f"]), _values, max_size=4))
def test_any_input_values_resolve_or_name_the_input(given_values):
    flow = load_flow(INPUTS)
    try:
        resolve_inputs(flow.inputs, given_values)
    except InputsError as err:
        assert err.problems and all(p.input in given_values for p in err.problems)


# -- the real CLI ----------------------------------------------------------------------------------
def _kflow_run(tmp_path: Path, content: bytes, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "flow.yaml"
    path.write_bytes(content)
    return subprocess.run([sys.executable, "-m", "kflow", "run", str(path), "--plain", *args], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, errors="replace")


@pytest.mark.parametrize("content, words", [
    (BASE.encode("utf-16"), "is UTF-16 text"),
    (BASE.encode() + b"variables: {x: \xff}\n", "not UTF-8 text (byte 0xff on line 5)"),
    ((_laughs(9) + BASE).encode(), "aliases expand to more than"),
    (b"variables: {x: 2024-13-45}\n" + BASE.encode(), "variables.x: '2024-13-45' is not a valid date"),
    (BASE.encode() + b"id: y\n", "id: duplicate key 'id'"),
    (BASE.replace("message: hi", "message: hi, timeout: PT99999999999999999999H").encode(), "tasks[0].timeout"),
    (b"# " + b"x" * (MAX_DOCUMENT_BYTES + 10) + b"\n" + BASE.encode(), f"over the {MAX_DOCUMENT_BYTES}-byte bound"),
])
def test_kflow_run_refuses_bad_files_in_one_line(tmp_path, content, words):
    proc = _kflow_run(tmp_path, content)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert words in proc.stderr, proc.stderr


@pytest.mark.parametrize("pair, words", [
    ("i=" + "9" * 5000, "input 'i' (INT): an integer of more than 4300 digits"),
    ("j=" + "[" * 3000 + "]" * 3000, "input 'j' (JSON)"),
    ("f=kestra:///../../etc/passwd", "input 'f' (FILE)"),
])
def test_kflow_run_refuses_bad_inputs_in_one_line(tmp_path, pair, words):
    proc = _kflow_run(tmp_path, INPUTS.encode(), "--input", pair)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert words in proc.stderr, proc.stderr


def test_kflow_run_refuses_non_utf8_input_bytes(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text(INPUTS)
    proc = subprocess.run([sys.executable.encode(), b"-m", b"kflow", b"run", str(path).encode(), b"--input", b"s=a\xffb"],
                          capture_output=True, timeout=120, cwd=tmp_path)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr and "input 's' (STRING): not valid Unicode text" in stderr, stderr
