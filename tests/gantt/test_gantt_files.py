"""The SVG and HTML renderers, checked by parsing what they write."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser

from kflow.gantt import build_chart, render_html, render_svg
from tests.gantt.synthetic import at, execution, mixed_states, parallel_then_sequential, ran, taskrun

NS = {"svg": "http://www.w3.org/2000/svg"}


def svg_of(chart) -> ET.Element:
    return ET.fromstring(render_svg(chart))


def taskrun_rects(root: ET.Element) -> dict[str, ET.Element]:
    rects = root.findall(".//svg:rect[@data-taskrun]", NS)
    by_id = {r.get("data-taskrun"): r for r in rects}
    assert len(by_id) == len(rects), "one rect per task run"
    return by_id


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


def test_one_rect_per_task_run_with_its_data():
    root = svg_of(build_chart(parallel_then_sequential()))
    rects = taskrun_rects(root)
    assert set(rects) == {"p", "a", "b", "c"}
    a = rects["a"]
    assert (a.get("data-task"), a.get("data-state"), a.get("data-parent")) == ("task1", "SUCCESS", "p")
    assert instant(a.get("data-start")) == at(0.1) and instant(a.get("data-end")) == at(3)
    assert root.get("data-execution") == "exec1"
    attempts = root.findall(".//svg:rect[@data-attempt]", NS)
    assert len(attempts) == 3 and all(r.get("data-taskrun") is None for r in attempts)


def test_bars_sit_on_the_shared_time_axis():
    rects = taskrun_rects(svg_of(build_chart(parallel_then_sequential())))

    def extent(r):
        return float(r.get("x")), float(r.get("x")) + float(r.get("width"))

    a, b, p, c = (extent(rects[k]) for k in "abpc")
    assert a[0] < b[1] and b[0] < a[1], "parallel bars overlap"
    assert c[0] >= p[1], "the task after the Parallel starts where it ends"
    assert p[0] < a[0] < c[0]
    # y grows down the tree: rows in tree order.
    assert [float(rects[k].get("y")) for k in "pabc"] == sorted(float(rects[k].get("y")) for k in "pabc")


def test_colours_by_state_as_kestra_shows_them():
    chart = build_chart(mixed_states(), now=at(10))
    fills = {tid: rgb(r.get("fill")) for tid, r in taskrun_rects(svg_of(chart)).items()}
    r, g, b = fills["ok"]
    assert g > r and g > b, "SUCCESS is green"
    r, g, b = fills["bad"]
    assert r > g and r > b, "FAILED is red"
    r, g, b = fills["warn"]
    assert r > g > b, "WARNING is orange"
    r, g, b = fills["run"]
    assert b > r and b > g, "RUNNING is blue"
    for grey in ("gone", "skip"):
        assert max(fills[grey]) - min(fills[grey]) < 40, f"{grey} is grey"
    assert len({fills[k] for k in ("ok", "bad", "warn", "run")}) == 4


def test_running_bar_reaches_now_and_says_so():
    rects = taskrun_rects(svg_of(build_chart(mixed_states(), now=at(10))))
    run = rects["run"]
    assert run.get("data-running") == "true" and "running" in run.get("class")
    assert instant(run.get("data-end")) == at(10)
    assert rects["ok"].get("data-running") is None


def test_axis_ticks_labels_durations_and_legend():
    root = svg_of(build_chart(parallel_then_sequential()))
    ticks = root.findall(".//svg:text[@class='tick-label']", NS)
    seconds = [float(t.text.removesuffix("s")) for t in ticks]
    assert seconds[0] == 0 and 6 - (seconds[1] - seconds[0]) < seconds[-1] <= 6  # the 6 s axis, covered
    assert len({round(b - a, 6) for a, b in zip(seconds, seconds[1:])}) == 1, "even steps"
    xs = [float(t.get("x")) for t in ticks]
    assert xs == sorted(xs) and 3 <= len(xs) <= 16
    labels = [t.text for t in root.findall(".//svg:text[@class='label']", NS)]
    assert labels == ["parallel", "task1", "task2", "after"]
    durations = [t.text for t in root.findall(".//svg:text[@class='duration']", NS)]
    assert durations == ["4.0s", "2.9s", "3.9s", "2.0s"]
    legend = {g.get("data-state") for g in root.findall(".//svg:g[@class='legend-item']", NS)}
    assert {"SUCCESS", "FAILED", "WARNING", "RUNNING"} <= legend


def test_loop_values_and_odd_characters_survive_xml():
    chart = build_chart(execution([
        taskrun("e", "each", ran(0, 2)),
        taskrun("i1", "item", ran(0, 1), parent="e", value='<a & "b">', attempts=[ran(0, 1)]),
    ]))
    root = svg_of(chart)
    assert taskrun_rects(root)["i1"].get("data-value") == '<a & "b">'
    assert 'item[<a & "b">]' in [t.text for t in root.findall(".//svg:text[@class='label']", NS)]


class _Page(HTMLParser):
    """The parts of the page the tests read: title, h1, table rows, every tag's attributes."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.rows: list[list[str]] = []
        self.text: dict[str, str] = {"title": "", "h1": "", "meta": ""}
        self._in: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag in ("title", "h1") or attrs.get("class") == "meta":
            self._in = "meta" if attrs.get("class") == "meta" else tag
        if tag == "tr" and "data-taskrun" in attrs:
            self.rows.append([])
        if tag == "td" and self.rows:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("title", "h1", "div"):
            self._in = None
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip().replace("\xa0", ""))
            self._cell = None

    def handle_data(self, data):
        if self._in:
            self.text[self._in] += data
        if self._cell is not None:
            self._cell.append(data)


def test_html_page_has_title_chart_and_table():
    page = _Page()
    page.feed(render_html(build_chart(mixed_states(), now=at(10))))
    assert "company.team.demo" in page.text["title"] and "exec1" in page.text["h1"]
    assert "RUNNING" in page.text["meta"] and "10s" in page.text["meta"]
    assert [tag for tag, _ in page.tags].count("svg") == 1
    assert len([a for t, a in page.tags if t == "rect" and "data-taskrun" in a]) == 6
    by_task = {row[0]: row for row in page.rows}
    assert list(by_task) == ["ok", "warn", "bad", "gone", "skip", "run"]
    assert by_task["bad"][2:4] == ["FAILED", "2"] and by_task["bad"][5] == "5.0s" and by_task["bad"][6] == "exit code 3"
    assert by_task["run"][5] == "5.0s (running)"
    assert by_task["ok"][4] == "2026-03-01T10:00:00Z"


def test_html_page_needs_nothing_from_outside():
    page = _Page()
    page.feed(render_html(build_chart(parallel_then_sequential())))
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "img", "iframe"), tag
        for key in ("src", "href"):
            assert key not in attrs, (tag, attrs)
