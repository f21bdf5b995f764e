"""Shared pytest fixtures.

Cluster fixtures (tests marked ``@pytest.mark.cluster``): ``cluster`` brings the real
single-node Kubernetes of tests/cluster up with the same code as ``tests/cluster/up`` (it is
left running afterwards; ``tests/cluster/down`` stops it), ``k8s_api`` is a cluster-admin
``kubernetes.client.ApiClient`` and ``k8s_namespace`` a fresh namespace per test, deleted
afterwards.  Set ``KFLOW_CLUSTER_LOAD_IMAGE=0`` to skip rebuilding the project image
(``localhost/kflow:dev``) at the start of the session.
"""
from __future__ import annotations

import os
import re
import sys
import time
import uuid
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))


@pytest.fixture(scope="session")
def cluster():
    """The running test cluster: a ``tests.cluster.harness.Cluster`` (kubeconfig, images, helm)."""
    from tests.cluster import harness

    harness.up()
    if os.environ.get("KFLOW_CLUSTER_LOAD_IMAGE", "1") != "0":
        harness.load_image()
    yield harness.Cluster()


@pytest.fixture(scope="session")
def k8s_api(cluster):
    """A ``kubernetes.client.ApiClient`` with cluster-admin rights."""
    api = cluster.api_client()
    yield api
    api.close()


@pytest.fixture
def k8s_namespace(k8s_api, request):
    """A new namespace for one test (its default service account exists); deleted afterwards."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(k8s_api)
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{slug}-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name, "labels": {"kflow.test/namespace": "true"}}})
    deadline = time.monotonic() + 60
    while True:
        try:
            core.read_namespaced_service_account("default", name)
            break
        except ApiException as e:
            if e.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield name
    try:
        core.delete_namespace(name, body={"propagationPolicy": "Background"})
    except ApiException as e:
        if e.status != 404:
            raise
