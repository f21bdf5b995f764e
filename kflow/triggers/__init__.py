"""Kestra's Schedule and Flow triggers, pure: models, cron, due dates, names, variables.

`models` (what a flow declares, validated at load), `cron` (expressions and DST rules),
`schedule` (due dates per recoverMissedSchedules, `trigger.date/next/previous`),
`flow_trigger` (which ended executions start a flow, `trigger.executionId/outputs/...`),
`names` (deterministic Execution names). No I/O, no clock: the operator's `triggers`
module does the watching, the timers and the API calls.
"""
