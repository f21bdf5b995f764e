"""Webhook triggers, pure: which trigger a call names, what the run sees, what the caller gets back.

The operator's `webhook` module does the HTTP and the API calls; this module decides. Kestra's
rules: the body is parsed as JSON when it is a JSON object or array, else kept as text;
headers and query parameters are maps of name -> list of values; a key that names no enabled
Webhook trigger of the flow is "not found"; unmet `conditions` start nothing (HTTP 204).
"""

from __future__ import annotations

import hmac
import json
import secrets
import string
from typing import Any, Iterable

from kflow.flow.model import Flow
from kflow.flow.triggers import Webhook
from kflow.triggers.names import _join, _slug

WEBHOOK_TYPE = "io.kestra.plugin.core.trigger.Webhook"
_SUFFIX = string.ascii_lowercase + string.digits


class ConditionError(ValueError):
    """A condition that could not be rendered: the caller answers 422 naming it."""


def find_trigger(flow: Flow, key: str) -> Webhook | None:
    """The enabled Webhook trigger of `flow` whose key is `key` (compared in constant time)."""
    found = None
    for trigger in flow.triggers:
        if isinstance(trigger, Webhook) and not trigger.disabled and hmac.compare_digest(trigger.key.encode(), key.encode()):
            found = found or trigger
    return found


def parse_body(raw: bytes) -> Any:
    """A JSON object or array parsed, anything else as text (undecodable bytes replaced); None when empty."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return text


def multimap(pairs: Iterable[tuple[str, str]], lower: bool = False) -> dict[str, list[str]]:
    """Name -> every value, in order (headers lower-cased: HTTP names are case-insensitive)."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name.lower() if lower else name, []).append(value)
    return out


def trigger_variables(body: Any, headers: dict[str, list[str]], parameters: dict[str, list[str]]) -> dict[str, Any]:
    """`trigger.body`, `trigger.headers`, `trigger.parameters` of the run."""
    return {"body": body, "headers": headers, "parameters": parameters}


def conditions_met(trigger: Webhook, flow: Flow, variables: dict[str, Any]) -> bool:
    """Every Expression condition renders true; ConditionError names one that does not render."""
    from kflow.expr import ExpressionError, render_value

    context = {"trigger": variables, "flow": {"id": flow.id, "namespace": flow.namespace, "revision": flow.revision}}
    for i, condition in enumerate(trigger.conditions):
        try:
            value = render_value(condition.expression, context)
        except ExpressionError as err:
            raise ConditionError(f"triggers.{trigger.id}.conditions[{i}].expression: {err}") from None
        if not (value is True or (isinstance(value, str) and value.strip().lower() == "true")):
            return False
    return True


def render_inputs(trigger: Webhook, flow: Flow, variables: dict[str, Any]) -> dict[str, Any]:
    """The trigger's `inputs`, rendered with `trigger.*` (ExpressionError names the bad one)."""
    from kflow.triggers.flow_trigger import render_inputs as render

    return render(trigger.inputs, {"trigger": variables, "flow": {"id": flow.id, "namespace": flow.namespace}})


def execution_name(flow_name: str, trigger_id: str) -> str:
    """`<flow>-<trigger>-<10 random characters>`: every call is a new run, as in Kestra."""
    return _join([_slug(flow_name), _slug(trigger_id)], "".join(secrets.choice(_SUFFIX) for _ in range(10)))


def response(execution_id: str, flow: Flow, trigger: Webhook, variables: dict[str, Any], labels: dict[str, Any], created: str) -> dict[str, Any]:
    """The body Kestra answers a webhook call with: the new execution, as just created."""
    return {
        "id": execution_id,
        "namespace": flow.namespace,
        "flowId": flow.id,
        "flowRevision": flow.revision,
        "trigger": {"id": trigger.id, "type": trigger.type, "variables": variables},
        "outputs": {},
        "labels": [{"key": k, "value": v} for k, v in labels.items()],
        "state": {"current": "CREATED", "histories": [{"state": "CREATED", "date": created}]},
    }
