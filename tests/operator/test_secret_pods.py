"""Secrets on a cluster reach only the task that names them: the pod mounts only the keys its
task names, in the runner container only; every script runs in a container of its own (no
shared process namespace) without the storage credentials. The manifest tests are pure; the
probe runs in real pods on the test cluster."""

from __future__ import annotations

import hashlib
import json

import pytest

from kflow.engine import RunTask
from kflow.operator.pods import pod_manifest
from kflow.operator.settings import OperatorSettings
from kflow.runner.invocation import Invocation
from tests.cluster.images import PROJECT_IMAGE
from tests.operator.support import taskruns
from tests.operator.test_files import STORAGE_BUCKET, servers  # noqa: F401 - the S3 server fixture
from tests.servers.fixtures import GUIDE_ACCESS_KEY, GUIDE_REGION, GUIDE_SECRET_KEY

EXECUTION = {"metadata": {"name": "e", "namespace": "team-a", "uid": "u-1"}}
SETTINGS = {"secrets_secret": "flow-secrets", "storage_s3_credentials_secret": "storage-credentials"}
MINE, OTHER = "mine-Secret-c0ffee", "other-Secret-5eed"


def manifest(task: dict, **settings) -> dict:
    from kflow.flow.load import parse_task

    invocation = Invocation(executionId="e", taskRunId="TR1", namespace="n", flowId="f", task=task, context={})
    return pod_manifest(EXECUTION, RunTask("TR1", 0, task["id"], None), invocation, OperatorSettings(**{**SETTINGS, **settings}), parse_task(task, "t"))


def test_only_the_named_keys_are_mounted_and_only_in_the_runner_container():
    body = manifest({"id": "t", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ secret('MINE') }} {{ secret(inputs.x) }} {{ secret('../x') }}"})
    (volume,) = [v for v in body["spec"]["volumes"] if v["name"] == "secrets"]
    assert volume["secret"]["items"] == [{"key": "MINE", "path": "MINE"}]  # not computed, not a bad key
    assert "initContainers" not in body["spec"]  # no script: no script container


def test_a_task_naming_no_secret_gets_no_secrets_mount():
    body = manifest({"id": "t", "type": "io.kestra.plugin.core.debug.Return", "format": "plain"})
    assert all(v["name"] != "secrets" for v in body["spec"]["volumes"])
    runner = body["spec"]["containers"][0]
    assert "KFLOW_SECRETS_DIR" not in {e["name"] for e in runner["env"]}


@pytest.mark.parametrize("image", [None, "localhost/kflow-test:busybox"])
def test_every_script_runs_in_a_container_without_credentials_or_secrets(image):
    task = {"id": "t", "type": "io.kestra.plugin.scripts.shell.Commands", "commands": ["echo {{ secret('MINE') }}"]}
    if image:
        task["containerImage"] = image
    spec = manifest(task, image="localhost/kflow:x")["spec"]
    (script,) = spec["initContainers"]
    assert script["image"] == (image or "localhost/kflow:x") and script["restartPolicy"] == "Always"
    assert [e["name"] for e in script["env"]] == ["KFLOW_SCRIPT_CONTAINER_DIR"]
    assert [m["name"] for m in script["volumeMounts"]] == ["tmp"]
    assert "shareProcessNamespace" not in spec
    runner = spec["containers"][0]
    refs = [e for e in runner["env"] if "valueFrom" in e]
    assert {e["name"] for e in refs} == {"KFLOW_STORAGE_ACCESS_KEY_ID", "KFLOW_STORAGE_SECRET_ACCESS_KEY"}
    assert "secrets" in [m["name"] for m in runner["volumeMounts"]]
    assert runner["command"][:2] == ["python", "-I"]  # the shared /tmp is never on the runner's import path


def test_a_working_directory_of_scripts_gets_a_script_container():
    task = {"id": "wd", "type": "io.kestra.plugin.core.flow.WorkingDirectory", "tasks": [
        {"id": "a", "type": "io.kestra.plugin.scripts.shell.Commands", "commands": ["true"]},
        {"id": "b", "type": "io.kestra.plugin.core.debug.Return", "format": "x"},
    ]}
    assert manifest(task, image="localhost/kflow:x")["spec"]["initContainers"][0]["image"] == "localhost/kflow:x"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# Looks for the values by hash only, so its own text cannot match: the environment of every
# process it can see, command lines, the secrets mount (its own and through /proc/1/root) and
# every file under /tmp.
PROBE = r"""
import hashlib, json, os
targets = json.loads(os.environ["TARGETS"])
found, looked = set(), 0
def check(blob, where):
    for part in blob.replace(b"\n", b"\0").split(b"\0"):
        for piece in {part, part.split(b"=", 1)[-1], part.strip()}:
            for name, digest in targets.items():
                if hashlib.sha256(piece).hexdigest() == digest:
                    found.add(f"{name} in {where}")
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for what in ("environ", "cmdline"):
            try:
                blob = open(f"/proc/{pid}/{what}", "rb").read()
                looked += 1
            except OSError:
                continue
            check(blob, f"/proc/{pid}/{what}")
for root in ("/var/run/kflow/secrets", "/proc/1/root/var/run/kflow/secrets", "/tmp", "/proc/1/root/tmp"):
    for base, dirs, files in os.walk(root):
        for name in files:
            try:
                check(open(os.path.join(base, name), "rb").read(), os.path.join(base, name))
                looked += 1
            except OSError:
                pass
mounted = os.path.exists("/var/run/kflow/secrets") or os.path.exists("/proc/1/root/var/run/kflow/secrets")
mine = hashlib.sha256(os.environ["TOKEN"].encode()).hexdigest() == os.environ["MINE_SHA"]
print("::" + json.dumps({"outputs": {"found": sorted(found), "looked": looked, "mounted": mounted, "mine": mine}}) + "::")
"""


@pytest.mark.cluster
def test_a_script_in_a_runner_pod_reads_only_its_named_secret(servers, kflow, operator_factory):  # noqa: F811
    _, s3 = servers
    kflow.core.create_namespaced_secret(kflow.namespace, {
        "metadata": {"name": "storage-credentials"},
        "stringData": {"AWS_ACCESS_KEY_ID": GUIDE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": GUIDE_SECRET_KEY},
    })
    kflow.core.create_namespaced_secret(kflow.namespace, {"metadata": {"name": "flow-secrets"}, "stringData": {"MINE": MINE, "OTHER": OTHER}})
    operator_factory(
        KFLOW_STORAGE=f"s3://{STORAGE_BUCKET}?endpoint={s3.endpoint}&region={GUIDE_REGION}",
        KFLOW_STORAGE_S3_CREDENTIALS_SECRET="storage-credentials",
        KFLOW_SECRETS_SECRET="flow-secrets",
    )
    # Its own secret is in its environment and its staged env.sh: it looks for everything else.
    targets = {"OTHER": sha(OTHER), "ACCESS_KEY": sha(GUIDE_ACCESS_KEY), "SECRET_KEY": sha(GUIDE_SECRET_KEY)}
    script = "".join(f"      {line}\n" for line in PROBE.strip().splitlines())
    kflow.apply_flow(
        "id: probe\nnamespace: t\ntasks:\n"
        "  - id: probe\n    type: io.kestra.plugin.scripts.python.Script\n    warningOnStdErr: false\n"
        f"    env: {{TOKEN: \"{{{{ secret('MINE') }}}}\", MINE_SHA: {sha(MINE)}, TARGETS: '{json.dumps(targets)}'}}\n"
        f"    script: |\n{script}"
        "  - id: other\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ secret('OTHER') | length }}\"\n"
    )
    kflow.execute("probe", "probe-1")
    execution = kflow.wait("probe-1", timeout=180)
    runs = taskruns(execution)
    assert runs["probe"]["state"]["current"] == "SUCCESS", runs["probe"]
    probe = runs["probe"]["outputs"]["vars"]
    assert probe["mine"] is True and probe["mounted"] is False
    assert probe["looked"] > 3  # it saw its own processes and the staged files
    assert probe["found"] == []
    assert runs["other"]["outputs"]["value"] == str(len(OTHER))  # OTHER works for the task that names it
    pods = {p.metadata.labels["kflow.io/task"]: p for p in kflow.pods("probe-1")}
    assert [c.image for c in pods["probe"].spec.init_containers] == [PROJECT_IMAGE]
    (volume,) = [v for v in pods["probe"].spec.volumes if v.name == "secrets"]
    assert [item.key for item in volume.secret.items] == ["MINE"]
