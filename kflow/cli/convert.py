"""`kflow convert FILE|DIR`: Kestra flow YAML to Flow manifests (printed as YAML, for GitOps).

Also what `kflow apply` sends: every document is validated with kflow.flow first, so a bad
task is reported with its file and path before anything reaches a cluster.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kflow.client.inputs import UsageError

API_VERSION = "kflow.io/v1alpha1"


@dataclass
class FlowManifest:
    source: str  # file (and document number) it came from, for messages
    name: str  # the Flow resource's name
    body: dict[str, Any]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="print Flow manifests for Kestra flow files (for GitOps)",
        description="Print the Flow manifest (kflow.io/v1alpha1) of each flow in FILE or DIR (*.yaml, *.yml) as YAML.",
    )
    parser.add_argument("paths", nargs="+", metavar="FILE|DIR", help="Kestra flow YAML (multi-document files too) or Flow manifests")
    parser.add_argument("--namespace", "-n", metavar="NS", help="set metadata.namespace in the manifests")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import yaml

    manifests = load_manifests(args.paths, namespace=args.namespace)
    yaml.safe_dump_all([m.body for m in manifests], sys.stdout, sort_keys=False, allow_unicode=True)
    return 0


def flow_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise UsageError(f"{raw}: no *.yaml or *.yml files in this directory")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{raw}: no such file or directory")
    return files


def load_manifests(paths: list[str], namespace: str | None = None) -> list[FlowManifest]:
    """Every flow document under `paths`, validated and shaped as a Flow resource."""
    import yaml

    from kflow.flow import FlowError, Problem
    from kflow.flow.bounds import BoundError, load_yaml_all, yaml_problem
    from kflow.flow.load import read_document

    manifests: list[FlowManifest] = []
    for path in flow_files(paths):
        try:
            documents = [d for d in load_yaml_all(read_document(path)) if d is not None]
        except yaml.YAMLError as err:
            raise FlowError(str(path), [Problem("", yaml_problem(err))]) from None
        except BoundError as err:
            raise FlowError(str(path), [Problem(err.path, err.message)]) from None
        for number, document in enumerate(documents, 1):
            source = str(path) if len(documents) == 1 else f"{path} (document {number})"
            manifests.append(to_manifest(document, source, namespace))
    seen: dict[str, str] = {}
    for manifest in manifests:
        key = f"{manifest.body['metadata'].get('namespace') or ''}/{manifest.name}"
        if key in seen:
            raise UsageError(f"{manifest.source}: Flow name {manifest.name!r} is also the name of the flow in {seen[key]}")
        seen[key] = manifest.source
    return manifests


def to_manifest(document: Any, source: str, namespace: str | None = None) -> FlowManifest:
    """A Flow manifest from a Kestra flow (spec unchanged) or a Flow manifest (checked)."""
    from kflow.client.kube import resource_name
    from kflow.flow import FlowError, Problem, parse_flow

    if not isinstance(document, dict):
        raise FlowError(source, [Problem("", "expected a Kestra flow (a mapping with id, namespace, tasks) or a Flow manifest")])
    if "apiVersion" in document or "kind" in document:
        if document.get("apiVersion") != API_VERSION or document.get("kind") != "Flow":
            raise UsageError(
                f"{source}: {document.get('kind')!r} of {document.get('apiVersion')!r} is not a Flow; "
                f"expected a Kestra flow or apiVersion: {API_VERSION}, kind: Flow"
            )
        meta = dict(document.get("metadata") or {})
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise FlowError(source, [Problem("metadata.name", "required: the Flow resource's name")])
        spec = document.get("spec")
        flow_data = dict(spec) if isinstance(spec, dict) else spec
        if isinstance(flow_data, dict):
            flow_data.setdefault("id", name)
        parse_flow(flow_data, source=source)
        if namespace:
            meta["namespace"] = namespace
        body = {**document, "metadata": meta}
        return FlowManifest(source, name, body)
    flow = parse_flow(document, source=source)
    name = resource_name(flow.id)
    if not name:
        raise FlowError(source, [Problem("id", f"{flow.id!r} gives no usable Kubernetes name")])
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return FlowManifest(source, name, {"apiVersion": API_VERSION, "kind": "Flow", "metadata": meta, "spec": document})
