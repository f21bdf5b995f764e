"""`kflow apply FILE|DIR`: validate Kestra flows, then server-side apply them as Flow resources.

Every file is validated before the first request, so a bad flow applies nothing. Server-side
apply with field manager "kflow": re-applying is idempotent, and a property removed from the
file is removed from the Flow.
"""

from __future__ import annotations

import argparse
import json

from kflow.client.kube import add_cluster_args

FIELD_MANAGER = "kflow"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "apply",
        help="validate Kestra flows and apply them to the cluster as Flow resources",
        description="Validate each flow in FILE or DIR (Kestra flow YAML, multi-document files, or Flow manifests), "
        "then server-side apply them. The resource name comes from the flow id (lowercase, `.` and `_` as `-`).",
    )
    parser.add_argument("paths", nargs="+", metavar="FILE|DIR")
    parser.add_argument("--dry-run", action="store_true", help="send to the API server for validation, store nothing")
    add_cluster_args(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kflow.cli.convert import load_manifests
    from kflow.client.kube import GROUP, VERSION, call, connect

    manifests = load_manifests(args.paths)
    cluster = connect(args)
    for manifest in manifests:
        namespace = manifest.body["metadata"].get("namespace") or cluster.namespace
        if args.namespace and namespace != args.namespace:
            namespace = args.namespace
        body = {**manifest.body, "metadata": {**manifest.body["metadata"], "namespace": namespace}}
        kwargs = {"dry_run": "All"} if args.dry_run else {}
        # The client maps only HTTP 200 to a body; a create answers 201, so read the raw response.
        response = call(
            cluster.custom.patch_namespaced_custom_object, GROUP, VERSION, namespace, "flows", manifest.name, body,
            field_manager=FIELD_MANAGER, force=True, _content_type="application/apply-patch+yaml", _preload_content=False,
            what=f"applying {manifest.source} as Flow {manifest.name!r} in namespace {namespace!r}", **kwargs,
        )
        meta = json.loads(response.data).get("metadata") or {}
        note = " (dry run)" if args.dry_run else f" (generation {meta.get('generation')})"
        print(f"flow.kflow.io/{manifest.name} applied in {namespace}{note}")
    return 0
