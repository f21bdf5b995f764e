"""Which Events the operator posts (pure; the cluster side is in test_operator.py)."""

from kflow.operator.event_policy import worth_posting


def test_failures_and_endings_are_posted_transitions_are_not():
    assert worth_posting("TaskFailed", "Warning") and worth_posting("ExecutionKilled", "Warning")
    assert worth_posting("TriggerFailed", "Warning")
    assert worth_posting("ExecutionSuccess", "Normal") and worth_posting("TaskWaiting", "Normal")
    assert worth_posting("TaskWarning", "Normal")
    for reason in ("Started", "TaskRunning", "TaskSuccess", "TaskCreated", "TaskSkipped"):
        assert not worth_posting(reason, "Normal"), reason


def test_a_trigger_that_stopped_itself_is_posted():
    """stopAfter stops a trigger until the Flow is edited: the Flow's Events must say so."""
    from kflow.operator.event_policy import worth_posting

    assert worth_posting("TriggerStopped", "Normal") and not worth_posting("TaskRunning", "Normal")
