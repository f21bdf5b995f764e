"""bench/runner_cold_start.py inside a pod of the project image, on the test cluster: the
runner's cold start against `python3 -c pass` where task pods really run (the image's
interpreter and installed packages, the operator's pod security context, /tmp an emptyDir).

Run (as root; KFLOW_TEST_IMAGE names the image): python bench/runner_cold_start_pod.py [ROUNDS]
Prints the pod's JSON report (its last line is the summary).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cluster_bench import Session, bare_pod, load, pod_ended, watch_pods


def main() -> None:
    rounds = sys.argv[1] if len(sys.argv) > 1 else "15"
    script = (Path(__file__).parent / "runner_cold_start.py").read_text()  # standard library only
    session = Session("coldstart")
    try:
        pods = watch_pods(session)
        manifest = bare_pod(session.namespace, "cold-start", ["python3", "-c", script, rounds])
        print(f"load before: {load()}", file=sys.stderr)
        session.core.create_namespaced_pod(session.namespace, manifest)
        pods.wait_ended(["cold-start"], timeout=1800)
        pod = pods.objects["cold-start"]
        assert pod_ended(pod)
        time.sleep(1)
        text = session.core.read_namespaced_pod_log("cold-start", session.namespace)
        print(text.decode() if isinstance(text, bytes) else text)
        print(f"load after: {load()}", file=sys.stderr)
    finally:
        session.close()


if __name__ == "__main__":
    main()
