"""The runner: executes one runnable task from a JSON invocation and reports its result.

The same entrypoint runs as a local process (`kflow run`) and inside a pod (operator).
"""
