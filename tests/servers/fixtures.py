"""pytest fixtures for the loopback servers; a test package imports them in its conftest.py:

    from tests.servers.fixtures import *  # noqa: F401,F403

- `http_server` (session): `tests.servers.http_server.HttpServer`, `.url("/r/news.json")`;
- `s3_server` (session): `tests.servers.versitygw.S3Server` started with the getting-started
  guide's placeholder credentials and region (so its example flows run unchanged), with the
  bucket `kestra-io-bucket` created;
- `kflow_env`: the environment for a `kflow run` subprocess: internal storage in a fresh
  directory (`KFLOW_STORAGE`), `ENV_S3_ENDPOINT` pointing at the S3 server when it is in use;
- `run_flow`: runs `kflow run --json` on a flow file or YAML text, returns (execution, proc).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.http_server import HttpServer
from tests.servers.versitygw import S3Server

ROOT = Path(__file__).resolve().parents[2]
GUIDE_ACCESS_KEY = "AKIAEXAMPLEEXAMPLE00"
GUIDE_SECRET_KEY = "example-secret-key-not-real"
GUIDE_REGION = "eu-west-1"
GUIDE_BUCKET = "kestra-io-bucket"

__all__ = ["http_server", "s3_server", "kflow_env", "run_flow", "storage_dir"]


@pytest.fixture(scope="session")
def http_server():
    server = HttpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server(GUIDE_ACCESS_KEY, GUIDE_SECRET_KEY, GUIDE_REGION).start()
    server.ensure_bucket(GUIDE_BUCKET)
    yield server
    server.stop()


@pytest.fixture
def storage_dir(tmp_path) -> Path:
    path = tmp_path / "storage"
    path.mkdir()
    return path


@pytest.fixture
def kflow_env(storage_dir, request) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KFLOW_STORAGE", "SECRET_", "ENV_"))}
    env["KFLOW_STORAGE"] = f"dir:{storage_dir}"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"  # the servers are on loopback, never behind a proxy
    if "s3_server" in request.fixturenames:
        env["ENV_S3_ENDPOINT"] = request.getfixturevalue("s3_server").endpoint
    return env


@pytest.fixture
def run_flow(kflow_env, tmp_path):
    def run(flow: str | Path, *inputs: str, expect: int | None = 0, env: dict | None = None, timeout: float = 300):
        path = Path(flow)
        if isinstance(flow, str) and "\n" in flow:
            path = tmp_path / "flow.yaml"
            path.write_text(flow)
        args = [sys.executable, "-m", "kflow", "run", str(path), "--json"]
        for item in inputs:
            args += ["--input", item]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env={**kflow_env, **(env or {})})
        assert "Traceback" not in proc.stderr, proc.stderr
        if expect is not None:
            assert proc.returncode == expect, proc.stderr
        execution = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None
        return execution, proc

    return run
