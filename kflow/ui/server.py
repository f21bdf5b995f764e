"""The web UI's HTTP server (aiohttp): the page, its JSON API and its server-sent events.

Flow and Execution resources are the only store. Lists of executions come from the watch hub's
cache (one watch per process); one execution, flows, logs and every action go to the API
server with the request's credentials (kflow/ui/access.py), through the same functions as the
CLI (kflow/client): `control` (kill, restart, resume, replay), `create` (inputs checked as
`kflow execute` checks them, then the Execution created), `logs.LogReader` (a pod's
log, else the copy kept in internal storage). The kubernetes client is synchronous: its calls
run in threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from kflow.client.inputs import UsageError
from kflow.client.kube import ClusterError, NotFound
from kflow.client.logs import ran_in_pod
from kflow.execution.status import ExecutionStatus
from kflow.ui import views
from kflow.ui.access import COOKIE, SESSION_SECONDS, Access, NamespaceRefused, SignInRequired
from kflow.ui.hub import Subscriber, WatchHub
from kflow.ui.sources import ClusterSource, Source

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
PAGE_SIZES = (25, 50, 100, 200)
GANTT_LIMIT = 1500  # task runs beyond which the chart has one bar per task (kflow.ui.taskruns.by_task), not per run
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
PAGES = ("/", "/flows", "/executions", "/dashboard", "/signin")

ACCESS: web.AppKey[Access] = web.AppKey("access", Access)
HUB: web.AppKey[WatchHub] = web.AppKey("hub", WatchHub)
OPTIONS: web.AppKey[dict] = web.AppKey("options", dict)
SOURCE: web.AppKey[Source] = web.AppKey("source", object)


def make_app(access: Access, hub: WatchHub, storage: str | None = None, loopback_only: bool = False,
             source: Source | None = None) -> web.Application:
    """The application; `hub` is started and stopped with it. `source`: the cluster by default."""
    app = web.Application(middlewares=[_guard, _errors], client_max_size=64 * 1024 * 1024)
    app[ACCESS] = access
    app[HUB] = hub
    app[OPTIONS] = {"storage": storage, "loopback_only": loopback_only}
    app[SOURCE] = source or ClusterSource()
    app.on_startup.append(_start_hub)
    app.on_shutdown.append(_stop_hub)
    r = app.router
    for page in PAGES:
        r.add_get(page, _index)
    r.add_get("/flows/{namespace}/{name}", _index)
    r.add_get("/executions/{namespace}/{name}", _index)
    r.add_static("/static/", STATIC, append_version=False)
    r.add_get("/healthz", _healthz)
    r.add_get("/api/config", _config)
    r.add_post("/api/signin", _sign_in)
    r.add_post("/api/signout", _sign_out)
    r.add_get("/api/namespaces", _namespaces)
    r.add_get("/api/flows", _flows)
    r.add_get("/api/flows/{namespace}/{name}", _flow)
    r.add_post("/api/flows/{namespace}/{name}/execute", _execute)
    r.add_get("/api/executions", _executions)
    r.add_get("/api/executions/{namespace}/{name}", _execution)
    r.add_get("/api/executions/{namespace}/{name}/gantt.svg", _gantt)
    r.add_get("/api/executions/{namespace}/{name}/logs", _logs)
    r.add_get("/api/executions/{namespace}/{name}/file", _file)
    r.add_post("/api/executions/{namespace}/{name}/replay", _replay)
    r.add_post("/api/executions/{namespace}/{name}/{action:kill|restart|resume}", _action)
    r.add_get("/api/dashboard", _dashboard)
    r.add_get("/api/events", _events)
    return app


async def _start_hub(app: web.Application) -> None:
    app[HUB].start()


async def _stop_hub(app: web.Application) -> None:
    app[HUB].stop()


# -- middlewares ----------------------------------------------------------------------------------------
@web.middleware
async def _guard(request: web.Request, handler: Callable):
    """Refuse what a hostile page in the same browser could send: other Host names on loopback
    (DNS rebinding), and state changes without the UI's own header (cross-site requests)."""
    if request.app[OPTIONS]["loopback_only"]:
        host = (request.host or "").rsplit(":", 1)[0] if not (request.host or "").startswith("[") else request.host.split("]")[0] + "]"
        if host not in LOOPBACK_HOSTS:
            return _problem(421, f"this UI answers on 127.0.0.1 or localhost, not {request.host!r}")
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.headers.get("X-Kflow-UI") != "1":
        return _problem(403, "requests that change something must come from the kflow UI (X-Kflow-UI header)")
    return await handler(request)


@web.middleware
async def _errors(request: web.Request, handler: Callable):
    """Every failure as one JSON message (never a traceback), with a status that says whose fault."""
    from kflow.flow import FlowError
    from kflow.flow.inputs import InputsError

    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except SignInRequired as err:
        return _problem(401, str(err))
    except NamespaceRefused as err:
        return _problem(403, str(err))
    except InputsError as err:
        return web.json_response({"error": "invalid inputs", "problems": [p.model_dump() for p in err.problems]}, status=400)
    except FlowError as err:
        return _problem(400, str(err))
    except NotFound as err:
        return _problem(404, str(err))
    except UsageError as err:
        return _problem(409, str(err))
    except ClusterError as err:
        text = str(err)
        return _problem(403 if "access denied (403)" in text else 401 if "access denied (401)" in text else 502, text)
    except TimeoutError as err:
        return _problem(503, str(err))
    except Exception as err:  # the API server unreachable, or a bug: say so in one line
        from kflow.client.kube import connection_message, is_connection_error

        if is_connection_error(err):
            return _problem(502, connection_message(err))
        log.exception("unexpected error serving %s", request.path)
        return _problem(500, f"{type(err).__name__}: {err}")


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


# -- helpers ----------------------------------------------------------------------------------------------
def _session(request: web.Request) -> str | None:
    return request.cookies.get(COOKIE)


def _cluster(request: web.Request, namespace: str | None = None):
    return request.app[ACCESS].cluster(_session(request), namespace)


async def _blocking(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def _readable_namespaces(request: web.Request, wanted: str | None) -> set[str] | None:
    """The namespaces a list may show (None: all the hub sees), after the session's RBAC check."""
    access = request.app[ACCESS]
    if wanted:
        access.check_namespace(wanted)
        await _blocking(access.may_list, _session(request), wanted)
        return {wanted}
    if not access.all_namespaces:
        await _blocking(access.may_list, _session(request), access.namespace)
        return {access.namespace}
    if access.mode == "token":
        raise NamespaceRefused("pick a namespace (namespace=NS): in token mode the UI checks your rights per namespace")
    return None


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- pages and config ---------------------------------------------------------------------------------------
async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache", **_SECURITY_HEADERS})


_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def _healthz(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    return web.json_response({"ready": hub.ready.is_set(), "executions": len(hub.summaries), "watches": hub.watches_started,
                              "subscribers": len(hub.subscribers), "error": hub.error})


async def _config(request: web.Request) -> web.Response:
    access = request.app[ACCESS]
    user = None
    if access.mode == "token":
        try:
            user = access.session(_session(request)).user
        except SignInRequired:
            user = None
    return web.json_response({
        "namespace": access.namespace, "allNamespaces": access.all_namespaces, "auth": access.mode,
        "signedIn": access.mode != "token" or user is not None, "user": user, "allowActions": access.allow_actions,
        "server": access.base.server,
    })


async def _sign_in(request: web.Request) -> web.Response:
    access = request.app[ACCESS]
    if access.mode != "token":
        return _problem(400, "this UI uses its own credentials (started without --auth token)")
    body = await _json(request)
    session_id, user = await _blocking(access.sign_in, str(body.get("token") or ""))
    response = web.json_response({"user": user})
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="Strict", max_age=SESSION_SECONDS, secure=request.secure)
    return response


async def _sign_out(request: web.Request) -> web.Response:
    request.app[ACCESS].sign_out(_session(request))
    response = web.json_response({"signedOut": True})
    response.del_cookie(COOKIE)
    return response


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise UsageError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise UsageError("the request body should be a JSON object")
    return body


async def _namespaces(request: web.Request) -> web.Response:
    """The namespace picker's choices (`namespaces` null: these credentials may not list them, type one)."""
    access = request.app[ACCESS]
    found = await _blocking(access.namespaces, _session(request))
    return web.json_response({"namespaces": found, "default": access.namespace})


# -- flows --------------------------------------------------------------------------------------------------------
async def _flows(request: web.Request) -> web.Response:
    access = request.app[ACCESS]
    wanted = request.query.get("namespace") or None
    namespaces = await _readable_namespaces(request, wanted)
    cluster = _cluster(request, wanted)
    everywhere = namespaces is None
    items = await _blocking(request.app[SOURCE].list_flows, cluster, everywhere)
    last = _last_executions(request.app[HUB].snapshot())
    flows = [views.flow_summary(body, last.get(((body["metadata"].get("namespace") or ""), body["metadata"]["name"]), [])[:5]) for body in items]
    flows.sort(key=lambda f: (f["namespace"], f["name"]))
    return web.json_response({"flows": flows, "namespace": wanted or (None if access.all_namespaces else access.namespace)})


def _last_executions(summaries: list[views.ExecutionSummary]) -> dict[tuple[str, str], list[views.ExecutionSummary]]:
    by_flow: dict[tuple[str, str], list[views.ExecutionSummary]] = {}
    for item in sorted(summaries, key=lambda s: s.created or "", reverse=True):
        by_flow.setdefault((item.namespace, item.flow), []).append(item)
    return by_flow


async def _flow(request: web.Request) -> web.Response:
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    cluster = _cluster(request, namespace)
    body = await _blocking(request.app[SOURCE].get_flow, cluster, name)
    runs = _last_executions(request.app[HUB].snapshot()).get((namespace, name), [])
    detail = views.flow_detail(body, runs[:100])
    detail["executable"] = request.app[SOURCE].can_execute and request.app[ACCESS].allow_actions
    return web.json_response(detail)


async def _execute(request: web.Request) -> web.Response:
    """Start an Execution from the form: inputs checked as `kflow execute` checks them."""
    source = request.app[SOURCE]
    if not (source.can_execute and request.app[ACCESS].allow_actions):
        return _problem(403, "this UI does not start executions (read-only, or a local run)")
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    cluster = _cluster(request, namespace)
    with tempfile.TemporaryDirectory(prefix="kflow-ui-upload-") as folder:
        given, labels = await _form_values(request, Path(folder))
        body = await _blocking(source.get_flow, cluster, name)
        created = await _blocking(source.execute, cluster, body, given, labels, request.app[OPTIONS]["storage"])
    return web.json_response({"namespace": namespace, "name": created}, status=201)


async def _form_values(request: web.Request, folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Inputs and labels from JSON ({inputs, labels}) or a multipart form (FILE inputs as files,
    saved under `folder` and given on as `@path`, as `kflow execute -i x=@path` does)."""
    if request.content_type != "multipart/form-data":
        body = await _json(request)
        inputs, labels = body.get("inputs") or {}, body.get("labels") or {}
        if not isinstance(inputs, dict) or not isinstance(labels, dict):
            raise UsageError("`inputs` and `labels` are JSON objects")
        return inputs, {str(k): str(v) for k, v in labels.items()}
    given: dict[str, Any] = {}
    labels: dict[str, str] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        field = part.name or ""
        if part.filename:
            target = folder / str(len(given)) / (Path(part.filename).name or "upload")  # the file keeps its name in storage
            target.parent.mkdir()
            with target.open("wb") as out:
                while chunk := await part.read_chunk():
                    out.write(chunk)
            given[field.removeprefix("input.")] = f"@{target}"
        elif field == "labels":
            labels = {str(k): str(v) for k, v in json.loads(await part.text() or "{}").items()}
        elif field.startswith("input."):
            given[field.removeprefix("input.")] = await part.text()  # as typed: checked as `-i key=value` is
        elif field.startswith("input-list."):  # MULTISELECT choices, as a JSON array
            try:
                given[field.removeprefix("input-list.")] = json.loads(await part.text())
            except ValueError:
                raise UsageError(f"{field}: expected a JSON array") from None
    return given, labels


# -- executions -----------------------------------------------------------------------------------------------------
async def _executions(request: web.Request) -> web.Response:
    """The executions list, from the hub's cache: filtered, newest first, one page."""
    hub = request.app[HUB]
    query = request.query
    namespaces = await _readable_namespaces(request, query.get("namespace") or None)
    await hub.wait_ready()
    items = _filter(hub.snapshot(), namespaces, query)
    items.sort(key=lambda s: (s.created or "", s.name), reverse=True)
    size = int(query.get("size") or 50)
    size = size if size in PAGE_SIZES else 50
    pages = max((len(items) + size - 1) // size, 1)
    page = min(max(int(query.get("page") or 1), 1), pages)
    now = _now()
    rows = [{**s.model_dump(), "duration": views.duration_seconds(s.start, s.end, now)} for s in items[(page - 1) * size: page * size]]
    return web.json_response({"executions": rows, "total": len(items), "page": page, "pages": pages, "size": size,
                              "flows": sorted({s.flow for s in hub.snapshot() if namespaces is None or s.namespace in namespaces}),
                              "namespaces": sorted({s.namespace for s in hub.snapshot()}) if namespaces is None else sorted(namespaces)})


def _filter(items: list[views.ExecutionSummary], namespaces: set[str] | None, query) -> list[views.ExecutionSummary]:
    flow, state, label = query.get("flow") or "", query.get("state") or "", query.get("label") or ""
    since = views.instant(query.get("since"))
    parent = query.get("parent") or ""
    key, _, value = label.partition("=")
    out = []
    for item in items:
        if namespaces is not None and item.namespace not in namespaces:
            continue
        if flow and item.flow != flow and item.flowId != flow:
            continue
        if state and item.state != state:
            continue
        if parent and item.parent != parent:
            continue
        if key and (key not in item.labels or (value and item.labels[key] != value)):
            continue
        if since is not None and (views.instant(item.start or item.created) or since) < since:
            continue
        out.append(item)
    return out


async def _execution(request: web.Request) -> web.Response:
    from kflow.client.logs import runnable_tasks

    namespace, name = request.match_info["namespace"], request.match_info["name"]
    cluster = _cluster(request, namespace)
    body = await _blocking(request.app[SOURCE].get_execution, cluster, name)
    flow_snapshot = ExecutionStatus.read(body.get("status")).flow
    try:
        page = int(request.query.get("page") or 0)
    except ValueError:
        raise UsageError("page is a number (0 for the first page of task runs)") from None
    detail = await _blocking(views.execution_detail, body, runnable_tasks(flow_snapshot), _now(), page, views.TASK_PAGE,
                             request.query.get("task") or None)
    hub = request.app[HUB]
    detail["children"] = [{"name": s.name, "state": s.state, "flow": s.flow} for s in hub.snapshot()
                          if s.namespace == namespace and s.parent == name]
    detail["allowActions"] = request.app[ACCESS].allow_actions
    available = request.app[SOURCE].actions
    detail["actions"] = {name: allowed and name in available for name, allowed in detail["actions"].items()}
    detail["ganttAvailable"] = detail["taskRunsTotal"] > 0
    detail["ganttByTask"] = detail["taskRunsTotal"] > GANTT_LIMIT
    detail["topology"] = await _blocking(views.snapshot_topology, flow_snapshot)
    return web.json_response(detail)


async def _gantt(request: web.Request) -> web.Response:
    """The execution's Gantt chart: kflow/gantt's SVG, as `kflow gantt -o run.svg` writes it; above
    GANTT_LIMIT task runs, one bar per task (built from the task-run index: nothing decoded or typed)."""
    from dataclasses import replace

    from kflow.client.gantt import chart_from_body
    from kflow.execution.status import flow_order
    from kflow.gantt import render_svg
    from kflow.ui import taskruns

    namespace, name = request.match_info["namespace"], request.match_info["name"]
    cluster = _cluster(request, namespace)
    body = await _blocking(request.app[SOURCE].get_execution, cluster, name)
    width = min(max(int(request.query.get("width") or 1100), 500), 2400)
    status = body.get("status") or {}
    entries = await _blocking(taskruns.index, status, flow_order(status.get("flow")))
    counts: dict[str, int] = {}
    if len(entries) > GANTT_LIMIT:
        summary, counts = taskruns.by_task(entries)
        body = {**body, "status": {**{k: v for k, v in status.items() if k not in ("archive", "removed")},
                                   "taskRuns": {run["id"]: run for run in summary}}}
    chart = await _blocking(chart_from_body, body, _now())
    if counts:
        chart = replace(chart, bars=tuple(replace(bar, runs=counts.get(bar.task_id, 1)) for bar in chart.bars))
    svg = await _blocking(render_svg, chart, width)
    return web.Response(text=svg, content_type="image/svg+xml", headers={"Cache-Control": "no-store"})


async def _logs(request: web.Request) -> web.Response:
    """One attempt's log lines, from its pod or the copy in internal storage, as `kflow logs` reads them."""
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    taskrun_id = request.query.get("taskrun") or ""
    try:
        attempt = int(request.query.get("attempt") or 0)
    except ValueError:
        raise UsageError("attempt is a number (0 for the first)") from None
    cluster = _cluster(request, namespace)
    body = await _blocking(request.app[SOURCE].get_execution, cluster, name)
    status = ExecutionStatus.read(body.get("status"))
    taskrun = next((run for run in status.task_runs() if run.id == taskrun_id), None)
    if taskrun is None:
        raise NotFound(f"execution {name!r} has no task run {taskrun_id!r}")
    attempts = taskrun.attempts
    if not 0 <= attempt < len(attempts):
        return web.json_response({"lines": [], "message": "no attempt started yet", "state": taskrun.state.current.value})
    storage = request.app[OPTIONS]["storage"]
    lines = await _blocking(request.app[SOURCE].log_lines, cluster, name, status, taskrun, attempt, storage)
    message = None
    if lines is None:
        reason = attempts[attempt].reason
        message = f"no pod ran: {reason}" if reason and not ran_in_pod(attempts[attempt]) else (
            "no log found: the pod was collected" + ("" if storage else "; start the UI with --storage (or KFLOW_STORAGE) to read the logs runners kept"))
    return web.json_response({"lines": lines or [], "message": message, "state": attempts[attempt].state.current.value})


async def _file(request: web.Request) -> web.StreamResponse:
    """A file of the execution (an input or an output URI it records), from internal storage."""
    from kflow.storage.base import StorageError

    namespace, name = request.match_info["namespace"], request.match_info["name"]
    uri = request.query.get("uri") or ""
    source = request.app[SOURCE]
    body = await _blocking(source.get_execution, _cluster(request, namespace), name)
    status = ExecutionStatus.read(body.get("status"))
    recorded = [status.inputs, status.outputs, *(run.outputs for run in status.task_runs())]
    if not uri.startswith("kestra://") or uri not in _strings(recorded):
        raise NotFound(f"execution {name!r} records no file {uri!r}")
    storage = await _blocking(source.storage, request.app[OPTIONS]["storage"])
    if storage is None:
        raise UsageError("files are in internal storage: start the UI with --storage (or KFLOW_STORAGE)")
    try:
        handle = await _blocking(storage.open, uri)
    except (StorageError, OSError) as err:
        raise NotFound(f"{uri}: {err}") from None
    filename = uri.rsplit("/", 1)[-1].replace('"', "") or "file"
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream", "Content-Disposition": f'attachment; filename="{filename}"'})
    await response.prepare(request)
    try:
        while chunk := await _blocking(handle.read, 1 << 20):
            await response.write(chunk)
    finally:
        handle.close()
    return response


def _strings(value: Any) -> set[str]:
    out: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


async def _action(request: web.Request) -> web.Response:
    access = request.app[ACCESS]
    if not access.allow_actions:
        return _problem(403, "this UI is read-only (ui.allowActions is false)")
    namespace, name, action = request.match_info["namespace"], request.match_info["name"], request.match_info["action"]
    if action not in request.app[SOURCE].actions:
        return _problem(409, f"{action}: not available here")
    await _blocking(request.app[SOURCE].action, _cluster(request, namespace), name, action)
    return web.json_response({"requested": action, "name": name})


async def _replay(request: web.Request) -> web.Response:
    access = request.app[ACCESS]
    if not access.allow_actions:
        return _problem(403, "this UI is read-only (ui.allowActions is false)")
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    body = await _json(request)
    created = await _blocking(request.app[SOURCE].replay, _cluster(request, namespace), name, str(body.get("taskRunId") or ""))
    return web.json_response({"namespace": namespace, "name": created}, status=201)


async def _dashboard(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    namespaces = await _readable_namespaces(request, request.query.get("namespace") or None)
    await hub.wait_ready()
    items = [s for s in hub.snapshot() if namespaces is None or s.namespace in namespaces]
    return web.json_response(views.dashboard(items, _now()))


# -- live updates ------------------------------------------------------------------------------------------------------
async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: each change of an Execution the session may see, from the one watch."""
    hub = request.app[HUB]
    namespaces = await _readable_namespaces(request, request.query.get("namespace") or None)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    subscriber = Subscriber(asyncio.get_running_loop(), namespaces)
    hub.subscribe(subscriber)  # before the headers: once the browser sees the stream open, no change is missed
    try:
        await response.prepare(request)
        await response.write(b"retry: 2000\n\n")
        while True:
            try:
                message = await asyncio.wait_for(subscriber.queue.get(), timeout=15)
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            await response.write(f"data: {json.dumps(message, separators=(',', ':'))}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.unsubscribe(subscriber)
    return response
