import datetime as dt

import pytest

START = dt.datetime(2024, 3, 1, 10, 15, 30, 123000, tzinfo=dt.timezone.utc)


@pytest.fixture
def ctx():
    return {
        "flow": {"id": "hello", "namespace": "company.team", "revision": 3},
        "execution": {"id": "exec1", "startDate": START, "originalId": "exec1"},
        "task": {"id": "t1", "type": "io.kestra.plugin.core.log.Log"},
        "taskrun": {"id": "tr1", "startDate": START, "attemptsCount": 0, "value": "b", "parentId": None},
        "parent": {"taskrun": {"value": "p"}},
        "parents": [{"taskrun": {"value": "p"}}],
        "inputs": {"name": "World", "empty": "", "nothing": None, "n": 5, "list": ["a", "b", "c"],
                   "date": "2024-03-01T10:15:30Z"},
        "outputs": {
            "t": {"value": "V", "values": {"k": "v"}, "code": 200},
            "my-task": {"value": 42},
            "loop": {"a": {"value": "A"}, "b": {"value": "B"}},
            "nul": {"value": None},
        },
        "vars": {"greeting": "Hi", "tmpl": "{{ inputs.name }}", "obj": {"x": 1}},
        "labels": {"team": "data"},
        "trigger": {},
        "envs": {"foo": "bar"},
    }
