"""kopf's diff base is off (kopf_tuning.py): safe only while no change-detecting handler exists."""

import kopf
import pytest

import kflow.operator.handlers  # noqa: F401 - registers the operator's handlers
from kflow.operator.kopf_tuning import NoDiffBase, changing_handlers, tune


def test_the_operator_registers_no_change_detecting_handler():
    assert changing_handlers(kopf.get_default_registry()) == []


def test_tuning_refuses_a_registry_with_a_change_detecting_handler():
    registry = kopf.OperatorRegistry()

    @kopf.on.update("kflow.io", "v1alpha1", "executions", registry=registry)
    def on_update(**_):
        pass

    with pytest.raises(RuntimeError, match="on_update"):
        tune(kopf.OperatorSettings(), registry)
    settings = kopf.OperatorSettings()
    tune(settings, kopf.OperatorRegistry())
    assert isinstance(settings.persistence.diffbase_storage, NoDiffBase)
    assert settings.persistence.diffbase_storage.build(body={"spec": {"a": 1}, "status": {"b": 2}}) == {}
