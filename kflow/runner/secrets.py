"""Which secrets a task run may read, and where its runner finds them.

A task gets only the secrets it names as constants, `secret('NAME')` in its properties (its
children's too, for a WorkingDirectory): on a cluster its pod mounts only those keys of the
secrets Secret; locally `kflow run` hands only those to the runner, on its stdin, never in an
environment. A name computed at run time (`secret(inputs.x)`) cannot be known ahead, so such a
call fails, saying so, unless the task also names that secret as a constant.
"""

from __future__ import annotations

import base64
import os
from typing import Any


def env_secret(name: str, environ: dict[str, str] | None = None) -> str:
    """Secret NAME: the file NAME in KFLOW_SECRETS_DIR when set (a mounted Kubernetes Secret,
    raw value), else Kestra's open-source rule: the base64 of the variable SECRET_NAME."""
    env = os.environ if environ is None else environ
    directory = env.get("KFLOW_SECRETS_DIR")
    if directory and "/" not in name and name not in (".", ".."):
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            pass
    raw = env.get(f"SECRET_{name}")
    if raw is None:
        raise KeyError(f"secret {name!r} is not set: export SECRET_{name} as the base64 of its value")
    try:
        return base64.b64decode(raw, validate=True).decode()
    except ValueError:
        raise KeyError(f"secret {name!r}: SECRET_{name} is not valid base64") from None


# `kflow run` sends this on the runner's stdin (`--envelope`), so nothing private is in the
# runner's environment, its command line or a file.
ENVELOPE_HELP = 'stdin is JSON {"invocation": ..., "secrets": {NAME: value}, "storageCredentials": {VAR: value}}'
STORAGE_CREDENTIAL_VARS = ("KFLOW_STORAGE_ACCESS_KEY_ID", "KFLOW_STORAGE_SECRET_ACCESS_KEY", "KFLOW_STORAGE_SESSION_TOKEN")


def task_secret_names(task_def: dict[str, Any]) -> set[str]:
    """The secrets a task definition names as constants."""
    from kflow.expr import referenced_secrets

    return referenced_secrets(task_def)


class TaskSecrets:
    """The secrets one task may read: `given` values (from `kflow run`), else the mounted files
    / SECRET_* variables of the runner (in a pod: only the named keys are mounted)."""

    def __init__(self, task_id: str, names: set[str], given: dict[str, str] | None = None):
        self.task_id = task_id
        self.names = names
        self.given = given

    def read(self, name: str) -> str:
        if name not in self.names:
            named = ", ".join(f"secret({n!r})" for n in sorted(self.names)) or "no secret"
            raise PermissionError(
                f"task {self.task_id!r} names {named} as a constant; a task gets only the secrets it names "
                "that way (a computed name such as secret(inputs.x) is not known before it runs)"
            )
        if self.given is not None:
            if name not in self.given:
                raise KeyError(f"secret {name!r} is not set: export SECRET_{name} as the base64 of its value")
            return self.given[name]
        return env_secret(name)


def resolve_for(task_def: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, str]:
    """What `kflow run` hands a runner: the values of the secrets its task names, read here
    (SECRET_NAME as base64, or KFLOW_SECRETS_DIR); a name that is not set is left out."""
    out: dict[str, str] = {}
    for name in task_secret_names(task_def):
        try:
            out[name] = env_secret(name, environ)
        except KeyError:
            pass
    return out


def storage_credentials(environ: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {name: env[name] for name in STORAGE_CREDENTIAL_VARS if env.get(name)}


def fill_secret_inputs(invocation, environ: dict[str, str] | None = None):
    """In a pod, SECRET inputs are not in the invocation (its pod spec is readable by whoever
    may get pods): each is a file of the mount KFLOW_SECRET_INPUTS_DIR names, read here."""
    from kflow.execution.secret_inputs import DIR_ENV

    directory = (os.environ if environ is None else environ).get(DIR_ENV)
    if not directory or not invocation.secretInputs:
        return invocation
    inputs = dict(invocation.context.get("inputs") or {})
    for input_id in invocation.secretInputs:
        path = os.path.join(directory, input_id)
        if "/" not in input_id and os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                inputs[input_id] = handle.read()
    return invocation.model_copy(update={"context": {**invocation.context, "inputs": inputs}})
