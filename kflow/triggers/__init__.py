"""Kestra's Schedule and Flow triggers, pure: models, cron, due dates, names, variables.

The models (what a flow declares, validated at load) and cron (expressions and DST rules) are
the flow language's, in `kflow.flow.triggers` and `kflow.flow.cron`; here:
`schedule` (due dates per recoverMissedSchedules, `trigger.date/next/previous`),
`flow_trigger` (which ended executions start a flow, `trigger.executionId/outputs/...`),
`names` (deterministic Execution names). No I/O, no clock: the operator's `triggers`
module does the watching, the timers and the API calls.
"""
