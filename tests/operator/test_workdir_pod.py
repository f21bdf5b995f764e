"""WorkingDirectory on the cluster: the whole group is ONE pod; its children become task runs in
the Execution's status with their outputs; a failing child stops the rest. Internal storage is a
real S3 server (versitygw) on the bridge address pods reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.harness import BRIDGE_IP
from tests.operator.support import taskruns
from tests.servers.fixtures import GUIDE_ACCESS_KEY, GUIDE_REGION, GUIDE_SECRET_KEY
from tests.servers.versitygw import S3Server

pytestmark = pytest.mark.cluster
EXAMPLES = Path(__file__).parents[2] / "examples"
BUCKET = "kflow-wd-storage"


@pytest.fixture(scope="module")
def s3():
    server = S3Server(GUIDE_ACCESS_KEY, GUIDE_SECRET_KEY, GUIDE_REGION, host=BRIDGE_IP).start()
    server.ensure_bucket(BUCKET)
    yield server
    server.stop()


@pytest.fixture
def storage_operator(s3, kflow, operator_factory):
    kflow.core.create_namespaced_secret(kflow.namespace, {
        "metadata": {"name": "storage-credentials"},
        "stringData": {"AWS_ACCESS_KEY_ID": GUIDE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": GUIDE_SECRET_KEY},
    })
    return operator_factory(
        KFLOW_STORAGE=f"s3://{BUCKET}?endpoint={s3.endpoint}&region={GUIDE_REGION}",
        KFLOW_STORAGE_S3_CREDENTIALS_SECRET="storage-credentials",
    )


def _object(s3, uri: str) -> bytes:
    return s3.client().get_object(Bucket=BUCKET, Key=uri[len("kestra:///"):])["Body"].read()


def test_the_group_runs_in_one_pod_and_its_children_are_task_runs(kflow, storage_operator, s3):
    kflow.apply_flow((EXAMPLES / "working-directory.yaml").read_text())
    kflow.execute("working-directory", "wd-1")
    execution = kflow.wait("wd-1", timeout=180)
    assert execution["status"]["current"] == "SUCCESS", execution["status"]
    pods = kflow.pods("wd-1")
    per_task = sorted(p.metadata.labels["kflow.io/task"] for p in pods)
    assert per_task == ["after", "working_dir"], "one pod for the whole WorkingDirectory, one for the task after it"
    runs = taskruns(execution)
    group = runs["working_dir"]
    for child in ("write", "count", "summary"):
        assert runs[child]["parentTaskRunId"] == group["id"]
        assert runs[child]["state"]["current"] == "SUCCESS"
    assert runs["count"]["outputs"]["vars"] == {"lines": 3}
    assert runs["summary"]["outputs"]["value"] == "3 lines in greetings.txt"
    assert runs["after"]["outputs"]["value"] == "3"
    assert _object(s3, group["outputs"]["outputFiles"]["greetings.txt"]).decode().count("hello") == 3


FAILING = """
id: wd-failing
namespace: company.team
tasks:
  - id: group
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: big
        type: io.kestra.plugin.scripts.python.Script
        script: |
          import json
          print("::" + json.dumps({"outputs": {"blob": "x" * 6000}}) + "::")
      - id: maybe
        type: io.kestra.plugin.core.debug.Return
        runIf: "{{ outputs.big.vars.blob | length < 10 }}"
        format: never
      - id: boom
        type: io.kestra.plugin.scripts.shell.Commands
        commands: ["echo 'no such thing' >&2", "exit 4"]
      - id: never
        type: io.kestra.plugin.core.debug.Return
        format: not reached
"""


def test_a_failing_child_stops_the_group_and_large_outputs_move_to_storage(kflow, storage_operator, s3):
    kflow.apply_flow(FAILING)
    kflow.execute("wd-failing", "wd-2")
    execution = kflow.wait("wd-2", timeout=180)
    status = execution["status"]
    assert status["current"] == "FAILED", status
    assert len(kflow.pods("wd-2")) == 1
    runs = taskruns(execution)
    assert runs["group"]["state"]["current"] == "FAILED"
    assert "exited with code 4" in runs["group"]["attempts"][-1]["reason"]
    assert runs["maybe"]["state"]["current"] == "SKIPPED"
    assert runs["boom"]["state"]["current"] == "FAILED" and "no such thing" in runs["boom"]["attempts"][-1]["reason"]
    assert "never" not in runs
    # The 6 KB output did not fit the termination message: it is a file of the child's task run.
    blob = runs["big"]["outputs"]["vars"]
    assert blob.startswith("kestra:///company/team/wd-failing/executions/") and f"/tasks/big/{runs['big']['id']}/" in blob
    assert b"x" * 6000 in _object(s3, blob)
