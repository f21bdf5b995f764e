"""kflow side by side with Argo Workflows on the test cluster, in one run.

Run (as root; builds Argo first if needed, see build.py; KFLOW_TEST_IMAGE names kflow's image):
    python bench/peers/argo/run.py [--once 3] [--steps 12] [--runs 2] [--at-once 100] [--requeue 1s]

Workloads, each for bare pods, kflow, Argo at its defaults and Argo with DEFAULT_REQUEUE_TIME
set to --requeue (empty: skip that variant):
1. one task: create to end (median of --once runs, one after another);
2. a sequence of --steps steps (--runs runs): the gap from one step's pod end to the next
   step's pod creation (p50, p99) and the run's total; bare pods have no sequence;
3. --at-once one-task runs created at once: first create to last end.
Every task is the project image: kflow runs its runner (a Return), Argo and the bare pods run
`python3 -c "print('r')"` in it. Argo's workflow-controller runs on this host, namespaced to a
fresh namespace; its executor is an argoexec image built here. Prints JSON with the ratios
kflow/Argo and each/bare pod, then a summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # bench/
sys.path.insert(0, str(HERE))

import build  # noqa: E402
import yaml  # noqa: E402
from cluster_bench import (  # noqa: E402
    ONE_TASK,
    Session,
    Watcher,
    at_once,
    bare_pod_once,
    bare_pods_at_once,
    execution_once,
    executions_at_once,
    load,
    quantile,
    sequence_flow,
    sequence_gaps,
    watch_executions,
    watch_pods,
)

from tests.cluster import harness, images  # noqa: E402
from tests.cluster.images import PROJECT_IMAGE  # noqa: E402

ARGOEXEC_IMAGE = f"localhost/argoexec:{build.VERSION}"
GROUP, VERSION = "argoproj.io", "v1alpha1"
DONE = ("Succeeded", "Failed", "Error")


def argoexec_image(binaries: Path) -> None:
    """A scratch image holding the static argoexec (what Argo's init and wait containers run),
    imported into the cluster's containerd."""
    if not images.buildah_image_id(ARGOEXEC_IMAGE):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for d in ("bin", "tmp", "etc"):
                (root / d).mkdir()
            (root / "tmp").chmod(0o1777)
            (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nargo:x:8737:8737::/home/argo:/bin/sh\n")
            subprocess.run(["cp", str(binaries / "argoexec"), str(root / "bin" / "argoexec")], check=True)
            images.image_from_tree(root, ARGOEXEC_IMAGE, ["--entrypoint", '["argoexec"]', "--env", "PATH=/bin", "--user", "8737"])
    with harness.harness_lock():
        images.import_image(harness.CONTAINERD_SOCK, ARGOEXEC_IMAGE, harness.IMAGE_STAMPS)


def apply_argo_crds(session: Session) -> None:
    """Argo's minimal CRDs (cluster-wide, created once, left in place: nothing of kflow's uses them)."""
    from kubernetes import client

    ext = client.ApiextensionsV1Api(session.api)
    for path in sorted(build.crds_dir().glob("argoproj.io_*.yaml")):
        crd = yaml.safe_load(path.read_text())
        try:
            ext.create_custom_resource_definition(crd)
        except client.exceptions.ApiException as err:
            if err.status != 409:
                raise
    for path in sorted(build.crds_dir().glob("argoproj.io_*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        while not any(c.type == "Established" and c.status == "True" for c in (ext.read_custom_resource_definition(name).status.conditions or [])):
            time.sleep(0.2)


def executor_rbac(session: Session) -> None:
    """What argoexec in a workflow pod needs, given to the namespace's default account."""
    from kubernetes import client

    rbac = client.RbacAuthorizationV1Api(session.api)
    ns = session.namespace
    rbac.create_namespaced_role(ns, {
        "metadata": {"name": "argo-executor"},
        "rules": [
            {"apiGroups": [GROUP], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "patch"]},
        ],
    })
    rbac.create_namespaced_role_binding(ns, {
        "metadata": {"name": "argo-executor"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "argo-executor"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
    })


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ArgoController:
    """Argo's workflow-controller on this host, namespaced, at its defaults but for `env`."""

    def __init__(self, session: Session, binaries: Path, env: dict[str, str]):
        self.session, self.binaries, self.env = session, binaries, env
        self.proc: subprocess.Popen | None = None
        self.log = Path(tempfile.mkdtemp(prefix="argo-bench-")) / "workflow-controller.log"

    def start(self) -> None:
        ns = self.session.namespace
        # Its metrics server would take port 9090, which others on this host may use.
        config = {"metricsConfig": f"port: {free_port()}\n", "telemetryConfig": f"port: {free_port()}\n"}
        try:
            self.session.core.create_namespaced_config_map(ns, {"metadata": {"name": "workflow-controller-configmap"}, "data": config})
        except Exception:  # noqa: BLE001 - a restart: it exists
            self.session.core.patch_namespaced_config_map("workflow-controller-configmap", ns, {"data": config})
        try:  # a restart: the previous controller's lease would hold off this one for 15 s
            from kubernetes import client

            client.CoordinationV1Api(self.session.api).delete_namespaced_lease("workflow-controller", ns)
        except Exception:  # noqa: BLE001 - none yet
            pass
        env = {**os.environ, "KUBECONFIG": str(self.session.cluster.kubeconfig), "LEADER_ELECTION_IDENTITY": f"bench-{os.getpid()}", **self.env}
        self.proc = subprocess.Popen(
            [str(self.binaries / "workflow-controller"), "--namespaced", "--managed-namespace", ns, "--namespace", ns,
             "--executor-image", ARGOEXEC_IMAGE, "--executor-image-pull-policy", "Never"],
            env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def workflow(name: str, steps: int = 0) -> dict:
    """A one-step workflow (steps=0) or a sequence of `steps` steps, each `python3 -c print('r')`."""
    container = {"image": PROJECT_IMAGE, "imagePullPolicy": "Never", "command": ["python3", "-c", "print('r')"]}
    templates: list[dict] = [{"name": "task", "container": container}]
    entry = "task"
    if steps:
        templates.append({"name": "seq", "steps": [[{"name": f"s{i:02d}", "template": "task"}] for i in range(steps)]})
        entry = "seq"
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Workflow", "metadata": {"name": name}, "spec": {"entrypoint": entry, "templates": templates}}


def watch_workflows(session: Session) -> Watcher:
    def done(obj) -> bool:
        return (obj.get("status") or {}).get("phase") in DONE

    def list_workflows(namespace, **kwargs):
        return session.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "workflows", **kwargs)

    watcher = Watcher(list_workflows, session.namespace, done=done)
    watcher.start()
    return watcher


def argo_run(session: Session, workflows: Watcher, body: dict, timeout: float = 900) -> float:
    started = time.monotonic()
    session.custom.create_namespaced_custom_object(GROUP, VERSION, session.namespace, "workflows", body)
    ended = workflows.wait_ended([body["metadata"]["name"]], timeout)
    phase = workflows.objects[body["metadata"]["name"]]["status"]["phase"]
    if phase != "Succeeded":
        raise RuntimeError(f"workflow {body['metadata']['name']} ended {phase}: {workflows.objects[body['metadata']['name']]['status'].get('message')}")
    return ended - started


def argo_at_once(session: Session, workflows: Watcher, n: int, prefix: str, timeout: float = 1800) -> tuple[float, dict[str, int]]:
    names = [f"{prefix}-{i}" for i in range(n)]
    started = time.monotonic()
    at_once(lambda i: session.custom.create_namespaced_custom_object(GROUP, VERSION, session.namespace, "workflows", workflow(names[i])), n)
    wall = workflows.wait_ended(names, timeout) - started
    phases: dict[str, int] = {}
    for name in names:
        phase = workflows.objects[name]["status"]["phase"]
        phases[phase] = phases.get(phase, 0) + 1
    return wall, phases


def gaps_summary(gaps: list[float], totals: list[float]) -> dict[str, float]:
    return {"gap p50 (ms)": round(quantile(gaps, 50) * 1000), "gap p99 (ms)": round(quantile(gaps, 99) * 1000), "total median (s)": round(statistics.median(totals), 1), "gaps": len(gaps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", type=int, default=3, help="one-task runs, one after another")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--runs", type=int, default=2, help="sequence runs")
    parser.add_argument("--at-once", type=int, default=100)
    parser.add_argument("--requeue", default="1s", help="Argo's DEFAULT_REQUEUE_TIME for the second variant ('' to skip)")
    args = parser.parse_args()
    binaries = build.build()
    session = Session("peers")
    report: dict[str, dict] = {"run": {"namespace": session.namespace, "load before": load(), "argo": build.VERSION}}
    argo: ArgoController | None = None
    try:
        argoexec_image(binaries)
        apply_argo_crds(session)
        executor_rbac(session)
        pods, executions, workflows = watch_pods(session), watch_executions(session), watch_workflows(session)
        session.start_operator()
        session.kflow.apply_flow(ONE_TASK)
        session.kflow.apply_flow(sequence_flow(args.steps))
        session.kflow.wait_flow("one")
        bare_pod_once(session, pods, "warm-bare")
        execution_once(session, executions, "one", "warm")

        # -- bare pods and kflow --------------------------------------------------------------
        report["bare pod"] = {"one task (s)": round(statistics.median(bare_pod_once(session, pods, f"bare-{i}") for i in range(args.once)), 2)}
        report["kflow"] = {"one task (s)": round(statistics.median(execution_once(session, executions, "one", f"one-{i}") for i in range(args.once)), 2)}
        gaps, totals = [], []
        for i in range(args.runs):
            totals.append(execution_once(session, executions, "seq", f"seq-{i}", timeout=1800))
            gaps += sequence_gaps(pods, "kflow.io/execution", f"seq-{i}")
        report["kflow"]["sequence"] = gaps_summary(gaps, totals)
        report["bare pod"][f"{args.at_once} at once (s)"] = round(bare_pods_at_once(session, pods, args.at_once, "many-bare"), 1)
        wall, states = executions_at_once(session, executions, "one", args.at_once, "many")
        report["kflow"][f"{args.at_once} at once (s)"] = round(wall, 1)
        report["kflow"]["end states"] = states
        report["run"]["load after kflow"] = load()
        session.operator.stop()  # idle, but not competing with Argo for the CPUs

        # -- Argo, at its defaults, then with a shorter requeue -----------------------------------
        variants = [("argo (defaults)", {})] + ([(f"argo (DEFAULT_REQUEUE_TIME={args.requeue})", {"DEFAULT_REQUEUE_TIME": args.requeue})] if args.requeue else [])
        for v, (label, env) in enumerate(variants):
            argo = ArgoController(session, binaries, env)
            argo.start()
            argo_run(session, workflows, workflow(f"a{v}-warm"))
            entry: dict = {"one task (s)": round(statistics.median(argo_run(session, workflows, workflow(f"a{v}-one-{i}")) for i in range(args.once)), 2)}
            gaps, totals = [], []
            for i in range(args.runs):
                totals.append(argo_run(session, workflows, workflow(f"a{v}-seq-{i}", args.steps), timeout=1800))
                gaps += sequence_gaps(pods, "workflows.argoproj.io/workflow", f"a{v}-seq-{i}")
            entry["sequence"] = gaps_summary(gaps, totals)
            wall, phases = argo_at_once(session, workflows, args.at_once, f"a{v}-many")
            entry[f"{args.at_once} at once (s)"] = round(wall, 1)
            entry["end phases"] = phases
            entry["controller log"] = str(argo.log)
            report[label] = entry
            report["run"][f"load after {label}"] = load()
            argo.stop()
            argo = None
    finally:
        if argo:
            argo.stop()
        session.close()

    bare, kflow = report["bare pod"], report["kflow"]
    many = f"{args.at_once} at once (s)"
    ratios: dict[str, dict] = {"kflow / bare pod": {"one task": round(kflow["one task (s)"] / bare["one task (s)"], 2), many: round(kflow[many] / bare[many], 2)}}
    for label in [k for k in report if k.startswith("argo")]:
        a = report[label]
        ratios[f"kflow / {label}"] = {
            "one task": round(kflow["one task (s)"] / a["one task (s)"], 2),
            "sequence total": round(kflow["sequence"]["total median (s)"] / a["sequence"]["total median (s)"], 2),
            "sequence gap p50": round(kflow["sequence"]["gap p50 (ms)"] / max(a["sequence"]["gap p50 (ms)"], 1), 3),
            many: round(kflow[many] / a[many], 2),
        }
        ratios[f"{label} / bare pod"] = {"one task": round(a["one task (s)"] / bare["one task (s)"], 2), many: round(a[many] / bare[many], 2)}
    report["ratios"] = ratios
    print(json.dumps(report, indent=2))
    print(f"\n| workload | bare pod | kflow | {' | '.join(k for k in report if k.startswith('argo'))} |")
    print("|---|---|---|" + "---|" * len([k for k in report if k.startswith("argo")]))
    argos = [report[k] for k in report if k.startswith("argo")]
    print(f"| one task, create to end (s) | {bare['one task (s)']} | {kflow['one task (s)']} | " + " | ".join(str(a["one task (s)"]) for a in argos) + " |")
    print(f"| {args.steps}-step sequence total (s) | - | {kflow['sequence']['total median (s)']} | " + " | ".join(str(a["sequence"]["total median (s)"]) for a in argos) + " |")
    print(f"| step gap p50 / p99 (ms) | - | {kflow['sequence']['gap p50 (ms)']} / {kflow['sequence']['gap p99 (ms)']} | " + " | ".join(f"{a['sequence']['gap p50 (ms)']} / {a['sequence']['gap p99 (ms)']}" for a in argos) + " |")
    print(f"| {args.at_once} at once (s) | {bare[many]} | {kflow[many]} | " + " | ".join(str(a[many]) for a in argos) + " |")
    print(f"load: {report['run']}")


if __name__ == "__main__":
    main()
