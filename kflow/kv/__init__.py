"""Kestra's KV store: values by namespace and key, kept across executions.

The engine reads and writes it only through `KVStore`, which the shell gives each execution:
a directory for `kflow run` (`directory.py`), ConfigMaps on a cluster
(`kflow.operator.kv_configmaps`). Runner processes and pods never reach it: KV tasks run where
the engine runs, and `kv()` values a task names are passed in with its variables.
"""

from kflow.kv.store import KVEntry, KVError, KVStore, check_key, check_namespace, snapshot

__all__ = ["KVEntry", "KVError", "KVStore", "check_key", "check_namespace", "snapshot"]
