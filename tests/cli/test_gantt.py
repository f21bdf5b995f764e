"""`kflow gantt EXECUTION` on the real cluster, and `kflow run FLOW --gantt FILE` locally."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

from tests.cli.conftest import run_kflow

ROOT = Path(__file__).parents[2]
NS = {"svg": "http://www.w3.org/2000/svg"}


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def taskrun_rects(svg_text: str) -> dict[str, ET.Element]:
    return {r.get("data-task"): r for r in ET.fromstring(svg_text).findall(".//svg:rect[@data-taskrun]", NS)}


def assert_parallel_chart(rects: dict[str, ET.Element]) -> None:
    """The getting-started Parallel: three children inside their parent's span, all SUCCESS."""
    assert set(rects) == {"parallel", "task1", "task2", "task3"}
    parent = rects["parallel"]
    for task in ("task1", "task2", "task3"):
        rect = rects[task]
        assert rect.get("data-parent") == parent.get("data-taskrun")
        assert rect.get("data-state") == "SUCCESS" and rect.get("data-depth") == "1"
        assert instant(parent.get("data-start")) <= instant(rect.get("data-start")) <= instant(rect.get("data-end")) <= instant(parent.get("data-end"))
        assert float(rect.get("y")) > float(parent.get("y"))


def test_local_run_writes_svg_and_html(tmp_path):
    svg = tmp_path / "run.svg"
    done = run_kflow("run", "examples/sample-parallel-task.yaml", "--quiet", "--gantt", str(svg))
    assert done.returncode == 0, done.stderr
    assert_parallel_chart(taskrun_rects(svg.read_text()))

    page = tmp_path / "run.html"
    done = run_kflow("run", "examples/errors-branch.yaml", "--quiet", "--gantt", str(page))
    assert done.returncode == 1  # the flow fails on purpose; the chart is written all the same
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "kflow.examples.errors-branch" in html
    assert 'data-task="broken"' in html and 'data-state="FAILED"' in html


@pytest.mark.parametrize("target, message", [
    ("chart.png", "expected a file name ending in .svg or .html"),
    ("no/such/dir/chart.svg", "does not exist"),
])
def test_a_bad_gantt_file_is_refused_before_running(tmp_path, target, message):
    done = run_kflow("run", "examples/sample-task.yaml", "--gantt", str(tmp_path / target))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert "Execution " not in done.stdout  # nothing ran


@pytest.mark.cluster
def test_gantt_of_a_finished_cluster_execution(cli_env, tmp_path):
    kflow = cli_env.kflow
    kflow.apply_flow((ROOT / "examples/sample-parallel-task.yaml").read_text())
    kflow.wait_flow("sample-parallel-task")
    kflow.execute("sample-parallel-task", "charted")
    kflow.wait("charted")

    svg = tmp_path / "charted.svg"
    done = cli_env.run("gantt", "charted", "--output", str(svg))
    assert done.returncode == 0, done.stderr
    assert_parallel_chart(taskrun_rects(svg.read_text()))

    page = tmp_path / "charted.html"
    assert cli_env.run("gantt", "charted", "-o", str(page)).returncode == 0
    assert "io.kestra.tests.sample-parallel-task" in page.read_text() and "SUCCESS" in page.read_text()

    done = cli_env.run("gantt", "charted")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("io.kestra.tests.sample-parallel-task ") and "SUCCESS" in lines[0]
    tree = [line.split("SUCCESS")[0].rstrip() for line in lines[2:]]
    assert tree == ["✔ parallel", "├─ ✔ task1", "├─ ✔ task2", "└─ ✔ task3"]
    assert all("█" in line for line in lines[2:])


@pytest.mark.cluster
def test_gantt_of_an_unknown_execution_is_one_line(cli_env):
    done = cli_env.run("gantt", "missing")
    assert done.returncode == 2
    assert done.stderr.strip() == f"kflow: execution 'missing' in namespace '{cli_env.namespace}' not found"
