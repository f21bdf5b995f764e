"""A flow's topology graph, laid out for the browser to draw as SVG. Pure: no I/O.

Input: the nested task tree `views.topology_node` makes (flowables with named branches, Dag
items with `dependsOn`). Output: absolute boxes and polylines, top to bottom:
- a task is a node; a flowable is a group (a labelled cluster) around its branches;
- a branch's tasks run one after another (arrows between them), side by side for a Parallel,
  in layers by `dependsOn` for a Dag (one arrow per dependency); a flowable's branches (then/else,
  switch cases, its own errors and finally) stand side by side, each in a labelled box;
- the flow's own `errors` and `finally` branches are boxes beside its tasks, drawn distinctly.

Written here rather than vendored (dagre, ELK): a Kestra flow is a tree of sequences with Dags
only inside their own group, so nested boxes lay it out exactly, in ~200 lines, with no JavaScript
to pin; edges never cross groups. The browser only draws what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

NODE_W, NODE_H = 176, 44
GAP_Y = 30  # between blocks one after another: room for an arrow
GAP_X = 18  # between blocks side by side
PAD = 10  # inside a group or a branch box
HEADER = 26  # a group's title line
BRANCH_LABEL = 18  # a branch box's title line
PARALLEL_TYPES = {"Parallel"}
DAG_TYPES = {"Dag"}
OWN_BRANCHES = {"errors", "finally"}  # a task list of the flow or a flowable that is not its main line

Emit = Callable[[float, float, dict[str, list]], None]


@dataclass
class Block:
    """A laid-out piece, relative to its own top left; `emit(x, y, out)` writes it at (x, y)."""

    w: float
    h: float
    emit: Emit
    first: str | None = None  # the task an arrow into this block points at
    last: str | None = None  # the task an arrow out of this block leaves from
    ids: list[str] = field(default_factory=list)


def layout(topology: dict[str, Any]) -> dict[str, Any]:
    """{width, height, nodes, branches, edges} for `{"branches": [{"name", "tasks": [node...]}]}`."""
    main: list[dict] = []
    extra: list[tuple[str, list[dict]]] = []
    for branch in topology.get("branches") or []:
        if branch["name"] == "tasks":
            main = branch["tasks"]
        else:
            extra.append((branch["name"], branch["tasks"]))
    blocks = [_sequence(main)] + [_branch_box(None, name, tasks, None) for name, tasks in extra]
    whole = _row(blocks)
    out: dict[str, list] = {"nodes": [], "branches": [], "edges": []}
    whole.emit(PAD, PAD, out)
    return {"width": whole.w + 2 * PAD, "height": whole.h + 2 * PAD, **out}


# -- blocks ----------------------------------------------------------------------------------------------
def _task(node: dict[str, Any]) -> Block:
    return _group(node) if node.get("branches") else _leaf(node)


def _leaf(node: dict[str, Any]) -> Block:
    def emit(x: float, y: float, out: dict[str, list]) -> None:
        out["nodes"].append(_node(node, x, y, NODE_W, NODE_H, group=False))

    return Block(NODE_W, NODE_H, emit, node["id"], node["id"], [node["id"]])


def _group(node: dict[str, Any]) -> Block:
    """A flowable: its title, then its branches side by side (one unlabelled box for a lone `tasks`)."""
    branches = node["branches"]
    lone = len(branches) == 1 and branches[0]["name"] == "tasks"
    inner = [_branch_body(node, b["tasks"]) for b in branches] if lone else \
        [_branch_box(node["id"], b["name"], b["tasks"], node) for b in branches]
    body = _row(inner)
    w = max(body.w + 2 * PAD, NODE_W)
    h = HEADER + body.h + 2 * PAD

    def emit(x: float, y: float, out: dict[str, list]) -> None:
        out["nodes"].append(_node(node, x, y, w, h, group=True))
        body.emit(x + (w - body.w) / 2, y + HEADER + PAD, out)

    return Block(w, h, emit, node["id"], node["id"], [node["id"], *body.ids])


def _branch_body(owner: dict[str, Any] | None, tasks: list[dict]) -> Block:
    kind = (owner or {}).get("type")
    if kind in PARALLEL_TYPES:
        return _row([_task(t) for t in tasks])
    if kind in DAG_TYPES:
        return _dag(tasks)
    return _sequence(tasks)


def _branch_box(owner_id: str | None, name: str, tasks: list[dict], owner: dict[str, Any] | None) -> Block:
    """A named branch (a case, then/else, errors, finally) in its own labelled box."""
    body = _branch_body(owner if name == "tasks" else None, tasks)
    w = max(body.w + 2 * PAD, NODE_W + 2 * PAD)
    h = BRANCH_LABEL + body.h + 2 * PAD
    kind = name if name in OWN_BRANCHES else "branch"

    def emit(x: float, y: float, out: dict[str, list]) -> None:
        out["branches"].append({"owner": owner_id, "name": name, "kind": kind, "x": x, "y": y, "w": w, "h": h})
        body.emit(x + (w - body.w) / 2, y + BRANCH_LABEL + PAD, out)

    return Block(w, h, emit, body.first, body.last, body.ids)


def _sequence(tasks: list[dict]) -> Block:
    """Tasks one after another, centred, an arrow from each to the next."""
    blocks = [_task(t) for t in tasks]
    if not blocks:
        return Block(0, 0, lambda x, y, out: None)
    w = max(b.w for b in blocks)
    h = sum(b.h for b in blocks) + GAP_Y * (len(blocks) - 1)

    def emit(x: float, y: float, out: dict[str, list]) -> None:
        top = y
        previous: tuple[Block, float] | None = None
        for block in blocks:
            bx = x + (w - block.w) / 2
            block.emit(bx, top, out)
            if previous is not None:
                before, bottom = previous
                cx = x + w / 2
                out["edges"].append(_edge(before.last, block.first, "sequence", [(cx, bottom), (cx, top)]))
            previous = (block, top + block.h)
            top += block.h + GAP_Y

    return Block(w, h, emit, blocks[0].first, blocks[-1].last, [i for b in blocks for i in b.ids])


def _row(blocks: list[Block]) -> Block:
    """Blocks side by side, tops aligned (parallel branches, or alternatives)."""
    blocks = [b for b in blocks if b.w]
    if not blocks:
        return Block(0, 0, lambda x, y, out: None)
    w = sum(b.w for b in blocks) + GAP_X * (len(blocks) - 1)
    h = max(b.h for b in blocks)

    def emit(x: float, y: float, out: dict[str, list]) -> None:
        left = x
        for block in blocks:
            block.emit(left, y, out)
            left += block.w + GAP_X

    first = blocks[0].first if len(blocks) == 1 else None
    return Block(w, h, emit, first, first, [i for b in blocks for i in b.ids])


def _dag(tasks: list[dict]) -> Block:
    """A Dag's tasks in layers (a task one layer below its deepest dependency), an arrow per dependency."""
    known = {t["id"] for t in tasks}
    layer: dict[str, int] = {}
    for _ in range(len(tasks) + 1):  # longest path by relaxation; a cycle (refused upstream) just stops
        changed = False
        for t in tasks:
            deps = [d for d in t.get("dependsOn") or [] if d in known and d != t["id"]]
            depth = 1 + max((layer.get(d, 0) for d in deps), default=-1)
            if layer.get(t["id"]) != depth:
                layer[t["id"]], changed = depth, True
        if not changed:
            break
    layers: list[list[dict]] = []
    for t in tasks:
        depth = min(layer[t["id"]], len(tasks))
        while len(layers) <= depth:
            layers.append([])
        layers[depth].append(t)
    rows = [[_task(t) for t in items] for items in layers if items]
    widths = [sum(b.w for b in row) + GAP_X * (len(row) - 1) for row in rows]
    w = max(widths, default=0)
    h = sum(max(b.h for b in row) for row in rows) + GAP_Y * (len(rows) - 1)

    def emit(x: float, y: float, out: dict[str, list]) -> None:
        anchors: dict[str, tuple[float, float, float]] = {}  # id -> (centre x, top, bottom)
        top = y
        for row, width in zip(rows, widths):
            left = x + (w - width) / 2
            for block in row:
                block.emit(left, top, out)
                anchors[block.first] = (left + block.w / 2, top, top + block.h)
                left += block.w + GAP_X
            top += max(b.h for b in row) + GAP_Y
        for t in tasks:
            for dep in t.get("dependsOn") or []:
                if dep in anchors and dep != t["id"]:
                    (x1, _, y1), (x2, y2, _) = anchors[dep], anchors[t["id"]]
                    out["edges"].append(_edge(dep, t["id"], "dependsOn", [(x1, y1), (x1, y1 + GAP_Y / 2), (x2, y2 - GAP_Y / 2), (x2, y2)]))

    return Block(w, h, emit, None, None, [i for row in rows for b in row for i in b.ids])


# -- output items ------------------------------------------------------------------------------------------
def _node(node: dict[str, Any], x: float, y: float, w: float, h: float, group: bool) -> dict[str, Any]:
    item = {"id": node["id"], "type": node.get("type"), "x": x, "y": y, "w": w, "h": h, "group": group}
    if node.get("disabled"):
        item["disabled"] = True
    if node.get("subflow"):
        item["subflow"] = node["subflow"]
    return item


def _edge(source: str | None, target: str | None, kind: str, points: list[tuple[float, float]]) -> dict[str, Any]:
    return {"from": source, "to": target, "kind": kind, "points": [[round(px, 1), round(py, 1)] for px, py in points]}
