"""Files on the cluster: the getting-started reddit flow with the data really moving between
pods through internal storage (an S3 bucket), real HTTP and S3 servers on the bridge address
pods reach, secrets from a mounted Secret, large outputs moved to storage."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from tests.cluster.harness import BRIDGE_IP
from tests.cluster.images import PROJECT_IMAGE
from tests.operator.support import taskruns
from tests.servers.fixtures import GUIDE_ACCESS_KEY, GUIDE_BUCKET, GUIDE_REGION, GUIDE_SECRET_KEY
from tests.servers.http_server import HttpServer, reddit_json
from tests.servers.versitygw import S3Server

pytestmark = pytest.mark.cluster
EXAMPLES = Path(__file__).parents[2] / "examples"
STORAGE_BUCKET = "kflow-internal"


@pytest.fixture(scope="module")
def servers():
    http = HttpServer(host=BRIDGE_IP).start()
    s3 = S3Server(GUIDE_ACCESS_KEY, GUIDE_SECRET_KEY, GUIDE_REGION, host=BRIDGE_IP).start()
    s3.ensure_bucket(GUIDE_BUCKET)
    s3.ensure_bucket(STORAGE_BUCKET)
    yield http, s3
    s3.stop()
    http.stop()


@pytest.fixture
def storage_operator(servers, kflow, operator_factory):
    _, s3 = servers
    kflow.core.create_namespaced_secret(kflow.namespace, {
        "metadata": {"name": "storage-credentials"},
        "stringData": {"AWS_ACCESS_KEY_ID": GUIDE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": GUIDE_SECRET_KEY},
    })
    kflow.core.create_namespaced_secret(kflow.namespace, {"metadata": {"name": "flow-secrets"}, "stringData": {"GREETING": "hello-from-a-secret"}})
    return operator_factory(
        KFLOW_STORAGE=f"s3://{STORAGE_BUCKET}?endpoint={s3.endpoint}&region={GUIDE_REGION}",
        KFLOW_STORAGE_S3_CREDENTIALS_SECRET="storage-credentials",
        KFLOW_SECRETS_SECRET="flow-secrets",
        KFLOW_RUNNER_ENV=f'{{"ENV_S3_ENDPOINT": "{s3.endpoint}"}}',
    )


def test_reddit_parallel_flow_moves_bytes_through_pods(servers, kflow, storage_operator):
    http, s3 = servers
    kflow.apply_flow((EXAMPLES / "kestra-reddit-aws-parallel-example.yaml").read_text())
    kflow.execute("kestra-reddit-aws-parallel-example", "reddit-1", inputs={
        "subRedditUrl1": http.url("/r/python.json"), "subredditName1": "python.json",
        "subRedditUrl2": http.url("/r/kubernetes.json"), "subredditName2": "kubernetes.json",
    })
    execution = kflow.wait("reddit-1", timeout=180)
    assert execution["status"]["current"] == "SUCCESS", execution["status"]
    runs = taskruns(execution)
    assert runs["downloadRedditData1"]["outputs"]["uri"].startswith("kestra:///io/kestra/tests/kestra-reddit-aws-parallel-example/executions/")
    client = s3.client()
    for key, name in (("python.json", "python"), ("kubernetes.json", "kubernetes")):
        assert client.get_object(Bucket=GUIDE_BUCKET, Key=key)["Body"].read() == reddit_json(name)
    pods = {p.metadata.labels["kflow.io/task"]: p for p in kflow.pods("reddit-1")}
    assert len(pods) == 4, "each task ran in a pod of its own"

    kflow.apply_flow((EXAMPLES / "kestra-reddit-aws-example.yaml").read_text())
    kflow.execute("kestra-reddit-aws-example", "reddit-2", inputs={"subRedditUrl": http.url("/r/golang.json"), "subredditName": "golang.json"})
    assert kflow.wait("reddit-2", timeout=120)["status"]["current"] == "SUCCESS"
    assert client.get_object(Bucket=GUIDE_BUCKET, Key="golang.json")["Body"].read() == reddit_json("golang")


def test_script_image_that_cannot_be_pulled(kflow, storage_operator):
    kflow.apply_flow(
        "id: bad-image\nnamespace: t\ntasks:\n"
        "  - {id: sh, type: io.kestra.plugin.scripts.shell.Commands, containerImage: localhost/no-such-image:1, commands: ['true']}\n"
    )
    kflow.execute("bad-image", "bad-image-1")
    execution = kflow.wait("bad-image-1", timeout=90)
    reason = taskruns(execution)["sh"]["attempts"][-1]["reason"]
    assert "image 'localhost/no-such-image:1' cannot be pulled" in reason
    deadline = time.monotonic() + 30
    while kflow.pods("bad-image-1"):  # a pod that would wait forever is removed
        assert time.monotonic() < deadline
        time.sleep(0.3)


def test_secrets_are_mounted_read_and_masked(kflow, storage_operator):
    kflow.apply_flow(
        "id: secretive\nnamespace: t\ntasks:\n"
        "  - {id: size, type: io.kestra.plugin.core.debug.Return, format: \"{{ secret('GREETING') | length }}\"}\n"
        "  - {id: leak, type: io.kestra.plugin.core.debug.Return, format: \"{{ secret('GREETING') }}\"}\n"
    )
    kflow.execute("secretive", "secretive-1")
    execution = kflow.wait("secretive-1")
    runs = taskruns(execution)
    assert runs["size"]["outputs"]["value"] == str(len("hello-from-a-secret"))
    assert runs["leak"]["outputs"]["value"] == "******"
    for pod in kflow.pods("secretive-1"):
        text = str(pod.to_dict())
        assert "hello-from-a-secret" not in text and base64.b64encode(b"hello-from-a-secret").decode() not in text
    assert "hello-from-a-secret" not in str(kflow.get("executions", "secretive-1"))


def test_large_outputs_go_to_storage(servers, kflow, storage_operator):
    http, s3 = servers
    kflow.apply_flow(f"id: large\nnamespace: t\ntasks:\n  - {{id: get, type: io.kestra.plugin.core.http.Request, uri: \"{http.url('/r/big.json')}\"}}\n"
                     "  - {id: use, type: io.kestra.plugin.core.debug.Return, format: \"{{ read(outputs.get.body) | length }}\"}\n")
    kflow.execute("large", "large-1")
    execution = kflow.wait("large-1")
    assert execution["status"]["current"] == "SUCCESS", execution["status"]
    runs = taskruns(execution)
    assert runs["get"]["outputs"]["body"].startswith("kestra:///t/large/executions/")
    assert runs["use"]["outputs"]["value"] == str(len(reddit_json("big").decode()))


def test_container_image_runs_the_script_while_the_runner_stages_and_collects(kflow, storage_operator):
    kflow.apply_flow(
        "id: in-image\nnamespace: t\ntasks:\n"
        "  - id: sh\n    type: io.kestra.plugin.scripts.shell.Commands\n    containerImage: localhost/kflow-test:busybox\n"
        "    inputFiles: {in.txt: 'from the runner'}\n    outputFiles: [out.txt]\n    warningOnStdErr: false\n"
        "    commands:\n"
        "      - 'test -x /opt/kflow/bin/python && echo kflow-image || echo user-image > where.txt'\n"
        "      - 'cat in.txt where.txt > out.txt'\n"
        "      - 'echo \"::{\\\"outputs\\\":{\\\"where\\\":\\\"$(cat where.txt)\\\"}}::\"'\n"
        "  - id: show\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ read(outputs.sh.outputFiles['out.txt']) }}\"\n"
        "  - id: fails\n    type: io.kestra.plugin.scripts.shell.Commands\n    containerImage: localhost/kflow-test:busybox\n"
        "    commands: ['echo broken >&2', 'exit 3']\n"
    )
    kflow.execute("in-image", "in-image-1")
    execution = kflow.wait("in-image-1", timeout=120)
    runs = taskruns(execution)
    assert runs["sh"]["state"]["current"] == "SUCCESS", runs["sh"]
    assert runs["sh"]["outputs"]["vars"] == {"where": "user-image"}
    assert runs["sh"]["outputs"]["exitCode"] == 0
    assert runs["show"]["outputs"]["value"] == "from the runneruser-image\n"
    assert runs["fails"]["state"]["current"] == "FAILED"
    reason = runs["fails"]["attempts"][-1]["reason"]
    assert "exited with code 3" in reason and "broken" in reason
    pod = next(p for p in kflow.pods("in-image-1") if p.metadata.labels["kflow.io/task"] == "sh")
    assert [c.image for c in pod.spec.containers] == [PROJECT_IMAGE]
    assert [c.image for c in pod.spec.init_containers] == ["localhost/kflow-test:busybox"]  # a native sidecar
