"""Operator fixtures: the CRDs applied to the real cluster, and the operator as a real process.

The operator runs as `python -m kflow.operator` against the test cluster's API server, watching
only the test's namespace; its task pods run the project image in containerd.
"""

from __future__ import annotations

import pytest

from tests.operator.support import Kflow, Operator, apply_crds


@pytest.fixture(scope="session")
def crds(k8s_api):
    return apply_crds(k8s_api)


@pytest.fixture
def operator_factory(cluster, crds, k8s_namespace, tmp_path, request):
    started: list[Operator] = []

    def make(**env: str) -> Operator:
        log_dir = tmp_path / f"operator-{len(started)}" if started else tmp_path  # one log set per process
        log_dir.mkdir(exist_ok=True)
        op = Operator(str(cluster.kubeconfig), k8s_namespace, log_dir, env)
        op.start()
        started.append(op)
        return op

    yield make
    for op in started:
        op.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for op in started:
            print(op.logs()[-20000:])


@pytest.fixture
def operator(operator_factory):
    return operator_factory()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture
def kflow(k8s_api, k8s_namespace, crds):
    return Kflow(k8s_api, k8s_namespace)
