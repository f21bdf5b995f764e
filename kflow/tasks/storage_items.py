"""Kestra's item tasks: FilterItems and DeduplicateItems, over a stored file of items, one a line.

Kestra stores items as Ion text; kflow reads and writes them as JSON lines (JSON is Ion text
without Ion's own syntax: a line that is not JSON fails the task, naming the line). Each
expression is rendered per item with the item's fields as variables (a map), and the item itself
as `value`. Files are streamed; DeduplicateItems keeps one entry per distinct key in memory, as
Kestra does (two passes: the last line of each key, then the rewrite).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal

from pydantic import Field

from kflow.flow.task import RunnableTask
from kflow.tasks.condition import truthy
from kflow.tasks.errors import TaskFailure
from kflow.tasks.storage_files import iter_lines, store_local

if TYPE_CHECKING:
    from kflow.runner.context import RunContext

MAX_KEYS = 1_000_000  # distinct keys DeduplicateItems keeps in memory


def items(path: Path) -> Iterator[tuple[int, Any, bytes]]:
    """(line number, item, the line) for each non-empty line of a local file of JSON lines."""
    with open(path, "rb") as stream:
        for number, line in enumerate(iter_lines(stream, "from"), 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), line
            except ValueError:
                raise TaskFailure(f"from: line {number} is not a JSON item (kflow reads Ion text only where it is JSON)") from None


def render_for(ctx: RunContext, expression: str, item: Any) -> str:
    """`expression` rendered with the item's fields (a map) and the item as `value`."""
    from kflow.expr import render_value

    variables = {**ctx.variables, "value": item, **(item if isinstance(item, dict) else {})}
    return render_value(expression, variables, secret=ctx.secret, read=ctx.read)


class FilterItems(RunnableTask):
    """Keep (INCLUDE) or drop (EXCLUDE) the items for which `filterCondition` is true."""

    unrendered = RunnableTask.unrendered | {"filterCondition"}

    from_: str = Field(alias="from", description="The kestra:// URI of the items file.")
    filterCondition: str = Field(description="Rendered per item; 0, -0, '' and false are false.")
    filterType: Literal["INCLUDE", "EXCLUDE"] = Field("INCLUDE", description="What to do with matching items.")
    errorOrNullBehavior: Literal["FAIL", "INCLUDE", "EXCLUDE"] = Field("FAIL", description="When the expression fails on an item.")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from kflow.expr import ExpressionError

        source = ctx.fetch(self.from_)
        result = Path(ctx.workdir) / ".kflow-filtered.ion"
        processed = dropped = 0
        with open(result, "wb") as out:
            for number, item, line in items(source):
                processed += 1
                try:
                    keep = truthy(render_for(ctx, self.filterCondition, item)) == (self.filterType == "INCLUDE")
                except ExpressionError as err:
                    if self.errorOrNullBehavior == "FAIL":
                        raise TaskFailure(f"filterCondition: line {number}: {err}") from None
                    keep = self.errorOrNullBehavior == "INCLUDE"
                if keep:
                    out.write(line + b"\n")
                else:
                    dropped += 1
        uri = store_local(ctx, result, "filtered.ion")
        return {"uri": uri, "processedItemsTotal": processed, "droppedItemsTotal": dropped}


class DeduplicateItems(RunnableTask):
    """Keep, for each key `expr` renders to, only the last item with that key (in file order)."""

    unrendered = RunnableTask.unrendered | {"expr"}

    from_: str = Field(alias="from", description="The kestra:// URI of the items file.")
    expr: str = Field(description="Rendered per item: its deduplication key.")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from kflow.expr import ExpressionError

        source = ctx.fetch(self.from_)
        last: dict[str, int] = {}
        try:
            for number, item, _ in items(source):
                key = render_for(ctx, self.expr, item)
                if key not in last and len(last) >= MAX_KEYS:
                    raise TaskFailure(f"expr: more than {MAX_KEYS} distinct keys")
                last[key] = number
        except ExpressionError as err:
            raise TaskFailure(f"expr: {err}") from None
        kept_lines = set(last.values())
        result = Path(ctx.workdir) / ".kflow-deduplicated.ion"
        processed = 0
        with open(result, "wb") as out:
            for number, _, line in items(source):
                processed += 1
                if number in kept_lines:
                    out.write(line + b"\n")
        uri = store_local(ctx, result, "deduplicated.ion")
        return {"uri": uri, "numKeys": len(last), "processedItemsTotal": processed, "droppedItemsTotal": processed - len(last)}
