"""`python -m kflow.operator [--namespace NS ...|--all-namespaces] [--liveness URL] [--metrics-port N]`."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kflow operator", description="Run the kflow operator against the current cluster.")
    parser.add_argument("--namespace", "-n", action="append", default=[], help="a Kubernetes namespace to watch (repeatable)")
    parser.add_argument("--all-namespaces", "-A", action="store_true", help="watch every namespace (the default)")
    parser.add_argument("--liveness", default=None, help="serve a health endpoint, e.g. http://0.0.0.0:8080/healthz")
    parser.add_argument("--metrics-port", type=int, default=None, help="Prometheus /metrics on this port; 0 disables (default: $KFLOW_METRICS_PORT or 8080)")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)

    from kflow.operator import metrics

    try:
        metrics_port = metrics.port_from(args.metrics_port, args.liveness)
    except metrics.MetricsPortError as err:
        print(f"kflow operator: {err}", file=sys.stderr)
        return 2

    import asyncio

    import kopf

    import kflow.operator.handlers  # noqa: F401 - registers the handlers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.verbose:
        logging.getLogger("kflow").setLevel(logging.DEBUG)
    else:  # kopf's "Handler ... succeeded" per watch event: a line per pod change is CPU spent on noise
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)

    async def run() -> None:
        async with metrics.serving(metrics_port):
            await kopf.operator(clusterwide=not args.namespace, namespaces=args.namespace or None, liveness_endpoint=args.liveness, standalone=True)

    try:
        asyncio.run(run())
    except metrics.MetricsPortError as err:
        print(f"kflow operator: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
