"""SECRET inputs on the real test cluster (issue 12, point 4): `kflow execute` puts the value in a
Secret the Execution owns and only a reference in `spec.inputs`; the operator reads it at start
and again after a restart (status.inputs shows ******), the runner pod gets it from a mount, not
from its spec. The value is in no Execution (spec, status, archived chunks), pod spec, Event,
`kflow get -o yaml|json`, `kflow describe`, `kflow logs`, `kflow gantt` or the web UI; a plain value written by hand, or a
reference to a Secret not written for the Execution, is refused naming the field."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest

from kflow.execution.status import taskruns_by_id
from tests.cli.conftest import ROOT, CliEnv
from tests.cli.test_commands import ok
from tests.operator.support import taskruns
from tests.operator.test_triggers import UPSTREAM
from tests.ui.conftest import free_port

pytestmark = pytest.mark.cluster
VALUE = "Cluster-Input-Pass-4711"
RETURN = "io.kestra.plugin.core.debug.Return"
FLOW = f"""
id: secret-in
namespace: t
inputs:
  - {{id: password, type: SECRET}}
  - {{id: who, type: STRING, defaults: someone}}
tasks:
  - {{id: log, type: io.kestra.plugin.core.log.Log, message: "pw is {{{{ inputs.password }}}}"}}
  - {{id: check, type: {RETURN}, format: "{{{{ inputs.password | sha256 }}}}"}}
  - {{id: wait, type: io.kestra.plugin.core.flow.Pause}}
  - {{id: after, type: {RETURN}, format: "{{{{ inputs.password | sha256 }}}}"}}
  - id: choose
    type: io.kestra.plugin.core.flow.Switch
    value: "{{{{ inputs.password }}}}"
    cases:
      other: [{{id: never, type: {RETURN}, format: x}}]
"""


@pytest.fixture
def env(cluster, k8s_namespace, operator_factory, kflow) -> CliEnv:
    # Chunks of 2: finished task runs move into status.archive, which must not hold it either.
    return CliEnv(str(cluster.kubeconfig), k8s_namespace, operator_factory(KFLOW_STATUS_CHUNK_SIZE="2"), kflow)


def _everything_shown(env: CliEnv, name: str) -> str:
    """All a user who may read Executions, pods and Events sees of this execution."""
    body = env.kflow.get("executions", name)
    chunks = [gzip.decompress(base64.b64decode(c)).decode() for c in ((body.get("status") or {}).get("archive") or {}).values() if c]
    pods = [env.kflow.core.api_client.sanitize_for_serialization(p) for p in env.kflow.pods(name)]
    events = [e.message for e in env.kflow.events(name)]
    return "\n".join([json.dumps(body), *chunks, json.dumps(pods), *events])


def test_a_secret_input_is_never_in_plain_text_on_the_cluster(env):
    env.kflow.apply_flow(FLOW)
    env.kflow.wait_flow("secret-in")
    name = ok(env.run("execute", "secret-in", "-i", f"password={VALUE}")).splitlines()[0]
    body = env.kflow.get("executions", name)
    assert body["spec"]["inputs"]["password"] == {"secretKeyRef": {"name": f"{name}-inputs", "key": "password"}}
    secret = env.kflow.core.read_namespaced_secret(f"{name}-inputs", env.namespace)
    assert [(o.kind, o.name, o.uid) for o in secret.metadata.owner_references] == [("Execution", name, body["metadata"]["uid"])]

    paused = env.kflow.wait(name, timeout=240, until=lambda e: (e.get("status") or {}).get("current") == "PAUSED")
    assert paused["status"]["inputs"] == {"password": "******", "who": "someone"}
    digest = hashlib.sha256(VALUE.encode()).hexdigest()
    assert taskruns(paused)["check"]["outputs"] == {"value": digest}, "the runner read the value from its mount"
    (pod,) = [p for p in env.kflow.pods(name) if p.metadata.labels["kflow.io/task"] == "check"]
    invocation = json.loads(next(e.value for e in pod.spec.containers[0].env if e.name == "KFLOW_INVOCATION"))
    assert invocation["context"]["inputs"]["password"] is None
    assert [s.secret.name for v in pod.spec.volumes if v.projected for s in v.projected.sources] == [f"{name}-inputs"]

    # A restarted operator reloads it from the Secret, not from status.inputs (******).
    env.operator.stop()
    env.operator.start()
    ok(env.run("resume", name))
    final = env.kflow.wait(name, timeout=240)
    assert final["status"]["current"] == "FAILED"
    by_task = {tr["taskId"]: tr for tr in taskruns_by_id(final["status"]).values()}
    assert by_task["after"]["outputs"] == {"value": digest}, "after a reload the pod still got the real value"
    assert "'******' matches no case" in by_task["choose"]["attempts"][-1]["reason"]
    assert final["status"].get("archive"), "finished task runs were archived"

    shown = _everything_shown(env, name)
    assert "'******' matches no case" in shown  # the Event of the Switch's failure
    for args in (("get", "executions", name, "-o", "yaml"), ("get", "executions", name, "-o", "json"),
                 ("describe", "execution", name), ("logs", name), ("gantt", name)):
        shown += ok(env.run(*args))
    assert "pw is ******" in shown
    assert VALUE not in shown

    # A replay from `after` reads the original's Secret (its status shows ****** too).
    env.kflow.execute("secret-in", "replayed", replay={"execution": name, "taskRunId": by_task["after"]["id"]})
    replayed = env.kflow.wait("replayed", timeout=240)
    rerun = {tr["taskId"]: tr for tr in taskruns_by_id(replayed["status"]).values()}
    assert rerun["after"]["outputs"] == {"value": digest} and replayed["status"]["inputs"]["password"] == "******"
    assert VALUE not in _everything_shown(env, "replayed")


def test_a_plain_or_borrowed_secret_input_is_refused_naming_the_field(env):
    env.kflow.apply_flow(FLOW)
    env.kflow.wait_flow("secret-in")
    env.kflow.execute("secret-in", "plain", {"password": VALUE})
    failed = env.kflow.wait("plain")
    assert failed["status"]["current"] == "FAILED"
    assert failed["status"]["error"].startswith("spec.inputs.password: a SECRET input's value is not accepted in plain text")
    assert "secretKeyRef" in failed["status"]["error"]

    # A Secret not written for this Execution (no kflow.io/inputs-of naming it) is not read.
    env.kflow.core.create_namespaced_secret(env.namespace, {"metadata": {"name": "someone-elses"}, "stringData": {"pw": VALUE}})
    env.kflow.execute("secret-in", "borrowed", {"password": {"secretKeyRef": {"name": "someone-elses", "key": "pw"}}})
    refused = env.kflow.wait("borrowed")
    assert refused["status"]["current"] == "FAILED"
    assert refused["status"]["error"] == ("spec.inputs: Secret 'someone-elses' was not written for this Execution: "
                                          "annotate it kflow.io/inputs-of=borrowed (kflow execute does)")
    assert VALUE not in _everything_shown(env, "borrowed")
    plain = env.kflow.get("executions", "plain")
    assert plain["spec"]["inputs"]["password"] == VALUE, "where its writer put it, and nowhere else:"
    assert VALUE not in json.dumps(plain["status"]) + "".join(e.message for e in env.kflow.events("plain")) and not env.kflow.pods("plain")


CHILD = f"""
id: child
namespace: t
inputs:
  - {{id: token, type: SECRET}}
tasks:
  - {{id: digest, type: {RETURN}, format: "{{{{ inputs.token | sha256 }}}}"}}
outputs:
  - {{id: digest, type: STRING, value: "{{{{ outputs.digest.value }}}}"}}
"""
PARENT = """
id: parent
namespace: t
inputs:
  - {id: password, type: SECRET}
tasks:
  - {id: call, type: io.kestra.plugin.core.flow.Subflow, namespace: t, flowId: child, inputs: {token: "{{ inputs.password }}"}}
"""


def test_a_subflow_gets_a_secret_input_through_a_secret_of_its_own(env):
    env.kflow.apply_flow(CHILD)
    env.kflow.apply_flow(PARENT)
    env.kflow.wait_flow("child")
    env.kflow.wait_flow("parent")
    name = ok(env.run("execute", "parent", "-i", f"password={VALUE}")).splitlines()[0]
    parent = env.kflow.wait(name, timeout=240)
    assert parent["status"]["current"] == "SUCCESS", parent["status"]
    outputs = taskruns(parent)["call"]["outputs"]
    assert outputs["outputs"] == {"digest": hashlib.sha256(VALUE.encode()).hexdigest()}
    child = env.kflow.get("executions", [e for e in env.kflow.custom.list_namespaced_custom_object(
        "kflow.io", "v1alpha1", env.namespace, "executions")["items"] if e["spec"]["flowRef"]["name"] == "child"][0]["metadata"]["name"])
    secret_name = child["spec"]["inputs"]["token"]["secretKeyRef"]["name"]
    secret = env.kflow.core.read_namespaced_secret(secret_name, env.namespace)
    assert [o.name for o in secret.metadata.owner_references] == [name], "owned by the parent, which owns the child"
    assert VALUE not in _everything_shown(env, name) + _everything_shown(env, child["metadata"]["name"])


APPROVAL = f"""
id: approval
namespace: t
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - {{id: code, type: SECRET}}
      - {{id: note, type: STRING, defaults: none}}
  - {{id: after, type: {RETURN}, format: "code {{{{ outputs.wait.onResume.code }}}} note {{{{ outputs.wait.onResume.note }}}}"}}
"""


def test_a_secret_resume_input_goes_through_a_secret_and_shows_masked(env):
    env.kflow.apply_flow(APPROVAL)
    env.kflow.wait_flow("approval")
    name = ok(env.run("execute", "approval")).splitlines()[0]
    env.kflow.wait(name, timeout=120, until=lambda e: (e.get("status") or {}).get("current") == "PAUSED")
    ok(env.run("resume", name, "-i", f"code={VALUE}", "-i", "note=fine"))
    body = env.kflow.get("executions", name)
    assert body["spec"]["resumeInputs"] == {"code": {"secretKeyRef": {"name": f"{name}-resume-1", "key": "code"}}, "note": "fine"}
    final = env.kflow.wait(name, timeout=240)
    assert final["status"]["current"] == "SUCCESS", final["status"]
    assert taskruns(final)["wait"]["outputs"]["onResume"] == {"code": "******", "note": "fine"}
    assert taskruns(final)["after"]["outputs"] == {"value": "code ****** note fine"}
    assert VALUE not in _everything_shown(env, name)


def test_a_flow_trigger_gives_a_secret_input_through_a_secret(env):
    env.kflow.apply_flow(UPSTREAM)
    env.kflow.apply_flow("""
id: transform
namespace: company.team
inputs:
  - {id: source, type: SECRET}
tasks:
  - {id: seen, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs.source | sha256 }}"}
triggers:
  - id: after-extract
    type: io.kestra.plugin.core.trigger.Flow
    inputs: {source: "{{ outputs.final.value }}-secret"}
    preconditions:
      id: upstream
      flows: [{namespace: company.team, flowId: extract, states: [SUCCESS]}]
""")
    env.kflow.wait_flow("extract")
    env.kflow.wait_flow("transform")
    env.kflow.execute("extract", "extract-1")
    upstream = env.kflow.wait("extract-1", timeout=120)
    value = f"rows-{upstream['status']['id']}-secret"
    name = f"transform-after-extract-{upstream['status']['id'].lower()}"
    downstream = env.kflow.wait(name, timeout=240, until=lambda e: (e.get("status") or {}).get("current") in ("SUCCESS", "FAILED"))
    assert downstream["status"]["current"] == "SUCCESS", downstream["status"]
    assert taskruns(downstream)["seen"]["outputs"] == {"value": hashlib.sha256(value.encode()).hexdigest()}
    assert downstream["spec"]["inputs"]["source"] == {"secretKeyRef": {"name": f"{name}-inputs", "key": "source"}}
    secret = env.kflow.core.read_namespaced_secret(f"{name}-inputs", env.namespace)
    assert [o.uid for o in secret.metadata.owner_references] == [downstream["metadata"]["uid"]]
    assert value not in _everything_shown(env, name)


def test_the_web_ui_execute_form_puts_a_secret_input_in_a_secret(env):
    env.kflow.apply_flow(f"""
id: form
namespace: t
inputs:
  - {{id: password, type: SECRET}}
tasks:
  - {{id: check, type: {RETURN}, format: "{{{{ inputs.password | sha256 }}}}"}}
""")
    env.kflow.wait_flow("form")
    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "kflow.cli.main", "ui", "-n", env.namespace, "--port", str(port)], cwd=ROOT,
                          env={**os.environ, "KUBECONFIG": env.kubeconfig}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", ui.stdout.readline()).group(0)
        request = urllib.request.Request(f"{url}/api/flows/{env.namespace}/form/execute", method="POST",
                                         data=json.dumps({"inputs": {"password": VALUE}}).encode(),
                                         headers={"X-Kflow-UI": "1", "Content-Type": "application/json"})
        name = json.loads(urllib.request.urlopen(request, timeout=60).read())["name"]
        final = env.kflow.wait(name, timeout=240)
        assert taskruns(final)["check"]["outputs"] == {"value": hashlib.sha256(VALUE.encode()).hexdigest()}
        assert final["spec"]["inputs"]["password"] == {"secretKeyRef": {"name": f"{name}-inputs", "key": "password"}}
        page = urllib.request.urlopen(f"{url}/api/executions/{env.namespace}/{name}", timeout=60).read().decode()
        assert json.loads(page)["inputs"] == {"password": "******"}
        assert VALUE not in page + _everything_shown(env, name)
    finally:
        ui.terminate()
        ui.wait(10)
