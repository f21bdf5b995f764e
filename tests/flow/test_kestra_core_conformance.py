"""The README's Kestra conformance table is generated from the registries and kept fresh."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kflow import conformance
from kflow.flow.registry import TASK_TYPES

ROOT = Path(__file__).parents[2]


def test_readme_table_is_what_the_registries_say_now():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert conformance.replace_table(readme, conformance.markdown()) == readme, \
        "stale: run python -m kflow.conformance --write README.md"


def test_every_core_task_type_kflow_registers_is_in_the_table():
    # `$` names are Kestra's internal plugins (ForEachItem's own split/items/merge tasks), never written in a flow
    core = {t.name for t in TASK_TYPES if t.name.startswith("io.kestra.plugin.core.") and "$" not in t.name}
    assert core - set(conformance.TASKS) == set()


def test_status_follows_the_registry():
    by_name = {row.name: row for row in conformance.rows()}
    assert by_name["io.kestra.plugin.core.debug.Echo"].status == "supported"
    assert by_name["io.kestra.plugin.core.flow.Pause"].status == "partly"
    assert by_name["io.kestra.plugin.core.flow.ForEachItem"].status == "partly"
    assert by_name["io.kestra.plugin.core.log.Fetch"].status == "partly"
    assert by_name["io.kestra.plugin.core.log.PurgeLogs"].status == "not"
    assert by_name["io.kestra.plugin.core.trigger.Schedule"].status == "partly"
    assert by_name["toIon"].status == "not" and by_name["sha256"].status == "supported"
    # a name the registry has is never reported "not", whatever its note says
    assert conformance._row("task", "io.kestra.plugin.core.debug.Echo", "not yet", {"io.kestra.plugin.core.debug.Echo"}).status == "supported"


def test_the_command_prints_the_table():
    proc = subprocess.run([sys.executable, "-m", "kflow.conformance"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0
    assert "| task | `io.kestra.plugin.core.flow.WaitFor` | supported |  |" in proc.stdout
