"""OperatorSettings.from_env: the Helm chart's KFLOW_* variables, read by pydantic-settings (no cluster)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kflow.operator.settings import OperatorSettings


def test_defaults_without_environment(monkeypatch):
    for name in ("KFLOW_IMAGE", "KFLOW_STORAGE", "KFLOW_STORAGE_TYPE", "KFLOW_NAMESPACES", "KFLOW_METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert OperatorSettings.from_env() == OperatorSettings()


def test_values_json_and_storage_uri(monkeypatch):
    monkeypatch.setenv("KFLOW_IMAGE", "registry/kflow:1")
    monkeypatch.setenv("KFLOW_NAMESPACES", '["a", "b"]')
    monkeypatch.setenv("KFLOW_RUNNER_ENV", '{"ENV_X": "1"}')
    monkeypatch.setenv("KFLOW_METRICS_PORT", "9100")
    monkeypatch.setenv("KFLOW_STORAGE", "s3://bucket/prefix")
    settings = OperatorSettings.from_env()
    assert (settings.image, settings.namespaces, settings.runner_env, settings.metrics_port) == (
        "registry/kflow:1", ["a", "b"], {"ENV_X": "1"}, 9100,
    )
    assert (settings.storage.type, settings.storage.bucket, settings.storage.prefix) == ("s3", "bucket", "prefix")


def test_a_directory_storage_is_not_the_operators(monkeypatch):
    monkeypatch.setenv("KFLOW_STORAGE", "dir:/tmp/somewhere")
    assert OperatorSettings.from_env().storage is None


def test_a_bad_value_names_the_field(monkeypatch):
    monkeypatch.setenv("KFLOW_METRICS_PORT", "70000")
    with pytest.raises(ValidationError, match="metrics_port"):
        OperatorSettings.from_env()
