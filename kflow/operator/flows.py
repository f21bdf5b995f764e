"""A Flow resource's spec as a Kestra flow: `id` defaults to the resource name."""

from __future__ import annotations

from typing import Any

from kflow.flow import FlowError, parse_flow
from kflow.flow.model import Flow


def flow_from_resource(body: dict[str, Any]) -> Flow:
    meta = body.get("metadata") or {}
    spec = dict(body.get("spec") or {})
    spec.setdefault("id", meta.get("name"))
    if spec.get("revision") is None and meta.get("generation"):
        spec["revision"] = meta["generation"]
    where = f"Flow {meta.get('namespace')}/{meta.get('name')}"
    return parse_flow(spec, source=where)


def flow_status(body: dict[str, Any], now: str) -> dict[str, Any]:
    """The status patch for a Flow: its revision and a Valid condition naming what is wrong."""
    meta = body.get("metadata") or {}
    try:
        flow = flow_from_resource(body)
    except FlowError as err:
        problems = "; ".join(str(p) for p in err.problems)
        condition = {"type": "Valid", "status": "False", "reason": "InvalidFlow", "message": problems[:4000]}
        revision = (body.get("spec") or {}).get("revision") or meta.get("generation")
        valid = "False"
    else:
        condition = {"type": "Valid", "status": "True", "reason": "Validated", "message": f"{len(flow.all_tasks())} tasks"}
        revision = flow.revision
        valid = "True"
    condition["lastTransitionTime"] = now
    return {"status": {"revision": revision, "observedGeneration": meta.get("generation"), "valid": valid, "conditions": [condition]}}
