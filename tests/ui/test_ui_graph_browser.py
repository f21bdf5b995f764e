"""The topology graph in Debian's Chromium (Playwright): the UI server runs against the in-memory
Kubernetes API double (tests/ui/kube_double.py), so the graph's shape, live colours, keyboard use,
narrow window and dark theme are checked in seconds. The same page against the real cluster and
operator: tests/ui/test_ui_browser.py."""

from __future__ import annotations

import copy
import time

import pytest
import yaml

from tests.ui.conftest import artifacts
from tests.ui.resources import execution, flow, taskrun
from tests.ui.test_ui_topology import FLOW

SPEC = yaml.safe_load(FLOW)


def shapes_execution(right: str) -> dict:
    runs = [taskrun("r1", "first", "SUCCESS"), taskrun("r2", "fan", "RUNNING" if right == "RUNNING" else "FAILED"),
            taskrun("r3", "left", "SUCCESS", parent="r2"), taskrun("r4", "right", right, parent="r2", reason="exit code 3" if right == "FAILED" else None)]
    body = execution("shapes-1", "RUNNING", runs=runs, flow_name="shapes")
    body["status"]["flow"] = copy.deepcopy(SPEC)
    body["status"]["flowId"] = "shapes"
    return body


@pytest.fixture
def shapes_ui(double, ui_factory):
    double.put("flows", flow("shapes", spec=SPEC))
    double.put("executions", shapes_execution("RUNNING"))
    ui = ui_factory()
    return ui


def node(page, task: str):
    return page.locator(f'svg.graph [data-node="{task}"]')


def test_flow_page_draws_the_graph_with_groups_edges_and_branches(shapes_ui, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(shapes_ui.url + "/flows/team/shapes")
    page.locator("#flow-graph svg.graph").wait_for()
    nodes = page.locator("svg.graph [data-node]").evaluate_all("els => els.map(e => e.dataset.node)")
    assert sorted(nodes) == sorted(["first", "fan", "left", "right", "graph", "root", "mid", "side", "leaf", "choose", "yep", "nope",
                                    "last", "alert", "cleanup"])
    assert node(page, "fan").get_attribute("class") == "node group"
    assert page.locator('svg.graph polyline.edge.sequence[data-from="first"][data-to="fan"]').count() == 1
    assert page.locator('svg.graph polyline.edge.dependsOn[data-from="mid"][data-to="leaf"]').count() == 1
    assert page.locator('svg.graph g.branch.errors').count() == 1 and page.locator('svg.graph g.branch.finally').count() == 1
    errors_stroke = page.locator("svg.graph g.branch.errors rect").evaluate("r => getComputedStyle(r).stroke")
    plain_stroke = page.locator('svg.graph g.branch[data-branch="then"] rect').evaluate("r => getComputedStyle(r).stroke")
    assert errors_stroke != plain_stroke, "errors drawn distinctly"
    page.screenshot(path=artifacts() / "flow-graph.png", full_page=True)

    # Keyboard: every task is reached with Tab; Enter opens its runs in the latest execution.
    node(page, "first").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.node") in nodes
    node(page, "right").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/executions/team/shapes-1?task=right")
    page.locator("#tasks-h").filter(has_text="Task runs of right").wait_for()
    assert page.locator("tr[data-taskrun]").count() == 1


def test_execution_graph_is_coloured_by_state_and_follows_changes_live(double, shapes_ui, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(shapes_ui.url + "/executions/team/shapes-1")
    page.locator("#execution-graph svg.graph").wait_for()
    assert node(page, "first").get_attribute("data-state") == "SUCCESS"
    assert node(page, "right").get_attribute("data-state") == "RUNNING"
    assert node(page, "leaf").get_attribute("data-state") is None, "not run yet: no state"
    success = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--SUCCESS').trim()")
    stripe = node(page, "first").locator(".stripe").evaluate("r => getComputedStyle(r).fill")
    assert stripe == _rgb(success), "the node is painted in its state's colour"
    page.evaluate("window.__sameDocument = true")

    # The API server's object changes: the node turns FAILED without a reload.
    changed = time.perf_counter()
    double.put("executions", shapes_execution("FAILED"))
    page.locator('svg.graph [data-node="right"][data-state="FAILED"]').wait_for(timeout=10_000)
    print(f"state change on the API server (double) to the graph in the DOM: {(time.perf_counter() - changed) * 1000:.0f} ms")
    assert page.evaluate("window.__sameDocument") is True
    assert node(page, "fan").get_attribute("data-state") == "FAILED"
    page.screenshot(path=artifacts() / "execution-graph.png", full_page=True)

    # Enter on a task: its runs only, and its log opened.
    node(page, "right").focus()
    page.keyboard.press("Enter")
    page.locator("#tasks-h").filter(has_text="Task runs of right (1 of 4)").wait_for()
    page.locator("#logs").wait_for()
    page.click("#show-all-tasks")  # the server sends the page of every task's runs
    page.locator("#tasks-h").filter(has_text="Task runs (4)").wait_for()
    assert page.locator("tr[data-taskrun]").count() == 4


def test_graph_in_a_narrow_window_and_the_dark_theme(shapes_ui, browser):
    page = browser.new_page(viewport={"width": 380, "height": 800}, color_scheme="dark")
    page.goto(shapes_ui.url + "/executions/team/shapes-1")
    page.locator("#execution-graph svg.graph").wait_for()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page itself does not scroll sideways"
    wrap = page.locator("#execution-graph")
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth"), "the graph scrolls in its own box"
    box_fill = node(page, "first").locator(".box").evaluate("r => getComputedStyle(r).fill")
    panel = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--panel').trim()")
    assert box_fill == _rgb(panel), "dark panel colour"
    page.screenshot(path=artifacts() / "execution-graph-narrow-dark.png", full_page=True)


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(h[i:i + 2], 16) for i in (0, 2, 4)))
