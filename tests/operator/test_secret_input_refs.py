"""The shapes of SECRET inputs on a cluster, pure (kflow.execution.secret_inputs,
kflow.operator.secret_inputs): what a reference must be, which Secret may be read, and what
a runner pod's spec carries. The real cluster paths: tests/cli/test_secret_inputs_cluster.py."""

from __future__ import annotations

import base64
import json

import pytest

from kflow.engine import RunTask
from kflow.execution.secret_inputs import INPUTS_OF, SecretInputError, references, secret_manifest, values_from
from kflow.masking import Masker
from kflow.operator.pods import pod_manifest
from kflow.operator.secret_inputs import mount, pod_invocation
from kflow.operator.settings import OperatorSettings
from kflow.runner.invocation import Invocation
from kflow.runner.secrets import fill_secret_inputs

REF = {"secretKeyRef": {"name": "e-inputs", "key": "pw"}}


@pytest.mark.parametrize("inputs, message", [
    ({"pw": "plain"}, "spec.inputs.pw: a SECRET input's value is not accepted in plain text"),
    ({"name": REF}, "spec.inputs.name: secretKeyRef is for SECRET inputs only"),
    ({"pw": {"secretKeyRef": {"name": "s"}}}, "spec.inputs.pw: expected {secretKeyRef: {name: SECRET, key: KEY}}"),
    ({"pw": {"secretKeyRef": "s", "extra": 1}}, "spec.inputs.pw: expected {secretKeyRef: {name: SECRET, key: KEY}}"),
])
def test_a_bad_secret_input_is_refused_naming_the_field(inputs, message):
    with pytest.raises(SecretInputError) as err:
        references(inputs, ["pw"], "spec.inputs")
    assert str(err.value).startswith(message)


def test_only_a_secret_written_for_the_execution_is_read():
    assert references({"pw": REF, "name": "x", "other": None}, ["pw", "other"], "spec.inputs") == {"pw": ("e-inputs", "pw")}
    written = secret_manifest("e-inputs", "e", {"pw": "Value-1\n"})
    assert written["metadata"]["annotations"] == {INPUTS_OF: "e"}
    assert values_from(written, "e", {"pw": ("e-inputs", "pw")}, "spec.inputs") == {"pw": "Value-1\n"}
    with pytest.raises(SecretInputError, match="was not written for this Execution: annotate it kflow.io/inputs-of=other"):
        values_from(written, "other", {"pw": ("e-inputs", "pw")}, "spec.inputs")
    with pytest.raises(SecretInputError, match="spec.inputs.pw: Secret 'e-inputs' has no key 'missing'"):
        values_from(written, "e", {"pw": ("e-inputs", "missing")}, "spec.inputs")
    bad = {**written, "data": {"pw": base64.b64encode(b"\xff").decode()}}
    with pytest.raises(SecretInputError, match="is not UTF-8 text"):
        values_from(bad, "e", {"pw": ("e-inputs", "pw")}, "spec.inputs")


def test_a_runner_pod_spec_carries_no_secret_input_and_its_runner_reads_the_mount(tmp_path):
    masker = Masker()
    masker.add("Value-of-pw-99")
    invocation = Invocation(executionId="e", taskRunId="TR1", namespace="n", flowId="f", secretInputs=["pw"],
                            task={"id": "t", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ inputs.pw }}"},
                            context={"inputs": {"pw": "Value-of-pw-99", "who": "me"}, "outputs": {"s": {"value": "was Value-of-pw-99"}}})
    shown = pod_invocation(invocation, masker)
    execution = {"metadata": {"name": "e", "namespace": "n", "uid": "u"}}
    manifest = pod_manifest(execution, RunTask("TR1", 0, "t", None), shown, OperatorSettings())
    mount(manifest, {"pw": ("e-inputs", "pw")}, shown)
    assert "Value-of-pw-99" not in json.dumps(manifest)
    assert shown.context == {"inputs": {"pw": None, "who": "me"}, "outputs": {"s": {"value": "was ******"}}}
    (volume,) = [v for v in manifest["spec"]["volumes"] if v["name"] == "secret-inputs"]
    assert volume["projected"]["sources"] == [{"secret": {"name": "e-inputs", "items": [{"key": "pw", "path": "pw"}]}}]
    runner = manifest["spec"]["containers"][0]
    assert {"name": "secret-inputs", "mountPath": "/var/run/kflow/inputs", "readOnly": True} in runner["volumeMounts"]
    (tmp_path / "pw").write_text("Value-of-pw-99")
    filled = fill_secret_inputs(shown, {"KFLOW_SECRET_INPUTS_DIR": str(tmp_path)})
    assert filled.context["inputs"] == {"pw": "Value-of-pw-99", "who": "me"}
