"""What the CLI and the web UI both do against a cluster: the connection (`kube`), reading and
following Executions (`executions`), creating (`create`) and controlling them (`control`),
their logs (`logs`) and Gantt charts (`gantt`). Below both, so neither imports the other.
"""
