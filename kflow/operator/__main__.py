"""`python -m kflow.operator [--namespace NS ...|--all-namespaces] [--liveness URL] [--metrics-port N] [--lease NAME]`."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kflow operator", description="Run the kflow operator against the current cluster.")
    parser.add_argument("--namespace", "-n", action="append", default=[], help="a Kubernetes namespace to watch (repeatable)")
    parser.add_argument("--all-namespaces", "-A", action="store_true", help="watch every namespace (the default)")
    parser.add_argument("--liveness", default=None, help="serve a health endpoint, e.g. http://0.0.0.0:8080/healthz")
    parser.add_argument("--metrics-port", type=int, default=None, help="Prometheus /metrics on this port; 0 disables (default: $KFLOW_METRICS_PORT or 8080)")
    parser.add_argument("--lease", default=os.environ.get("KFLOW_LEASE") or None,
                        help="act only while holding this coordination.k8s.io Lease (leader election between replicas; default: $KFLOW_LEASE)")
    parser.add_argument("--lease-namespace", default=os.environ.get("KFLOW_OPERATOR_NAMESPACE") or "default",
                        help="namespace of the Lease (default: $KFLOW_OPERATOR_NAMESPACE or default)")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)

    from kflow.operator import metrics
    from kflow.operator.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before kopf and the API pools start their threads
    try:
        metrics_port = metrics.port_from(args.metrics_port, args.liveness)
    except metrics.MetricsPortError as err:
        print(f"kflow operator: {err}", file=sys.stderr)
        return 2

    from kflow.operator import webhook

    try:
        webhook_settings = webhook.WebhookSettings()
    except ValueError as err:
        print(f"kflow operator: {webhook.settings_error(err)}", file=sys.stderr)
        return 2

    import asyncio

    import kopf

    import kflow.operator.handlers  # noqa: F401 - registers the handlers
    from kflow.operator import kube, leader

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.verbose:
        logging.getLogger("kflow").setLevel(logging.DEBUG)
    else:  # kopf's "Handler ... succeeded" per watch event: a line per pod change is CPU spent on noise
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)

    async def operate(stop: asyncio.Event | None = None, ready: asyncio.Event | None = None, liveness: str | None = args.liveness) -> None:
        # kopf iterates `namespaces` even when cluster-wide (1.45 fails on None): [] means all.
        await kopf.operator(clusterwide=not args.namespace, namespaces=args.namespace, liveness_endpoint=liveness,
                            standalone=True, stop_flag=stop, ready_flag=ready)

    async def run() -> None:
        # Every replica serves webhooks (they only create Executions): not only the leader.
        async with metrics.serving(metrics_port), webhook.serving(webhook_settings, args.namespace):
            if args.lease:
                election = leader.LeaderElection(name=args.lease, namespace=args.lease_namespace)
                await leader.run_as_leader(election, lambda stop, ready: operate(stop, ready, liveness=None), health_endpoint=args.liveness,
                                           api_client=kube.api_client())
            else:
                await operate()

    from kubernetes.config import ConfigException

    try:
        asyncio.run(run())
    except (metrics.MetricsPortError, webhook.WebhookPortError) as err:
        print(f"kflow operator: {err}", file=sys.stderr)
        return 1
    except ConfigException as err:
        print(f"kflow operator: no cluster to talk to (not in a pod, and no kubeconfig): {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
