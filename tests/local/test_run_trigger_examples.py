"""The trigger examples of issue 16 run locally with `kflow run`, which ignores their triggers."""

from __future__ import annotations

import pytest

from tests.local.test_run_examples import run_json, runs


@pytest.mark.parametrize(
    "example, task, value",
    [
        ("webhook-github-push.yaml", "push", "local no ref (run by hand)"),
        ("schedule-backfill.yaml", "report", "report for today"),
        ("flow-trigger-preconditions.yaml", "join", "joining after a run by hand"),
        ("http-trigger-poll.yaml", "price", "price now unknown"),
    ],
)
def test_trigger_examples_run_locally_without_their_triggers(example, task, value):
    execution = run_json(example)
    assert execution["state"]["current"] == "SUCCESS"
    assert runs(execution)[task]["outputs"]["value"] == value
