"""The generated CRDs: fresh, structural, documented, and faithful to what kflow accepts and writes.

The offline tests emulate what the API server does with an object (validation against the
structural schema, pruning of undeclared fields); the `cluster` test checks the same on the
real API server.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from kflow.execution import Attempt, State, StateInfo, TaskRun
from kflow.flow.load import parse_flow
from kflow.operator import crds
from kflow.operator.resources import GROUP, VERSION, ExecutionSpec, ExecutionStatus

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"

# What a structural schema node may say (apiextensions.k8s.io/v1 JSONSchemaProps, minus what
# we never emit).
ALLOWED_KEYS = {
    "description", "type", "nullable", "enum", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "minItems", "maxItems",
    "uniqueItems", "minProperties", "maxProperties", "required", "properties",
    "additionalProperties", "items", PRESERVE, INT_OR_STRING,
}
TYPES = {"object", "array", "string", "integer", "number", "boolean"}


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "crds" / name).read_text())


def schema_of(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


FLOW_CRD = load("flows.kflow.io.yaml")
EXECUTION_CRD = load("executions.kflow.io.yaml")
FLOW_SCHEMA = schema_of(FLOW_CRD)
EXECUTION_SCHEMA = schema_of(EXECUTION_CRD)


# ------------------------------------------------------------------------------------------
# A structural-schema checker


def structural_problems(node: Any, path: str = "", root: bool = True) -> list[str]:
    """Why `node` is not a structural schema Kubernetes accepts (empty when it is)."""
    out: list[str] = []
    if not isinstance(node, dict):
        return [f"{path}: not a mapping"]
    for key in node:
        if key not in ALLOWED_KEYS:
            out.append(f"{path}: keyword {key!r} is not allowed (or not structural)")
    kind = node.get("type")
    preserve = node.get(PRESERVE) is True
    if kind is None and not preserve and not node.get(INT_OR_STRING):
        out.append(f"{path}: no type (only preserve-unknown-fields or int-or-string nodes may omit it)")
    if kind is not None and kind not in TYPES:
        out.append(f"{path}: type {kind!r}")
    if root and kind != "object":
        out.append(f"{path}: the root must be an object")
    if PRESERVE in node and node[PRESERVE] is not True:
        out.append(f"{path}: {PRESERVE} must be true when given")
    if "nullable" in node and not isinstance(node["nullable"], bool):
        out.append(f"{path}: nullable must be a boolean")
    if "description" in node and not (isinstance(node["description"], str) and node["description"].strip()):
        out.append(f"{path}: empty description")
    if "properties" in node and "additionalProperties" in node:
        out.append(f"{path}: properties and additionalProperties are mutually exclusive")
    if "additionalProperties" in node and not isinstance(node["additionalProperties"], dict):
        out.append(f"{path}: additionalProperties must be a schema, not {node['additionalProperties']!r}")
    if path == ".metadata" and node != {"type": "object"}:
        out.append(f"{path}: a CRD may say nothing of metadata but `type: object`")
    if kind == "object":
        # metadata is the API server's own: `type: object` is all a CRD may say of it.
        if path != ".metadata" and not (node.get("properties") or "additionalProperties" in node or preserve):
            out.append(f"{path}: an object needs properties, additionalProperties or {PRESERVE}")
        for name in node.get("required", []):
            if name not in node.get("properties", {}):
                out.append(f"{path}: required {name!r} is not a property")
    elif any(k in node for k in ("properties", "additionalProperties", "required")):
        out.append(f"{path}: properties on a non-object")
    if kind == "array":
        if "items" not in node:
            out.append(f"{path}: an array needs items")
    elif "items" in node:
        out.append(f"{path}: items on a non-array")
    if "enum" in node:
        if not isinstance(node["enum"], list) or not node["enum"]:
            out.append(f"{path}: enum must be a non-empty list")
        elif kind == "string" and not all(isinstance(v, str) for v in node["enum"]):
            out.append(f"{path}: enum values must be strings")
    for flag in ("exclusiveMinimum", "exclusiveMaximum"):
        if flag in node and not isinstance(node[flag], bool):
            out.append(f"{path}: {flag} must be a boolean in OpenAPI v3.0")
    for name, sub in (node.get("properties") or {}).items():
        out.extend(structural_problems(sub, f"{path}.{name}", root=False))
    if isinstance(node.get("items"), dict):
        out.extend(structural_problems(node["items"], f"{path}[]", root=False))
    if isinstance(node.get("additionalProperties"), dict):
        out.extend(structural_problems(node["additionalProperties"], f"{path}{{}}", root=False))
    return out


def undocumented(node: dict[str, Any], path: str) -> list[str]:
    out = []
    for name, sub in (node.get("properties") or {}).items():
        if path.count(".") == 0 and name == "metadata":
            continue  # may not be described (the API server documents it)
        if not sub.get("description"):
            out.append(f"{path}.{name}")
        out.extend(undocumented(sub, f"{path}.{name}"))
    if isinstance(node.get("items"), dict):
        out.extend(undocumented(node["items"], f"{path}[]"))
    if isinstance(node.get("additionalProperties"), dict):
        out.extend(undocumented(node["additionalProperties"], f"{path}{{}}"))
    return out


# ------------------------------------------------------------------------------------------
# What the API server would do with an object: validate it, prune what is not declared


def _fits(value: Any, kind: str) -> bool:
    return {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }[kind]


def api_problems(value: Any, node: dict[str, Any], path: str = "") -> list[str]:
    """Validation errors, and fields that would be pruned (or rejected by strict field validation)."""
    if value is None:
        return [] if node.get("nullable") else [f"{path}: null where the schema is not nullable"]
    if node.get(INT_OR_STRING):
        return [] if _fits(value, "integer") or _fits(value, "string") else [f"{path}: not an int or string"]
    kind = node.get("type")
    if kind is None:
        return []  # preserve-unknown-fields, any value
    if not _fits(value, kind):
        return [f"{path}: {type(value).__name__} where the schema says {kind}"]
    out: list[str] = []
    if "enum" in node and value not in node["enum"]:
        out.append(f"{path}: {value!r} not in {node['enum']}")
    if "minimum" in node and value < node["minimum"]:
        out.append(f"{path}: below {node['minimum']}")
    if kind == "array":
        if len(value) < node.get("minItems", 0):
            out.append(f"{path}: fewer than {node['minItems']} items")
        for i, item in enumerate(value):
            out.extend(api_problems(item, node["items"], f"{path}[{i}]"))
    if kind == "object":
        properties = node.get("properties") or {}
        for name in node.get("required", []):
            if name not in value:
                out.append(f"{path}.{name}: required")
        for key, item in value.items():
            if path == "" and key == "metadata":
                continue  # the API server's own
            if key in properties:
                out.extend(api_problems(item, properties[key], f"{path}.{key}"))
            elif isinstance(node.get("additionalProperties"), dict):
                out.extend(api_problems(item, node["additionalProperties"], f"{path}.{key}"))
            elif not node.get(PRESERVE):
                out.append(f"{path}.{key}: unknown field (pruned)")
    return out


def flow_resource(spec: dict[str, Any], name: str = "f") -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Flow", "metadata": {"name": name}, "spec": spec}


# A flow that uses what the schema must not lose: every input type, legacy and snake_case
# keys, labels as a list, retry under both names, outputs, nested flowable tasks.
RICH_FLOW = """
id: rich
namespace: company.team
revision: 3
description: Everything the CRD must keep.
labels:
  - key: team
    value: data
  - key: tier
    value: 1
inputs:
  - {id: s, type: STRING, defaults: hi, validator: "^h", displayName: S}
  - {name: legacy, type: string, required: false}
  - {id: i, type: INT, min: 1, max: 10, defaults: 2}
  - {id: f, type: FLOAT, defaults: 1.5}
  - {id: b, type: BOOLEAN, defaults: true}
  - {id: dt, type: DATETIME, after: "2024-01-01T00:00:00Z"}
  - {id: d, type: DATE, required: false}
  - {id: t, type: TIME, required: false}
  - {id: du, type: DURATION, defaults: PT1M, min: PT1S}
  - {id: j, type: JSON, defaults: {a: [1, 2]}}
  - {id: y, type: YAML, required: false}
  - {id: u, type: URI, required: false}
  - {id: e, type: EMAIL, required: false}
  - {id: sel, type: ENUM, values: [a, b], defaults: a}
  - {id: ms, type: MULTISELECT, options: [x, y], allow_custom_value: true, required: false}
  - {id: arr, type: ARRAY, itemType: INT, required: false}
  - {id: sec, type: SECRET, required: false}
  - {id: file, type: FILE, required: false}
variables:
  greeting: Hello
  nested: {list: [1, {a: b}], n: null}
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: "{{ vars.greeting }}"
    description: The first.
    timeout: PT10S
    runIf: true
    allowFailure: false
    logLevel: INFO
    retry: {type: constant, interval: PT1S, maxAttempt: 3, warningOnRetry: true}
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    retry: {type: exponential, interval: PT1S, maxInterval: PT1M, delayFactor: 2, maxAttempts: 2, maxDuration: PT5M}
    tasks:
      - id: par
        type: io.kestra.plugin.core.flow.Parallel
        concurrent: 2
        tasks:
          - {id: a, type: io.kestra.plugin.core.log.Log, message: [one, two]}
          - {id: b, type: io.kestra.plugin.core.flow.Sleep, duration: PT0.1S, runIf: "{{ true }}"}
    errors:
      - {id: oops, type: io.kestra.plugin.core.log.Log, message: oops}
errors:
  - {id: on-error, type: io.kestra.plugin.core.log.Log, message: failed}
finally:
  - {id: at-end, type: io.kestra.plugin.core.debug.Return, format: done}
outputs:
  - {id: out, type: STRING, value: "{{ outputs.first.value }}"}
  - {id: num, value: 3}
triggers:
  - {id: daily, type: io.kestra.plugin.core.trigger.Schedule, cron: "0 9 * * *"}
pluginDefaults:
  - {type: io.kestra.plugin.core.log.Log, values: {level: WARN}}
concurrency: {limit: 1, behavior: QUEUE}
"""


def example_flows() -> list[tuple[str, dict[str, Any]]]:
    return [(path.stem, yaml.safe_load(path.read_text())) for path in sorted(EXAMPLES.glob("*.yaml"))]


def realistic_status(exclude_none: bool = True) -> dict[str, Any]:
    """An Execution's status shaped as the models make it: two task runs, a retry, outputs."""
    t0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)

    def states(*names: State) -> StateInfo:
        info = StateInfo.new(names[0], t0)
        for i, name in enumerate(names[1:], 1):
            info.to(name, t0 + timedelta(seconds=i))
        return info

    parent = TaskRun(id="4wjtkzwVGBM9yKnjm3yv8r", taskId="seq", state=states(State.CREATED, State.RUNNING, State.SUCCESS))
    child = TaskRun(
        id="5ZdMZ6TZb3gfrrDYTlzfvS",
        taskId="first",
        parentTaskRunId=parent.id,
        state=states(State.CREATED, State.RUNNING, State.SUCCESS),
        attempts=[
            Attempt(state=states(State.CREATED, State.RUNNING, State.FAILED), reason="the container exited with code 1"),
            Attempt(state=states(State.CREATED, State.RUNNING, State.SUCCESS), notBefore=t0 + timedelta(seconds=5)),
        ],
        outputs={"value": "Hello", "nested": {"list": [1, 2.5, None, True], "uri": "kestra://x/y"}},
    )
    status = ExecutionStatus(
        id="6mFEaP3RdbBaFg1FzXSmxi",
        namespace="company.team",
        flowId="rich",
        flowRevision=3,
        state=states(State.CREATED, State.RUNNING, State.SUCCESS).model_dump(mode="json"),
        current="SUCCESS",
        inputs={"s": "hi", "i": 2, "j": {"a": [1, 2]}, "d": None},
        labels={"team": "data"},
        progress="2/2",
        startDate="2026-01-02T03:04:05.123Z",
        duration="PT2.5S",
        flow=yaml.safe_load(RICH_FLOW),
        taskRuns={tr.id: tr.model_dump(mode="json", exclude_none=exclude_none) for tr in (parent, child)},
    )
    return status.model_dump(mode="json", exclude_none=exclude_none)


# ------------------------------------------------------------------------------------------
# Freshness


def test_crds_are_fresh():
    """crds/ and helm/kflow/crds/ hold exactly what the models generate."""
    assert crds.stale() == [], "run `python -m kflow.operator.crds`"
    rendered = crds.rendered()
    assert sorted(rendered) == ["executions.kflow.io.yaml", "flows.kflow.io.yaml"]
    for name, text in rendered.items():
        assert (ROOT / "crds" / name).read_bytes() == text.encode()
        assert (ROOT / "helm" / "kflow" / "crds" / name).read_bytes() == text.encode()


def test_generation_is_deterministic():
    assert crds.rendered() == crds.rendered()


def test_check_command_passes_on_the_repository():
    proc = subprocess.run([sys.executable, "-m", "kflow.operator.crds", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_check_fails_when_stale(tmp_path, monkeypatch, capsys):
    dirs = (tmp_path / "crds", tmp_path / "chart" / "crds")
    monkeypatch.setattr(crds, "CRD_DIRS", dirs)
    monkeypatch.setattr(crds, "ROOT", tmp_path)
    assert crds.main(["--check"]) == 1  # nothing there yet
    assert crds.main([]) == 0
    assert crds.main(["--check"]) == 0
    stale = dirs[1] / "flows.kflow.io.yaml"
    stale.write_text(stale.read_text().replace("shortNames", "shortnames"))
    assert crds.main(["--check"]) == 1
    assert "chart/crds/flows.kflow.io.yaml" in capsys.readouterr().err
    assert crds.main([]) == 0
    assert crds.stale(dirs) == []


# ------------------------------------------------------------------------------------------
# Shape of the CRDs


@pytest.mark.parametrize("crd", [FLOW_CRD, EXECUTION_CRD], ids=["flows", "executions"])
def test_crd_basics(crd):
    spec = crd["spec"]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{spec['names']['plural']}.{GROUP}"
    assert spec["group"] == "kflow.io" and spec["scope"] == "Namespaced"
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1" and version["served"] is True and version["storage"] is True
    assert version["subresources"] == {"status": {}}
    assert spec["names"]["categories"] == ["kflow"]
    schema = version["schema"]["openAPIV3Schema"]
    assert schema["required"] == ["spec"]
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}


def test_names():
    assert FLOW_CRD["spec"]["names"] == {
        "kind": "Flow", "listKind": "FlowList", "plural": "flows", "singular": "flow",
        "shortNames": ["kfl"], "categories": ["kflow"],
    }
    assert EXECUTION_CRD["spec"]["names"] == {
        "kind": "Execution", "listKind": "ExecutionList", "plural": "executions", "singular": "execution",
        "shortNames": ["kex"], "categories": ["kflow"],
    }


def columns(crd) -> list[tuple[str, str, str]]:
    return [(c["name"].upper(), c["jsonPath"], c["type"]) for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]]


def test_printer_columns():
    assert columns(FLOW_CRD) == [
        ("ID", ".spec.id", "string"),
        ("NAMESPACE", ".spec.namespace", "string"),
        ("REVISION", ".status.revision", "integer"),
        ("VALID", ".status.valid", "string"),
        ("AGE", ".metadata.creationTimestamp", "date"),
    ]
    assert columns(EXECUTION_CRD) == [
        ("FLOW", ".spec.flowRef.name", "string"),
        ("STATE", ".status.current", "string"),
        ("TASKS", ".status.progress", "string"),
        ("STARTED", ".status.startDate", "date"),
        ("DURATION", ".status.duration", "string"),
        ("AGE", ".metadata.creationTimestamp", "date"),
    ]


@pytest.mark.parametrize("schema", [FLOW_SCHEMA, EXECUTION_SCHEMA], ids=["flows", "executions"])
def test_schema_is_structural(schema):
    assert structural_problems(schema) == []
    text = json.dumps(schema)
    for word in ("$ref", "$defs", "anyOf", "oneOf", "allOf", '"title"', '"const"', "discriminator", '"default"', "x-kflow"):
        assert word not in text


def test_checker_catches_what_kubernetes_rejects():
    assert structural_problems({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}]}}})
    assert structural_problems({"type": "object", "properties": {"a": {"type": "object"}}})
    assert structural_problems({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}})
    assert structural_problems({"type": "object", "properties": {"a": {"type": "array"}}})
    assert structural_problems({"type": "object", "properties": {"a": {"type": "string", "title": "A"}}})
    assert structural_problems({"type": "object", "additionalProperties": False, "properties": {"a": {"type": "string"}}})
    assert structural_problems({"type": "object", "properties": {"a": {"description": "any"}}})
    assert not structural_problems({"type": "object", "properties": {"a": {PRESERVE: True}}})


@pytest.mark.parametrize("crd", [FLOW_CRD, EXECUTION_CRD], ids=["flows", "executions"])
def test_every_field_is_documented(crd):
    """`kubectl explain` shows a description for every field (add it in the model)."""
    assert undocumented(schema_of(crd), crd["spec"]["names"]["plural"]) == []


def test_no_stale_field_docs():
    """crds.FIELD_DOCS fills in descriptions the models lack; none may be left over."""
    assert crds.unused_field_docs() == []


def test_flow_spec_is_a_kestra_flow():
    spec = FLOW_SCHEMA["properties"]["spec"]
    assert spec["required"] == ["namespace", "tasks"]  # id defaults to metadata.name
    assert "metadata.name" in spec["properties"]["id"]["description"]
    assert spec["properties"]["tasks"]["minItems"] == 1
    for tasks in ("tasks", "errors", "finally"):
        task = spec["properties"][tasks]["items"]
        assert task["type"] == "object" and task[PRESERVE] is True
        assert task["required"] == ["id", "type"]
        assert {"id", "type", "retry", "timeout", "runIf", "allowFailure", "disabled"} <= set(task["properties"])
        assert {"maxAttempt", "maxAttempts", "interval", "maxDuration"} <= set(task["properties"]["retry"]["properties"])
        assert "tasks" not in task["properties"], "child task lists stay preserve-unknown (no recursion)"
    inputs = spec["properties"]["inputs"]["items"]
    assert inputs[PRESERVE] is True and {"id", "type", "defaults", "required"} <= set(inputs["properties"])
    assert "SELECT" in inputs["properties"]["type"]["description"]


def test_execution_schema():
    spec = EXECUTION_SCHEMA["properties"]["spec"]
    assert spec["required"] == ["flowRef"]
    assert set(spec["properties"]) == set(ExecutionSpec.model_fields)
    assert spec["properties"]["flowRef"]["required"] == ["name"]
    status = EXECUTION_SCHEMA["properties"]["status"]
    assert set(status["properties"]) == set(ExecutionStatus.model_fields)
    run = status["properties"]["taskRuns"]["additionalProperties"]
    assert {"taskId", "state", "attempts", "outputs"} <= set(run["properties"])
    assert "SUCCESS" in status["properties"]["state"]["properties"]["current"]["enum"]


# ------------------------------------------------------------------------------------------
# What the API server would keep


@pytest.mark.parametrize("name,flow", example_flows(), ids=[name for name, _ in example_flows()])
def test_examples_fit_the_flow_schema(name, flow):
    parse_flow(flow)  # a valid kflow flow...
    assert api_problems(flow_resource(flow), FLOW_SCHEMA) == []  # ...that the API server keeps whole
    without_id = {k: v for k, v in flow.items() if k != "id"}
    assert api_problems(flow_resource(without_id), FLOW_SCHEMA) == []


def test_rich_flow_is_kept_whole():
    flow = yaml.safe_load(RICH_FLOW)
    parsed = parse_flow(copy.deepcopy(flow))
    assert parsed.tasks[0].retry.maxAttempt == 3
    assert api_problems(flow_resource(flow), FLOW_SCHEMA) == []


def test_schema_rejects_what_kubernetes_should():
    flow = yaml.safe_load(RICH_FLOW)
    assert api_problems(flow_resource({**flow, "tasks": []}), FLOW_SCHEMA) == [".spec.tasks: fewer than 1 items"]
    assert api_problems(flow_resource({**flow, "taks": []}), FLOW_SCHEMA) == [".spec.taks: unknown field (pruned)"]
    no_namespace = {k: v for k, v in flow.items() if k != "namespace"}
    assert api_problems(flow_resource(no_namespace), FLOW_SCHEMA) == [".spec.namespace: required"]
    untyped = {**flow, "tasks": [{"id": "x"}]}
    assert api_problems(flow_resource(untyped), FLOW_SCHEMA) == [".spec.tasks[0].type: required"]
    bad_retry = {**flow, "tasks": [{"id": "x", "type": "t", "retry": {"type": "sometimes", "interval": "PT1S"}}]}
    assert api_problems(flow_resource(bad_retry), FLOW_SCHEMA) == [
        ".spec.tasks[0].retry.type: 'sometimes' not in ['constant', 'exponential', 'random']"
    ]
    execution = {"apiVersion": "kflow.io/v1alpha1", "kind": "Execution", "metadata": {}, "spec": {"inputs": {}}}
    assert api_problems(execution, EXECUTION_SCHEMA) == [".spec.flowRef: required"]


def test_execution_spec_fits():
    spec = ExecutionSpec.model_validate({"flowRef": {"name": "rich"}, "inputs": {"i": 3, "j": {"a": [1]}}, "labels": {"k": "v"}})
    resource = {"apiVersion": "kflow.io/v1alpha1", "kind": "Execution", "metadata": {}, "spec": spec.model_dump(mode="json")}
    assert api_problems(resource, EXECUTION_SCHEMA) == []


@pytest.mark.parametrize("exclude_none", [True, False])
def test_execution_status_as_the_models_write_it_is_kept_whole(exclude_none):
    status = realistic_status(exclude_none)
    resource = {"apiVersion": "kflow.io/v1alpha1", "kind": "Execution", "metadata": {}, "spec": {"flowRef": {"name": "rich"}}, "status": status}
    assert api_problems(resource, EXECUTION_SCHEMA) == []


# ------------------------------------------------------------------------------------------
# On the real API server


def _apply_crds(api_client) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    ext = client.ApiextensionsV1Api(api_client)
    for crd in (FLOW_CRD, EXECUTION_CRD):
        name = crd["metadata"]["name"]
        body = copy.deepcopy(crd)
        for _ in range(5):
            try:
                current = ext.read_custom_resource_definition(name)
            except ApiException as err:
                if err.status != 404:
                    raise
                try:
                    ext.create_custom_resource_definition(body)
                    break
                except ApiException as err2:
                    if err2.status != 409:
                        raise
                    continue
            body["metadata"]["resourceVersion"] = current.metadata.resource_version
            try:
                ext.replace_custom_resource_definition(name, body)
                break
            except ApiException as err:
                if err.status != 409:  # someone else applied it meanwhile: read again
                    raise
    deadline = time.monotonic() + 60
    for crd in (FLOW_CRD, EXECUTION_CRD):
        while True:
            got = ext.read_custom_resource_definition(crd["metadata"]["name"])
            if any(c.type == "Established" and c.status == "True" for c in got.status.conditions or []):
                break
            assert time.monotonic() < deadline, f"{crd['metadata']['name']} not established"
            time.sleep(0.2)


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def _rejected(call) -> Any:
    from kubernetes.client.rest import ApiException

    with pytest.raises(ApiException) as info:
        call()
    return info.value


@pytest.mark.cluster
def test_crds_on_the_api_server(cluster, k8s_api, k8s_namespace):
    from kubernetes import client

    _apply_crds(k8s_api)
    custom = client.CustomObjectsApi(k8s_api)
    ns = k8s_namespace

    def create(plural, body, **kwargs):
        return custom.create_namespaced_custom_object(GROUP, VERSION, ns, plural, body, field_validation="Strict", **kwargs)

    # Every example and the rich flow are accepted and stored exactly as written.
    for name, flow in [*example_flows(), ("rich", yaml.safe_load(RICH_FLOW))]:
        body = flow_resource({k: v for k, v in flow.items() if k != "id"} if name == "sample-task" else flow, name=name)
        created = create("flows", body)
        assert created["spec"] == body["spec"], name

    # A typo in the flow, a missing namespace, a task without a type: refused.
    flow = yaml.safe_load(RICH_FLOW)
    err = _rejected(lambda: create("flows", flow_resource({**flow, "taks": []}, name="typo")))
    assert err.status in (400, 422) and "taks" in err.body
    err = _rejected(lambda: create("flows", flow_resource({k: v for k, v in flow.items() if k != "namespace"}, name="nons")))
    assert err.status == 422 and "spec.namespace" in err.body
    err = _rejected(lambda: create("flows", flow_resource({**flow, "tasks": [{"id": "x"}]}, name="notype")))
    assert err.status == 422 and "type" in err.body

    # An Execution must name its flow.
    execution = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Execution", "metadata": {"name": "no-flow"}, "spec": {"inputs": {"a": 1}}}
    err = _rejected(lambda: create("executions", execution))
    assert err.status == 422 and "spec.flowRef" in err.body

    # A good one is accepted, and the status the models write is stored whole.
    execution = {**execution, "metadata": {"name": "good"}, "spec": {"flowRef": {"name": "rich"}, "inputs": {"i": 3, "j": {"a": [1, None]}}}}
    created = create("executions", execution)
    assert created["spec"] == execution["spec"]
    status = realistic_status()
    patched = custom.patch_namespaced_custom_object_status(GROUP, VERSION, ns, "executions", "good", {"status": status})
    # (A JSON merge patch deletes the keys it sets to null: nothing else may be lost.)
    assert patched["status"] == without_nulls(status)
    # A task run added by a merge patch, as the operator writes them.
    run = dict(next(iter(status["taskRuns"].values())), id="new-run", taskId="seq")
    patched = custom.patch_namespaced_custom_object_status(GROUP, VERSION, ns, "executions", "good", {"status": {"taskRuns": {"new-run": run}}})
    assert patched["status"]["taskRuns"]["new-run"] == run

    # kubectl explain documents the fields (once the API server publishes the schema).
    kubectl = shutil.which("kubectl")
    if kubectl:
        deadline = time.monotonic() + 60
        while True:
            proc = subprocess.run(
                [kubectl, "--kubeconfig", str(cluster.kubeconfig), "explain", "flows.spec.tasks.retry"],
                capture_output=True, text=True,
            )
            if proc.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert proc.returncode == 0, proc.stderr
        assert "maxAttempt" in proc.stdout and "Attempts in all" in proc.stdout
        proc = subprocess.run(
            [kubectl, "--kubeconfig", str(cluster.kubeconfig), "explain", "executions.status.taskRuns"],
            capture_output=True, text=True,
        )
        assert proc.returncode == 0 and "Task runs by id" in proc.stdout, proc.stdout + proc.stderr
