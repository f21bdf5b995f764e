"""`kflow get executions|flows`: a table (or the resources as YAML/JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kflow.cli import completion
from kflow.client.kube import add_cluster_args

KINDS = {"executions": "executions", "execution": "executions", "kex": "executions",
         "flows": "flows", "flow": "flows", "kfl": "flows"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("get", help="list executions or flows", description="List Executions or Flows.")
    parser.add_argument("kind", choices=sorted(KINDS), metavar="executions|flows").complete = completion.KINDS
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these")
    parser.add_argument("--output", "-o", choices=("wide", "yaml", "json", "name"), help="wide: more columns; yaml, json: the resources")
    parser.add_argument("--selector", "-l", metavar="SELECTOR", help="a label selector on the resources, e.g. team=data")
    add_cluster_args(parser, all_namespaces=True)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kflow.client.kube import connect

    plural = KINDS[args.kind]
    cluster = connect(args)
    kwargs = {"label_selector": args.selector} if args.selector else {}
    if args.names:
        items = [cluster.get(plural, name) for name in args.names]
    else:
        items = cluster.list(plural, all_namespaces=args.all_namespaces, **kwargs)
    if args.output in ("yaml", "json"):
        dump(items, args.output)
        return 0
    if args.output == "name":
        for item in items:
            print(f"{plural[:-1]}.kflow.io/{item['metadata']['name']}")
        return 0
    if not items and not args.names:
        where = "any namespace" if args.all_namespaces else f"namespace {cluster.namespace}"
        print(f"No {plural} found in {where}.", file=sys.stderr)
        return 0
    rows = (execution_rows if plural == "executions" else flow_rows)(items, wide=args.output == "wide")
    if args.all_namespaces:
        rows = [["NAMESPACE", *rows[0]]] + [[item["metadata"].get("namespace", ""), *row] for item, row in zip(items, rows[1:])]
    print_table(rows)
    return 0


def dump(items: list[dict[str, Any]], fmt: str) -> None:
    doc: Any = items[0] if len(items) == 1 else {"apiVersion": "v1", "kind": "List", "items": items}
    if fmt == "json":
        json.dump(doc, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        import yaml

        yaml.safe_dump(doc, sys.stdout, sort_keys=False, allow_unicode=True)


def execution_rows(items: list[dict[str, Any]], wide: bool = False) -> list[list[str]]:
    from kflow.client.executions import human_duration, parse_instant, span
    from kflow.execution.status import ExecutionStatus

    items.sort(key=lambda i: i["metadata"].get("creationTimestamp") or "")
    header = ["NAME", "FLOW", "STATE", "PROGRESS", "START", "DURATION"]
    if wide:
        header += ["EXECUTION ID", "NAMESPACE (KESTRA)", "LABELS", "ERROR"]
    rows = [header]
    for item in items:
        spec = item.get("spec") or {}
        status = ExecutionStatus.summary(item.get("status"))
        start = parse_instant(status.startDate)
        row = [
            item["metadata"]["name"],
            status.flowId or (spec.get("flowRef") or {}).get("name", ""),
            status.current or "PENDING",
            status.progress or "-",
            start.strftime("%Y-%m-%d %H:%M:%S") if start else "-",
            human_duration(span(status.state_info)),
        ]
        if wide:
            labels = status.labels or spec.get("labels") or {}
            row += [status.id or "-", status.namespace or "-",
                    ",".join(f"{k}={v}" for k, v in labels.items()) or "-", _one_line(status.error) or "-"]
        rows.append(row)
    return rows


def flow_rows(items: list[dict[str, Any]], wide: bool = False) -> list[list[str]]:
    header = ["NAME", "ID", "NAMESPACE (KESTRA)", "REVISION", "VALID", "TASKS"]
    if wide:
        header += ["INPUTS", "PROBLEM"]
    rows = [header]
    for item in sorted(items, key=lambda i: i["metadata"]["name"]):
        spec = item.get("spec") or {}
        status = item.get("status") or {}
        condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Valid"), {})
        row = [
            item["metadata"]["name"], str(spec.get("id") or item["metadata"]["name"]), str(spec.get("namespace") or "-"),
            str(status.get("revision") or "-"), status.get("valid") or "-", str(len(spec.get("tasks") or [])),
        ]
        if wide:
            inputs = ",".join(f"{i.get('id') or i.get('name')}:{i.get('type')}" for i in spec.get("inputs") or [] if isinstance(i, dict))
            row += [inputs or "-", _one_line(condition.get("message")) if condition.get("status") == "False" else "-"]
        rows.append(row)
    return rows


def _one_line(text: str | None, size: int = 80) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("   ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
