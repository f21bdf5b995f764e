"""The HTTP polling trigger, pure: when to call, what the condition sees, what the run sees.

The operator's triggers module makes the call (aiohttp) on the Flow's timer; this module
decides. Kestra's names: the condition sees `response.statusCode`, `response.body` (text),
`response.headers` (name -> list of values); the run sees `trigger.uri`, `trigger.code`,
`trigger.headers`, `trigger.body`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kflow.flow.triggers import HttpTrigger


class PollError(ValueError):
    """A request or condition that could not be rendered: the Flow gets a warning Event."""


@dataclass(frozen=True)
class Request:
    method: str
    uri: str
    headers: dict[str, str]
    body: str | None


def request(trigger: HttpTrigger, flow_context: dict[str, Any]) -> Request:
    """The call to make, its expressions rendered with `flow.*`."""
    from kflow.expr import ExpressionError, render_value

    try:
        rendered = render_value({"uri": trigger.uri, "headers": trigger.headers, "body": trigger.body}, {"flow": flow_context})
    except ExpressionError as err:
        raise PollError(f"triggers.{trigger.id}: {err}") from None
    headers = dict(rendered["headers"])
    if trigger.contentType and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = trigger.contentType
    return Request(trigger.method, str(rendered["uri"]), headers, rendered["body"])


def response_context(status: int, headers: dict[str, list[str]], body: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": headers, "body": body}


def condition_met(trigger: HttpTrigger, response: dict[str, Any], flow_context: dict[str, Any]) -> bool:
    """`responseCondition` rendered true (a boolean, or the text "true")."""
    from kflow.expr import ExpressionError, render_value

    try:
        value = render_value(trigger.responseCondition, {"response": response, "flow": flow_context})
    except ExpressionError as err:
        raise PollError(f"triggers.{trigger.id}.responseCondition: {err}") from None
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def trigger_variables(uri: str, response: dict[str, Any]) -> dict[str, Any]:
    """`trigger.*` of the run the response starts."""
    return {"uri": uri, "code": response["statusCode"], "headers": response["headers"], "body": response["body"]}


def due(trigger: HttpTrigger, last: datetime | None, now: datetime) -> bool:
    return last is None or now >= last + timedelta(seconds=trigger.interval_seconds)


def next_call(trigger: HttpTrigger, last: datetime) -> datetime:
    return last + timedelta(seconds=trigger.interval_seconds)
