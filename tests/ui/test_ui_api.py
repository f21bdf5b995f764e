"""The web UI server's JSON API and live events, against an in-memory double of the Kubernetes
API (tests/ui/kube_double.py: real HTTP, real `kubernetes` client, no cluster). Fast; the
browser tests on the real cluster are tests/ui/test_ui_browser.py."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests.ui.kube_double import Rights
from tests.ui.resources import execution, flow, taskrun


def wait_for(check, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_flows_list_shows_each_flow_with_its_last_executions(double, ui_factory):
    double.put("flows", flow())
    double.put("flows", flow("other"))
    double.put("executions", execution("hello-1", "FAILED"))
    double.put("executions", execution("hello-2", "SUCCESS"))
    ui = ui_factory()
    wait_for(lambda: ui.get("/healthz").json()["executions"] == 2)
    flows = {f["name"]: f for f in ui.get("/api/flows").json()["flows"]}
    assert set(flows) == {"hello", "other"}
    assert {e["name"]: e["state"] for e in flows["hello"]["lastExecutions"]} == {"hello-1": "FAILED", "hello-2": "SUCCESS"}
    assert flows["other"]["lastExecutions"] == []
    assert ui.get("/").status_code == 200 and "app.js" in ui.get("/").text


def test_executions_list_filters_and_pages_a_thousand(double, ui_factory):
    for i in range(1000):
        double.put("executions", execution(f"run-{i:04d}", "FAILED" if i % 10 == 0 else "SUCCESS",
                                           labels={"team": "a" if i % 2 else "b"}, flow_name="hello" if i < 600 else "other"))
    ui = ui_factory()
    page = ui.get("/api/executions?size=50").json()
    assert page["total"] == 1000 and page["pages"] == 20 and len(page["executions"]) == 50
    assert page["executions"][0]["name"] == "run-0999"  # newest first
    failed = ui.get("/api/executions?state=FAILED&size=200").json()
    assert failed["total"] == 100 and all(e["state"] == "FAILED" for e in failed["executions"])
    assert ui.get("/api/executions?flow=other&label=team=a").json()["total"] == 200
    last = ui.get("/api/executions?size=200&page=5").json()
    assert last["page"] == 5 and last["executions"][-1]["name"] == "run-0000"


def test_execution_page_reads_archived_chunks_through_the_status_contract(double, ui_factory):
    loop = taskrun("loop", "loop", "SUCCESS")
    archived = [[taskrun(f"say{i}", "say", "SUCCESS", parent="loop", value=str(i)) for i in range(50)]]
    live = [loop, taskrun("say50", "say", "FAILED", parent="loop", value="50", reason="exit code 3"), taskrun("last", "last", "SUCCESS")]
    double.put("executions", execution("big", "FAILED", runs=live, archived=archived, error="say[50] failed"))
    ui = ui_factory()
    detail = ui.get("/api/executions/team/big").json()
    rows = detail["taskRuns"]
    assert len(rows) == 53
    assert rows[0]["taskId"] == "loop" and rows[0]["depth"] == 0
    assert all(r["depth"] == 1 for r in rows if r["taskId"] == "say")
    assert next(r for r in rows if r["id"] == "say50")["attempts"][0]["reason"] == "exit code 3"
    assert detail["error"] == "say[50] failed" and detail["state"] == "FAILED"
    assert detail["actions"] == {"kill": False, "restart": True, "resume": False, "replay": True}
    svg = ui.get("/api/executions/team/big/gantt.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.count('class="taskrun') == 53


def test_kill_goes_through_the_cli_function_and_is_refused_once_ended(double, ui_factory):
    double.put("executions", execution("running", "RUNNING", runs=[taskrun("a", "last", "RUNNING")]))
    double.put("executions", execution("done", "SUCCESS"))
    ui = ui_factory()
    assert ui.post("/api/executions/team/running/kill").status_code == 200
    assert double.get("executions", "team", "running")["spec"]["kill"] is True
    refused = ui.post("/api/executions/team/done/kill")
    assert refused.status_code == 409 and "already ended SUCCESS" in refused.json()["error"]


def test_resume_restart_and_replay(double, ui_factory):
    double.put("executions", execution("paused", "PAUSED", runs=[taskrun("p", "wait", "PAUSED")]))
    double.put("executions", execution("failed", "FAILED", runs=[taskrun("a", "last", "FAILED")]))
    ui = ui_factory()
    assert ui.get("/api/executions/team/paused").json()["actions"]["resume"] is True
    assert ui.post("/api/executions/team/paused/resume").status_code == 200
    assert double.get("executions", "team", "paused")["spec"]["resume"] == 1
    assert ui.post("/api/executions/team/failed/restart").status_code == 200
    assert double.get("executions", "team", "failed")["spec"]["restart"] == 1
    replay = ui.post("/api/executions/team/failed/replay", {"taskRunId": "a"})
    assert replay.status_code == 201
    created = double.get("executions", "team", replay.json()["name"])
    assert created["spec"]["replay"] == {"execution": "failed", "taskRunId": "a"} and created["spec"]["flowRef"] == {"name": "hello"}
    assert ui.post("/api/executions/team/failed/replay", {"taskRunId": "nope"}).status_code == 409


def test_execute_checks_inputs_as_kflow_execute_does(double, ui_factory):
    double.put("flows", flow())
    ui = ui_factory()
    detail = ui.get("/api/flows/team/hello").json()
    assert [i["id"] for i in detail["inputs"]] == ["name", "count", "mode"]
    assert detail["inputs"][2]["values"] == ["fast", "slow"]
    assert [n["id"] for n in detail["topology"]["branches"][0]["tasks"]] == ["loop", "last"]
    assert detail["topology"]["branches"][1]["name"] == "errors"
    bad = ui.post("/api/flows/team/hello/execute", {"inputs": {"count": "zero", "mode": "medium"}})
    assert bad.status_code == 400
    problems = {p["input"]: p for p in bad.json()["problems"]}
    assert set(problems) == {"name", "count", "mode"}
    assert problems["count"]["type"] == "INT" and "zero" in problems["count"]["message"]
    assert not [k for k in double.objects if k[0] == "executions"]  # nothing created
    good = ui.post("/api/flows/team/hello/execute", {"inputs": {"name": "kflow", "count": "3"}, "labels": {"team": "docs"}})
    assert good.status_code == 201
    created = double.get("executions", "team", good.json()["name"])
    assert created["spec"]["inputs"] == {"name": "kflow", "count": 3} and created["spec"]["labels"] == {"team": "docs"}


def test_execute_from_a_multipart_form(double, ui_factory):
    double.put("flows", flow())
    ui = ui_factory()
    answer = ui.http.post(ui.url + "/api/flows/team/hello/execute", headers={"X-Kflow-UI": "1"},
                          files={"input.name": (None, "form"), "input.count": (None, "2"), "labels": (None, '{"a": "b"}')})
    assert answer.status_code == 201, answer.text
    created = double.get("executions", "team", answer.json()["name"])
    assert created["spec"]["inputs"] == {"name": "form", "count": 2} and created["spec"]["labels"] == {"a": "b"}


def test_live_events_come_from_one_watch_whatever_the_tabs(double, ui_factory):
    double.put("executions", execution("live", "RUNNING", runs=[taskrun("a", "last", "RUNNING")]))
    ui = ui_factory()
    wait_for(lambda: ui.get("/healthz").json()["ready"])
    seen: list[list[dict]] = [[], [], []]

    def tab(index: int) -> None:
        with httpx.Client(timeout=30) as http, http.stream("GET", ui.url + "/api/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    seen[index].append(json.loads(line[6:]))
                    if seen[index][-1].get("execution", {}).get("state") == "SUCCESS":
                        return

    tabs = [threading.Thread(target=tab, args=(i,), daemon=True) for i in range(3)]
    for thread in tabs:
        thread.start()
    wait_for(lambda: ui.get("/healthz").json()["subscribers"] == 3)
    double.put("executions", execution("live", "SUCCESS"))
    for thread in tabs:
        thread.join(15)
    assert all(s and s[-1]["execution"]["name"] == "live" and s[-1]["execution"]["state"] == "SUCCESS" for s in seen)
    assert double.watch_requests == 1 and ui.get("/healthz").json()["watches"] == 1


def test_a_namespace_outside_the_ui_is_refused(double, ui_factory):
    double.put("executions", execution("elsewhere", namespace="other"))
    ui = ui_factory(namespace="team")
    answer = ui.get("/api/executions/other/elsewhere")
    assert answer.status_code == 403 and "serves namespace 'team'" in answer.json()["error"]


def test_changes_need_the_ui_header_and_a_loopback_host(double, ui_factory):
    double.put("executions", execution("running", "RUNNING", runs=[taskrun("a", "last", "RUNNING")]))
    ui = ui_factory()
    forged = ui.http.post(ui.url + "/api/executions/team/running/kill")
    assert forged.status_code == 403 and "kill" not in double.get("executions", "team", "running")["spec"]
    rebound = ui.get("/api/config", headers={"Host": "attacker.example:8090"})
    assert rebound.status_code == 421


def test_read_only_ui_refuses_actions(double, ui_factory):
    double.put("executions", execution("running", "RUNNING", runs=[taskrun("a", "last", "RUNNING")]))
    ui = ui_factory(allow_actions=False)
    assert ui.get("/api/config").json()["allowActions"] is False
    assert ui.post("/api/executions/team/running/kill").status_code == 403
    assert "kill" not in double.get("executions", "team", "running")["spec"]


def test_token_mode_a_read_only_token_cannot_kill(double, ui_factory):
    double.tokens["reader-token"] = Rights("reader", {"get", "list", "watch"})
    double.tokens["operator-token"] = Rights("operator")
    double.put("executions", execution("running", "RUNNING", runs=[taskrun("a", "last", "RUNNING")]))
    ui = ui_factory(mode="token")
    assert ui.get("/api/executions").status_code == 401  # no session yet
    assert ui.post("/api/signin", {"token": "wrong"}).status_code == 401
    signed = ui.post("/api/signin", {"token": "reader-token"})
    assert signed.status_code == 200 and signed.json()["user"] == "reader"
    assert ui.get("/api/executions/team/running").json()["state"] == "RUNNING"
    refused = ui.post("/api/executions/team/running/kill")
    assert refused.status_code == 403 and "cannot patch" in refused.json()["error"]
    assert "kill" not in double.get("executions", "team", "running")["spec"]
    ui.http.cookies.clear()
    assert ui.post("/api/signin", {"token": "operator-token"}).status_code == 200
    assert ui.post("/api/executions/team/running/kill").status_code == 200
    assert double.get("executions", "team", "running")["spec"]["kill"] is True


def test_logs_of_a_collected_pod_say_where_to_look(double, ui_factory):
    double.put("executions", execution("done", "FAILED", runs=[taskrun("a", "last", "FAILED", reason="exit code 1")]))
    ui = ui_factory()
    answer = ui.get("/api/executions/team/done/logs?taskrun=a&attempt=0").json()
    assert answer["lines"] == [] and "pod was collected" in answer["message"] and "--storage" in answer["message"]
    assert ui.get("/api/executions/team/done/logs?taskrun=zzz").status_code == 404


def test_dashboard_counts_states_and_failing_flows(double, ui_factory):
    for i in range(6):
        double.put("executions", execution(f"d{i}", "FAILED" if i < 2 else "SUCCESS", flow_name="hello" if i % 2 else "other"))
    ui = ui_factory()
    board = ui.get("/api/dashboard").json()
    assert board["states"] == {"FAILED": 2, "SUCCESS": 4} and board["total"] == 6
    assert {f["flow"]: f["failed"] for f in board["failing"]} == {"hello": 1, "other": 1}
    assert len(board["timeline"]) == 24


@pytest.mark.parametrize("path", ["/api/executions/team/missing", "/api/flows/team/missing"])
def test_missing_objects_are_404_with_one_message(double, ui_factory, path):
    ui = ui_factory()
    answer = ui.get(path)
    assert answer.status_code == 404 and "not found" in answer.json()["error"]


def test_file_input_uploaded_from_the_form_then_downloaded(double, ui_factory, tmp_path):
    spec = {"id": "files", "namespace": "company.team", "inputs": [{"id": "data", "type": "FILE"}],
            "tasks": [{"id": "show", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ inputs.data }}"}]}
    double.put("flows", flow("files", spec=spec))
    storage = f"dir:{tmp_path}"
    ui = ui_factory(storage=storage)
    created = ui.http.post(ui.url + "/api/flows/team/files/execute", headers={"X-Kflow-UI": "1"},
                           files={"input.data": ("data.csv", b"a,b\n1,2\n", "text/csv")})
    assert created.status_code == 201, created.text
    uri = double.get("executions", "team", created.json()["name"])["spec"]["inputs"]["data"]
    assert uri.startswith("kestra:///company/team/files/executions/") and uri.endswith("/inputs/data/data.csv")
    double.put("executions", {**execution("with-file"), "status": {**execution("with-file")["status"], "inputs": {"data": uri}}})
    download = ui.get("/api/executions/team/with-file/file", params={"uri": uri})
    assert download.status_code == 200 and download.content == b"a,b\n1,2\n"
    assert 'filename="data.csv"' in download.headers["content-disposition"]
    other = ui.get("/api/executions/team/with-file/file", params={"uri": "kestra:///company/team/other/secret.txt"})
    assert other.status_code == 404, "only files the execution records"
    bare = ui_factory()  # a UI without --storage says where files go
    refused = bare.http.post(bare.url + "/api/flows/team/files/execute", headers={"X-Kflow-UI": "1"},
                             files={"input.data": ("data.csv", b"x", "text/csv")})
    assert refused.status_code == 409 and "--storage" in refused.json()["error"]


def test_form_text_is_taken_as_typed_and_multiselect_as_a_list(double, ui_factory):
    spec = {"id": "typed", "namespace": "company.team",
            "inputs": [{"id": "note", "type": "STRING"}, {"id": "picks", "type": "MULTISELECT", "values": ["a", "b", "c"]}],
            "tasks": [{"id": "show", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ inputs.note }}"}]}
    double.put("flows", flow("typed", spec=spec))
    ui = ui_factory()
    answer = ui.http.post(ui.url + "/api/flows/team/typed/execute", headers={"X-Kflow-UI": "1"},
                          files={"input.note": (None, "[not a list]"), "input-list.picks": (None, '["a", "c"]')})
    assert answer.status_code == 201, answer.text
    assert double.get("executions", "team", answer.json()["name"])["spec"]["inputs"] == {"note": "[not a list]", "picks": ["a", "c"]}


def test_a_big_execution_is_paged_by_the_server_and_its_gantt_summed_up_per_task(double, ui_factory):
    from kflow.execution.status import taskruns_from_status
    from kflow.ui.server import GANTT_LIMIT

    n = GANTT_LIMIT + 100
    runs = [taskrun("loop", "loop", "RUNNING")] + [
        taskrun(f"e{i:04d}", "say", "FAILED" if i == 7 else "SUCCESS", parent="loop", value=str(i), start=i, end=i + 1) for i in range(n)]
    body = execution("big", "RUNNING", runs=runs[:51], archived=[runs[j:j + 50] for j in range(51, n + 1, 50)])
    double.put("executions", body)
    ui = ui_factory()
    detail = ui.get("/api/executions/team/big").json()
    assert (detail["taskRunsTotal"], len(detail["taskRuns"]), detail["taskPages"]) == (n + 1, 200, (n + 1 + 199) // 200)
    assert detail["taskStates"] == {"loop": {"state": "RUNNING", "runs": 1}, "say": {"state": "FAILED", "runs": n}}
    contract = [run["id"] for run in taskruns_from_status(double.get("executions", "team", "big")["status"])]
    pages = [ui.get(f"/api/executions/team/big?page={p}").json()["taskRuns"] for p in range(detail["taskPages"])]
    assert [row["id"] for rows in pages for row in rows] == ["loop"] + [i for i in contract if i != "loop"], "every run once, parent first, as the status contract orders them"
    only = ui.get("/api/executions/team/big?task=loop").json()
    assert [r["id"] for r in only["taskRuns"]] == ["loop"] and only["taskRunsMatching"] == 1
    assert ui.get("/api/executions/team/big?page=x").status_code == 409
    assert detail["ganttAvailable"] and detail["ganttByTask"]
    svg = ui.get("/api/executions/team/big/gantt.svg").text
    assert svg.count('class="taskrun') == 2 and f"say ×{n}" in svg
