"""CLI fixtures: `kflow` run as a real subprocess against the real test cluster.

- `cli_env`: a kubeconfig, a fresh namespace with the CRDs applied and an operator watching it
  (no internal storage); `cli_env.run(*args)` runs `python -m kflow.cli.main ARGS -n NS`.
- `run_cli`: the same `run` as a fixture: `run_cli(*args) -> CompletedProcess`.
- `s3_cli_env`: as `cli_env`, but the operator, its runner pods and the CLI share internal
  storage in an S3 bucket (versitygw on the bridge address, which pods reach), and finished
  pods are deleted at each execution's end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.operator.conftest import crds, kflow, operator, operator_factory  # noqa: F401
from tests.operator.support import Kflow, Operator

ROOT = Path(__file__).parents[2]
STORAGE_BUCKET = "kflow-internal"


def run_kflow(*args: str, env: dict[str, str] | None = None, timeout: float = 180, input: str | None = None) -> subprocess.CompletedProcess:
    """`python -m kflow.cli.main ARGS` with `env` over this process's environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KFLOW_STORAGE")}
    return subprocess.run(
        [sys.executable, "-m", "kflow.cli.main", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, input=input,
        env={**base, **(env or {})},
    )


@dataclass
class CliEnv:
    """Where the CLI under test points: kubeconfig, namespace (given as -n), storage env."""

    kubeconfig: str
    namespace: str
    operator: Operator
    kflow: Kflow
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, namespace: bool = True, timeout: float = 180, input: str | None = None) -> subprocess.CompletedProcess:
        """Run `kflow ARGS --namespace NS` (namespace=False leaves the flag out)."""
        extra = ["--namespace", self.namespace] if namespace else []
        return run_kflow(*args, *extra, env={"KUBECONFIG": self.kubeconfig, **self.env}, timeout=timeout, input=input)


@pytest.fixture
def cli_env(cluster, k8s_namespace, operator_factory, kflow) -> CliEnv:  # noqa: F811
    return CliEnv(str(cluster.kubeconfig), k8s_namespace, operator_factory(), kflow)


@pytest.fixture
def run_cli(cli_env):
    return cli_env.run


@pytest.fixture(scope="session")
def cli_s3():
    from tests.cluster.harness import BRIDGE_IP
    from tests.servers.fixtures import GUIDE_ACCESS_KEY, GUIDE_REGION, GUIDE_SECRET_KEY
    from tests.servers.versitygw import S3Server

    server = S3Server(GUIDE_ACCESS_KEY, GUIDE_SECRET_KEY, GUIDE_REGION, host=BRIDGE_IP).start()
    server.ensure_bucket(STORAGE_BUCKET)
    yield server
    server.stop()


@pytest.fixture
def s3_cli_env(cluster, k8s_namespace, operator_factory, kflow, cli_s3) -> CliEnv:  # noqa: F811
    from tests.servers.fixtures import GUIDE_ACCESS_KEY, GUIDE_REGION, GUIDE_SECRET_KEY

    kflow.core.create_namespaced_secret(k8s_namespace, {
        "metadata": {"name": "storage-credentials"},
        "stringData": {"AWS_ACCESS_KEY_ID": GUIDE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": GUIDE_SECRET_KEY},
    })
    # Each test its own prefix: the bucket is shared by the session.
    storage = f"s3://{STORAGE_BUCKET}/{k8s_namespace}?endpoint={cli_s3.endpoint}&region={GUIDE_REGION}"
    # Finished pods are deleted at the end of each execution: logs must come from storage.
    op = operator_factory(KFLOW_STORAGE=storage, KFLOW_STORAGE_S3_CREDENTIALS_SECRET="storage-credentials", KFLOW_KEEP_FINISHED_PODS="Never")
    env = {
        "KFLOW_STORAGE": storage,
        "KFLOW_STORAGE_ACCESS_KEY_ID": GUIDE_ACCESS_KEY,
        "KFLOW_STORAGE_SECRET_ACCESS_KEY": GUIDE_SECRET_KEY,
    }
    return CliEnv(str(cluster.kubeconfig), k8s_namespace, op, kflow, env)
